/*
 * Swapchains through a Vulkan driver, checked by what the window system shows.
 *
 *   wsi resize [strict]        an xcb window (DISPLAY): frames cleared to a colour, read back from the
 *                              window with xcb_get_image; the window is resized (the driver must answer
 *                              VK_ERROR_OUT_OF_DATE_KHR; the swapchain is recreated with oldSwapchain and
 *                              the new size shows), then destroyed: with strict, the next two frames and
 *                              the surface capabilities must give VK_ERROR_SURFACE_LOST_KHR (lavapipe's
 *                              own X11 path goes on answering VK_SUCCESS there)
 *   wsi leak N HOSTPID XPID    N swapchains (after 10 to warm up) made and destroyed on one window, two frames each; prints
 *                              the open fds of this process, the host (HOSTPID and its descendants) and
 *                              the X server (XPID) and the host's resident memory after the first and
 *                              the last, and fails
 *                              when any of them grew
 *   wsi headless N             N frames to a VK_EXT_headless_surface, each cleared to its own colour;
 *                              then the last presented image is acquired again and copied to a buffer,
 *                              whose pixels must be the last colour
 * Exit 0 when every check held; each line starts with "wsi:".
 */
#define CLIENT_NAME "wsi"
#define VK_USE_PLATFORM_XCB_KHR
/* link: -lxcb */
#include <xcb/xcb.h>

#include "client_util.h"

#include <dirent.h>
#include <string.h>

typedef struct {
    VkInstance instance;
    VkPhysicalDevice pd;
    VkDevice device;
    VkQueue queue;
    VkCommandPool pool;
    VkCommandBuffer cb;
    VkSemaphore acquired, rendered;
    VkFence fence;
    VkSurfaceKHR surface;
    xcb_connection_t *conn;
    xcb_window_t window;
} Ctx;

typedef struct {
    VkSwapchainKHR handle;
    VkFormat format;
    VkExtent2D extent;
    uint32_t count;
    VkImage images[16];
} Chain;

static int setup(Ctx *c, int headless)
{
    const char *exts[2] = { VK_KHR_SURFACE_EXTENSION_NAME,
                            headless ? VK_EXT_HEADLESS_SURFACE_EXTENSION_NAME : VK_KHR_XCB_SURFACE_EXTENSION_NAME };
    VkApplicationInfo app = { .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "wsi", .apiVersion = VK_API_VERSION_1_1 };
    VkInstanceCreateInfo ici = { .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app,
                                 .enabledExtensionCount = 2, .ppEnabledExtensionNames = exts };
    CHECK(vkCreateInstance, &ici, NULL, &c->instance);
    uint32_t n = 1;
    VkResult er = vkEnumeratePhysicalDevices(c->instance, &n, &c->pd);
    if ((er != VK_SUCCESS && er != VK_INCOMPLETE) || n == 0)
        WRONG("no physical device (%d)", (int)er);

    if (headless) {
        PFN_vkCreateHeadlessSurfaceEXT create = (PFN_vkCreateHeadlessSurfaceEXT)vkGetInstanceProcAddr(c->instance, "vkCreateHeadlessSurfaceEXT");
        if (!create)
            WRONG("no vkCreateHeadlessSurfaceEXT");
        VkHeadlessSurfaceCreateInfoEXT hci = { .sType = VK_STRUCTURE_TYPE_HEADLESS_SURFACE_CREATE_INFO_EXT };
        CHECK(create, c->instance, &hci, NULL, &c->surface);
    } else {
        c->conn = xcb_connect(NULL, NULL);
        if (xcb_connection_has_error(c->conn))
            WRONG("cannot connect to the X server (DISPLAY)");
        xcb_screen_t *screen = xcb_setup_roots_iterator(xcb_get_setup(c->conn)).data;
        c->window = xcb_generate_id(c->conn);
        uint32_t values[1] = { screen->black_pixel };
        xcb_create_window(c->conn, XCB_COPY_FROM_PARENT, c->window, screen->root, 0, 0, 200, 150, 0,
                          XCB_WINDOW_CLASS_INPUT_OUTPUT, screen->root_visual, XCB_CW_BACK_PIXEL, values);
        xcb_map_window(c->conn, c->window);
        xcb_flush(c->conn);
        VkXcbSurfaceCreateInfoKHR xci = { .sType = VK_STRUCTURE_TYPE_XCB_SURFACE_CREATE_INFO_KHR, .connection = c->conn, .window = c->window };
        CHECK(vkCreateXcbSurfaceKHR, c->instance, &xci, NULL, &c->surface);
        if (!vkGetPhysicalDeviceXcbPresentationSupportKHR(c->pd, 0, c->conn, screen->root_visual))
            WRONG("queue family 0 cannot present to xcb");
    }
    VkBool32 supported = VK_FALSE;
    CHECK(vkGetPhysicalDeviceSurfaceSupportKHR, c->pd, 0, c->surface, &supported);
    if (!supported)
        WRONG("queue family 0 cannot present to the surface");

    const char *dexts[1] = { VK_KHR_SWAPCHAIN_EXTENSION_NAME };
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueCount = 1, .pQueuePriorities = &prio };
    VkDeviceCreateInfo dci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci,
                               .enabledExtensionCount = 1, .ppEnabledExtensionNames = dexts };
    CHECK(vkCreateDevice, c->pd, &dci, NULL, &c->device);
    vkGetDeviceQueue(c->device, 0, 0, &c->queue);
    VkCommandPoolCreateInfo pci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT };
    CHECK(vkCreateCommandPool, c->device, &pci, NULL, &c->pool);
    VkCommandBufferAllocateInfo cai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = c->pool,
                                        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1 };
    CHECK(vkAllocateCommandBuffers, c->device, &cai, &c->cb);
    VkSemaphoreCreateInfo sci = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO };
    CHECK(vkCreateSemaphore, c->device, &sci, NULL, &c->acquired);
    CHECK(vkCreateSemaphore, c->device, &sci, NULL, &c->rendered);
    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    CHECK(vkCreateFence, c->device, &fci, NULL, &c->fence);
    return 0;
}

/* Destroys what setup made (the swapchain is the caller's). */
static void teardown(Ctx *c)
{
    vkDeviceWaitIdle(c->device);
    vkDestroyFence(c->device, c->fence, NULL);
    vkDestroySemaphore(c->device, c->acquired, NULL);
    vkDestroySemaphore(c->device, c->rendered, NULL);
    vkDestroyCommandPool(c->device, c->pool, NULL);
    vkDestroyDevice(c->device, NULL);
    vkDestroySurfaceKHR(c->instance, c->surface, NULL);
    vkDestroyInstance(c->instance, NULL);
    if (c->conn)
        xcb_disconnect(c->conn);
}

/* A swapchain at the surface's current size (or w x h when it has none), replacing *old (destroyed). */
static VkResult make_chain(Ctx *c, Chain *chain, uint32_t w, uint32_t h, VkPresentModeKHR mode)
{
    VkSurfaceCapabilitiesKHR caps;
    VkResult r = vkGetPhysicalDeviceSurfaceCapabilitiesKHR(c->pd, c->surface, &caps);
    if (r != VK_SUCCESS)
        return r;
    VkExtent2D extent = caps.currentExtent.width == UINT32_MAX ? (VkExtent2D){ w, h } : caps.currentExtent;
    uint32_t nf = 8;
    VkSurfaceFormatKHR formats[8];
    r = vkGetPhysicalDeviceSurfaceFormatsKHR(c->pd, c->surface, &nf, formats);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE)
        return r;
    VkFormat format = VK_FORMAT_UNDEFINED;
    for (uint32_t i = 0; i < nf; i++)
        if (formats[i].format == VK_FORMAT_B8G8R8A8_UNORM)
            format = formats[i].format;
    if (format == VK_FORMAT_UNDEFINED) {
        printf("wsi: the surface offers no B8G8R8A8_UNORM\n");
        return VK_ERROR_FORMAT_NOT_SUPPORTED;
    }
    VkSwapchainCreateInfoKHR info = {
        .sType = VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR, .surface = c->surface, .minImageCount = caps.minImageCount,
        .imageFormat = format, .imageColorSpace = VK_COLOR_SPACE_SRGB_NONLINEAR_KHR, .imageExtent = extent,
        .imageArrayLayers = 1, .imageUsage = VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
        .imageSharingMode = VK_SHARING_MODE_EXCLUSIVE, .preTransform = VK_SURFACE_TRANSFORM_IDENTITY_BIT_KHR,
        .compositeAlpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR, .presentMode = mode, .clipped = VK_TRUE,
        .oldSwapchain = chain->handle,
    };
    VkSwapchainKHR created;
    r = vkCreateSwapchainKHR(c->device, &info, NULL, &created);
    if (chain->handle)
        vkDestroySwapchainKHR(c->device, chain->handle, NULL);
    chain->handle = VK_NULL_HANDLE;
    if (r != VK_SUCCESS)
        return r;
    chain->handle = created;
    chain->format = format;
    chain->extent = extent;
    chain->count = 16;
    return vkGetSwapchainImagesKHR(c->device, created, &chain->count, chain->images);
}

static void barrier(VkCommandBuffer cb, VkImage image, VkImageLayout from, VkImageLayout to)
{
    VkImageMemoryBarrier b = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT,
        .dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT, .oldLayout = from, .newLayout = to,
        .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED, .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED, .image = image,
        .subresourceRange = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1 },
    };
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 0, NULL, 0, NULL, 1, &b);
}

/* One frame cleared to rgb (0..1); returns the first non-success result of acquire or present; *index the image. */
static VkResult frame(Ctx *c, Chain *chain, float r, float g, float b, uint32_t *index)
{
    VkResult res = vkAcquireNextImageKHR(c->device, chain->handle, UINT64_MAX, c->acquired, VK_NULL_HANDLE, index);
    if (res != VK_SUCCESS)
        return res;
    VkImage image = chain->images[*index];
    VkCommandBufferBeginInfo begin = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };
    vkBeginCommandBuffer(c->cb, &begin);
    barrier(c->cb, image, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL);
    VkClearColorValue colour = { .float32 = { r, g, b, 1.0f } };
    VkImageSubresourceRange range = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1 };
    vkCmdClearColorImage(c->cb, image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &colour, 1, &range);
    barrier(c->cb, image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_PRESENT_SRC_KHR);
    res = vkEndCommandBuffer(c->cb);
    if (res != VK_SUCCESS)
        return res;
    VkPipelineStageFlags stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    VkSubmitInfo submit = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .waitSemaphoreCount = 1, .pWaitSemaphores = &c->acquired,
                            .pWaitDstStageMask = &stage, .commandBufferCount = 1, .pCommandBuffers = &c->cb,
                            .signalSemaphoreCount = 1, .pSignalSemaphores = &c->rendered };
    res = vkQueueSubmit(c->queue, 1, &submit, c->fence);
    if (res != VK_SUCCESS)
        return res;
    VkPresentInfoKHR present = { .sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR, .waitSemaphoreCount = 1, .pWaitSemaphores = &c->rendered,
                                 .swapchainCount = 1, .pSwapchains = &chain->handle, .pImageIndices = index };
    VkResult pr = vkQueuePresentKHR(c->queue, &present);
    res = vkWaitForFences(c->device, 1, &c->fence, VK_TRUE, UINT64_MAX);
    vkResetFences(c->device, 1, &c->fence);
    return pr != VK_SUCCESS ? pr : res;
}

/* The window's pixel at (x, y) as the X server has it (0x00RRGGBB), or -1. */
static long window_pixel(Ctx *c, int x, int y)
{
    xcb_get_image_reply_t *img = xcb_get_image_reply(c->conn, xcb_get_image(c->conn, XCB_IMAGE_FORMAT_Z_PIXMAP, c->window, x, y, 1, 1, ~0u), NULL);
    if (!img || xcb_get_image_data_length(img) < 4) {
        free(img);
        return -1;
    }
    uint32_t v;
    memcpy(&v, xcb_get_image_data(img), 4);
    free(img);
    return (long)(v & 0xffffff);
}

static int resize(int strict)
{
    Ctx c = { 0 };
    Chain chain = { 0 };
    if (setup(&c, 0))
        return 1;
    CHECK(make_chain, &c, &chain, 0, 0, VK_PRESENT_MODE_IMMEDIATE_KHR);
    printf("wsi: swapchain %ux%u, %u images\n", chain.extent.width, chain.extent.height, chain.count);
    uint32_t index;
    for (int i = 0; i < 5; i++)
        CHECK(frame, &c, &chain, 0.0f, 1.0f, 0.0f, &index);
    long px = window_pixel(&c, chain.extent.width - 1, chain.extent.height - 1);
    printf("wsi: window pixel 0x%06lx after green frames\n", px);
    if (px != 0x00ff00)
        WRONG("the window does not show the green frames");

    uint32_t size[2] = { 260, 180 };
    xcb_configure_window(c.conn, c.window, XCB_CONFIG_WINDOW_WIDTH | XCB_CONFIG_WINDOW_HEIGHT, size);
    xcb_flush(c.conn);
    VkResult r = VK_SUCCESS;
    int frames = 0;
    while (frames < 20 && (r = frame(&c, &chain, 0.0f, 1.0f, 0.0f, &index)) == VK_SUCCESS)
        frames++;
    printf("wsi: after the resize: %s after %d frames\n", vk_result_name(r), frames);
    if (r != VK_ERROR_OUT_OF_DATE_KHR)
        WRONG("expected VK_ERROR_OUT_OF_DATE_KHR after the resize");
    CHECK(vkDeviceWaitIdle, c.device);
    CHECK(make_chain, &c, &chain, 0, 0, VK_PRESENT_MODE_FIFO_KHR);
    printf("wsi: recreated %ux%u\n", chain.extent.width, chain.extent.height);
    if (chain.extent.width != 260 || chain.extent.height != 180)
        WRONG("the new swapchain is not the window's new size");
    for (int i = 0; i < 5; i++)
        CHECK(frame, &c, &chain, 0.0f, 0.0f, 1.0f, &index);
    px = window_pixel(&c, 259, 179);
    printf("wsi: window pixel 0x%06lx after blue frames\n", px);
    if (px != 0x0000ff)
        WRONG("the window does not show the blue frames at its new size");

    xcb_destroy_window(c.conn, c.window);
    xcb_flush(c.conn);
    frames = 0;
    while (frames < 2 && (r = frame(&c, &chain, 1.0f, 0.0f, 0.0f, &index)) == VK_SUCCESS)
        frames++;
    printf("wsi: after the window was destroyed: %s after %d frames\n", vk_result_name(r), frames);
    if (strict && r != VK_ERROR_SURFACE_LOST_KHR)
        WRONG("expected VK_ERROR_SURFACE_LOST_KHR once the window is gone");
    VkSurfaceCapabilitiesKHR caps;
    r = vkGetPhysicalDeviceSurfaceCapabilitiesKHR(c.pd, c.surface, &caps);
    printf("wsi: surface capabilities of the destroyed window: %s\n", vk_result_name(r));
    if (strict && r != VK_ERROR_SURFACE_LOST_KHR)
        WRONG("expected VK_ERROR_SURFACE_LOST_KHR from the capabilities");
    vkDeviceWaitIdle(c.device);
    vkDestroySwapchainKHR(c.device, chain.handle, NULL);
    teardown(&c);
    printf("wsi: resize ok\n");
    return 0;
}

/* Open fds of pid (0: this process), or -1. */
static long fd_count(long pid)
{
    char path[64];
    if (pid)
        snprintf(path, sizeof path, "/proc/%ld/fd", pid);
    else
        snprintf(path, sizeof path, "/proc/self/fd");
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static long rss_kb(long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* Open fds and resident KiB summed over pid and its descendants (a host forks a process per client). */
static void tree_usage(long pid, long *fds, long *kb)
{
    long n = fd_count(pid), r = rss_kb(pid);
    if (n < 0 || r < 0) {
        *fds = *kb = -1;
        return;
    }
    *fds += n, *kb += r;
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task", pid);
    DIR *tasks = opendir(path);
    for (struct dirent *t; tasks && (t = readdir(tasks));) {
        if (t->d_name[0] == '.')
            continue;
        char children[300];
        snprintf(children, sizeof children, "/proc/%ld/task/%s/children", pid, t->d_name);
        FILE *f = fopen(children, "r");
        long child;
        while (f && fscanf(f, "%ld", &child) == 1 && *fds >= 0)
            tree_usage(child, fds, kb);
        if (f)
            fclose(f);
    }
    if (tasks)
        closedir(tasks);
}

static int leak(int n, long host, long xserver)
{
    Ctx c = { 0 };
    Chain chain = { 0 };
    if (setup(&c, 0))
        return 1;
    uint32_t size[2] = { 256, 256 };
    xcb_configure_window(c.conn, c.window, XCB_CONFIG_WINDOW_WIDTH | XCB_CONFIG_WINDOW_HEIGHT, size);
    xcb_flush(c.conn);
    long self0 = 0, host0 = 0, x0 = 0, rss0 = 0;
    /* The first swapchains warm both sides up (code loaded, pools grown): count from the tenth on. */
    const int warmup = 10;
    for (int i = 0; i < warmup + n; i++) {
        CHECK(make_chain, &c, &chain, 0, 0, VK_PRESENT_MODE_IMMEDIATE_KHR);
        uint32_t index;
        CHECK(frame, &c, &chain, 1.0f, 0.5f, 0.0f, &index);
        CHECK(frame, &c, &chain, 0.0f, 0.5f, 1.0f, &index);
        CHECK(vkDeviceWaitIdle, c.device);
        if (i == warmup - 1) {
            self0 = fd_count(0), x0 = fd_count(xserver);
            tree_usage(host, &host0, &rss0);
        }
    }
    vkDestroySwapchainKHR(c.device, chain.handle, NULL);
    chain.handle = VK_NULL_HANDLE;
    CHECK(make_chain, &c, &chain, 0, 0, VK_PRESENT_MODE_IMMEDIATE_KHR);
    CHECK(vkDeviceWaitIdle, c.device);
    long self1 = fd_count(0), x1 = fd_count(xserver), host1 = 0, rss1 = 0;
    tree_usage(host, &host1, &rss1);
    printf("wsi: %d swapchains: fds here %ld -> %ld, host %ld -> %ld, X server %ld -> %ld; host resident %ld -> %ld KiB\n",
           n, self0, self1, host0, host1, x0, x1, rss0, rss1);
    if (self0 < 0 || host0 < 0 || x0 < 0 || rss0 < 0)
        WRONG("could not read /proc of this process, the host (%ld) or the X server (%ld)", host, xserver);
    /* Each swapchain's buffers are blobs with an fd on the host: a leak there grows by at least n. The
     * host tree's count also moves by a few with its own threads and spare workers, whatever n is. */
    if (self1 > self0 || x1 > x0 || host1 - host0 >= n / 4)
        WRONG("file descriptors leaked");
    /* A leaked swapchain of three 256x256 images and buffers is 1.5 MiB; n of them would show. */
    if (rss1 - rss0 > 32 * 1024)
        WRONG("the host's resident memory grew by %ld KiB", rss1 - rss0);
    vkDestroySwapchainKHR(c.device, chain.handle, NULL);
    teardown(&c);
    printf("wsi: leak ok\n");
    return 0;
}

static int headless(int n)
{
    Ctx c = { 0 };
    Chain chain = { 0 };
    if (setup(&c, 1))
        return 1;
    CHECK(make_chain, &c, &chain, 64, 48, VK_PRESENT_MODE_MAILBOX_KHR);
    printf("wsi: headless swapchain %ux%u, %u images\n", chain.extent.width, chain.extent.height, chain.count);
    uint32_t index = 0;
    float r = 0, g = 0, b = 0;
    for (int i = 0; i < n; i++) {
        r = (float)(i % 7) / 6.0f, g = (float)(i % 5) / 4.0f, b = (float)(i % 3) / 2.0f;
        CHECK(frame, &c, &chain, r, g, b, &index);
    }
    uint32_t last = index, again = UINT32_MAX;
    for (uint32_t k = 0; k < chain.count && again != last; k++) {
        CHECK(vkAcquireNextImageKHR, c.device, chain.handle, UINT64_MAX, VK_NULL_HANDLE, c.fence, &again);
        CHECK(vkWaitForFences, c.device, 1, &c.fence, VK_TRUE, UINT64_MAX);
        vkResetFences(c.device, 1, &c.fence);
    }
    if (again != last)
        WRONG("the last presented image %u never came back from vkAcquireNextImageKHR", last);

    VkDeviceSize bytes = (VkDeviceSize)chain.extent.width * chain.extent.height * 4;
    VkBufferCreateInfo bci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = bytes, .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT };
    VkBuffer buffer;
    CHECK(vkCreateBuffer, c.device, &bci, NULL, &buffer);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(c.device, buffer, &req);
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(c.pd, &mp);
    uint32_t type = UINT32_MAX;
    for (uint32_t t = 0; t < mp.memoryTypeCount && type == UINT32_MAX; t++)
        if ((req.memoryTypeBits & (1u << t)) && (mp.memoryTypes[t].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
            type = t;
    if (type == UINT32_MAX)
        WRONG("no host-visible memory for the read-back buffer");
    VkMemoryAllocateInfo mai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = type };
    VkDeviceMemory memory;
    CHECK(vkAllocateMemory, c.device, &mai, NULL, &memory);
    CHECK(vkBindBufferMemory, c.device, buffer, memory, 0);

    VkCommandBufferBeginInfo begin = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
    CHECK(vkBeginCommandBuffer, c.cb, &begin);
    barrier(c.cb, chain.images[last], VK_IMAGE_LAYOUT_PRESENT_SRC_KHR, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
    VkBufferImageCopy region = { .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1 },
                                 .imageExtent = { chain.extent.width, chain.extent.height, 1 } };
    vkCmdCopyImageToBuffer(c.cb, chain.images[last], VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, buffer, 1, &region);
    CHECK(vkEndCommandBuffer, c.cb);
    VkSubmitInfo submit = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &c.cb };
    CHECK(vkQueueSubmit, c.queue, 1, &submit, c.fence);
    CHECK(vkWaitForFences, c.device, 1, &c.fence, VK_TRUE, UINT64_MAX);
    uint8_t *p;
    CHECK(vkMapMemory, c.device, memory, 0, VK_WHOLE_SIZE, 0, (void **)&p);
    /* B8G8R8A8_UNORM: bytes B, G, R, A; the clear rounds each channel to the nearest of 255 steps. */
    uint8_t want[4] = { (uint8_t)(b * 255.0f + 0.5f), (uint8_t)(g * 255.0f + 0.5f), (uint8_t)(r * 255.0f + 0.5f), 255 };
    size_t wrong = 0;
    for (VkDeviceSize i = 0; i < bytes; i += 4)
        for (int k = 0; k < 4; k++)
            wrong += abs((int)p[i + k] - (int)want[k]) > 1;
    printf("wsi: %d headless frames; last image %u read back: first pixel %u,%u,%u,%u (BGRA), expected %u,%u,%u,%u; %zu channels off\n",
           n, last, p[0], p[1], p[2], p[3], want[0], want[1], want[2], want[3], wrong);
    if (wrong)
        WRONG("the last presented image does not hold the last frame");
    vkUnmapMemory(c.device, memory);
    vkDeviceWaitIdle(c.device);
    vkDestroyBuffer(c.device, buffer, NULL);
    vkFreeMemory(c.device, memory, NULL);
    vkDestroySwapchainKHR(c.device, chain.handle, NULL);
    teardown(&c);
    printf("wsi: headless ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc >= 2 && !strcmp(argv[1], "resize"))
        return resize(argc >= 3 && !strcmp(argv[2], "strict"));
    if (argc >= 5 && !strcmp(argv[1], "leak"))
        return leak(atoi(argv[2]), atol(argv[3]), atol(argv[4]));
    if (argc >= 3 && !strcmp(argv[1], "headless"))
        return headless(atoi(argv[2]));
    fprintf(stderr, "usage: wsi resize [strict] | wsi leak N HOSTPID XPID | wsi headless N\n");
    return 2;
}
