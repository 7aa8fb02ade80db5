/*
 * Image upload and download the way ffmpeg's hwcontext_vulkan does it (hwupload / hwdownload):
 *
 *   transfer staging|import [WIDTH HEIGHT [FRAMES]]
 *
 * One optimal-tiling RGBA8 image (ALIAS_BIT, transfer/sampled/storage usage, memory allocated with an
 * empty VkExportMemoryAllocateInfo) and one timeline semaphore that orders every submission. Per frame
 * the app fills its upload memory with a pattern that depends on the frame, vkCmdCopyBufferToImage,
 * then vkCmdCopyImageToBuffer into its download memory, each in its own vkQueueSubmit2 with a fence,
 * and the download memory must equal the pattern byte for byte.
 *
 *   staging  the buffers live in host-visible memory the app maps (ffmpeg without
 *            VK_EXT_external_memory_host);
 *   import   the buffers are bound to the app's own page-aligned allocations, imported with
 *            VK_EXT_external_memory_host (ffmpeg's path when the driver has it). The buffers start
 *            one page into the import and the app keeps writing a canary there and in the last page
 *            while the device works: the device never touches those bytes, so they must keep the
 *            app's values. Odd frames wait with vkWaitForFences, even ones poll vkGetFenceStatus,
 *            and the last frame's result is observed through vkWaitSemaphores alone.
 *
 *   transfer: mode=M frame=N ok fnv=XXXXXXXX      each frame
 *   transfer: frame=N byte I is X, expected Y     the first wrong byte (exit 1)
 *   transfer: all ok
 *
 * Exit codes: 0 every frame came back; 1 wrong data or usage; 2 a Vulkan call failed; 3 the driver
 * lacks VK_EXT_external_memory_host (import mode).
 */
#define _DEFAULT_SOURCE
#include <vulkan/vulkan.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLIENT_NAME "transfer"
#define CLIENT_VK_FAILED 2
#include "client_util.h"

static VkDevice g_dev;
static VkPhysicalDeviceMemoryProperties g_mem;
static PFN_vkGetMemoryHostPointerPropertiesEXT g_host_props;
static VkDeviceSize g_align = 4096;

/* The app's memory behind one staging buffer: mapped device memory, or its own allocation imported. */
struct staging {
    VkBuffer buf;
    VkDeviceMemory mem;
    uint8_t *data;   /* where the buffer's bytes are, as the app sees them */
    uint8_t *whole;  /* import: the whole imported range (one guard page, data, one guard page) */
    VkDeviceSize whole_size;
};

static int alloc_memory(VkDeviceSize size, uint32_t type_bits, VkMemoryPropertyFlags want, const void *pnext, VkDeviceMemory *out)
{
    for (uint32_t i = 0; i < g_mem.memoryTypeCount; i++) {
        if (!(type_bits & (1u << i)) || (g_mem.memoryTypes[i].propertyFlags & want) != want)
            continue;
        VkMemoryAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .pNext = pnext,
                                    .allocationSize = size, .memoryTypeIndex = i };
        CHECK(vkAllocateMemory, g_dev, &ai, NULL, out);
        return 0;
    }
    WRONG("no memory type with flags 0x%x in bits 0x%x", want, type_bits);
}

static int make_staging(VkDeviceSize size, int import, struct staging *s)
{
    VkExternalMemoryBufferCreateInfo ext = { .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO,
                                             .handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT };
    VkBufferCreateInfo bi = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .pNext = import ? &ext : NULL, .size = size,
                              .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT };
    CHECK(vkCreateBuffer, g_dev, &bi, NULL, &s->buf);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(g_dev, s->buf, &req);
    if (!import) {
        int rc = alloc_memory(req.size, req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, NULL, &s->mem);
        if (rc)
            return rc;
        CHECK(vkBindBufferMemory, g_dev, s->buf, s->mem, 0);
        CHECK(vkMapMemory, g_dev, s->mem, 0, VK_WHOLE_SIZE, 0, (void **)&s->data);
        return 0;
    }
    /* A guard page, the buffer at offset one page, the rest rounded up plus a guard page. */
    s->whole_size = g_align + (size + g_align - 1) / g_align * g_align + g_align;
    s->whole = aligned_alloc((size_t)g_align, (size_t)s->whole_size);
    if (!s->whole)
        WRONG("aligned_alloc of %llu bytes failed", (unsigned long long)s->whole_size);
    memset(s->whole, 0x5a, (size_t)s->whole_size);
    s->data = s->whole + g_align;
    VkMemoryHostPointerPropertiesEXT hp = { .sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT };
    CHECK(g_host_props, g_dev, VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, s->whole, &hp);
    VkImportMemoryHostPointerInfoEXT imp = { .sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT,
                                             .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
                                             .pHostPointer = s->whole };
    int rc = alloc_memory(s->whole_size, req.memoryTypeBits & hp.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, &imp, &s->mem);
    if (rc)
        return rc;
    CHECK(vkBindBufferMemory, g_dev, s->buf, s->mem, g_align);
    return 0;
}

static void layout(VkCommandBuffer cb, VkImage image, VkImageLayout from, VkImageLayout to,
                   VkAccessFlags2 src_access, VkAccessFlags2 dst_access)
{
    VkImageMemoryBarrier2 b = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER_2, .srcStageMask = VK_PIPELINE_STAGE_2_TRANSFER_BIT,
        .srcAccessMask = src_access, .dstStageMask = VK_PIPELINE_STAGE_2_TRANSFER_BIT, .dstAccessMask = dst_access,
        .oldLayout = from, .newLayout = to, .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
        .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED, .image = image, .subresourceRange = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1 },
    };
    VkDependencyInfo dep = { .sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO, .imageMemoryBarrierCount = 1, .pImageMemoryBarriers = &b };
    vkCmdPipelineBarrier2(cb, &dep);
}

/* Submits cb waiting for the timeline at *value and signalling *value + 1. */
static int submit(VkQueue q, VkCommandBuffer cb, VkSemaphore timeline, uint64_t *value, VkFence fence)
{
    VkSemaphoreSubmitInfo wait = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_SUBMIT_INFO, .semaphore = timeline, .value = *value,
                                   .stageMask = VK_PIPELINE_STAGE_2_TRANSFER_BIT };
    VkSemaphoreSubmitInfo signal = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_SUBMIT_INFO, .semaphore = timeline, .value = *value + 1,
                                     .stageMask = VK_PIPELINE_STAGE_2_TRANSFER_BIT };
    VkCommandBufferSubmitInfo cbi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_SUBMIT_INFO, .commandBuffer = cb };
    VkSubmitInfo2 si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO_2, .waitSemaphoreInfoCount = 1, .pWaitSemaphoreInfos = &wait,
                         .commandBufferInfoCount = 1, .pCommandBufferInfos = &cbi, .signalSemaphoreInfoCount = 1,
                         .pSignalSemaphoreInfos = &signal };
    if (fence != VK_NULL_HANDLE)
        CHECK(vkResetFences, g_dev, 1, &fence);
    CHECK(vkQueueSubmit2, q, 1, &si, fence);
    (*value)++;
    return 0;
}

/* Waits for the last submission the way frame N does: vkWaitForFences, polling vkGetFenceStatus, or the timeline alone. */
static int observe(uint32_t frame, uint32_t frames, VkFence fence, VkSemaphore timeline, uint64_t value)
{
    if (frame + 1 == frames) {
        VkSemaphoreWaitInfo wi = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO, .semaphoreCount = 1, .pSemaphores = &timeline,
                                   .pValues = &value };
        CHECK(vkWaitSemaphores, g_dev, &wi, 10ull * 1000 * 1000 * 1000);
        return 0;
    }
    if (frame % 2) {
        CHECK(vkWaitForFences, g_dev, 1, &fence, VK_TRUE, 10ull * 1000 * 1000 * 1000);
        return 0;
    }
    for (int i = 0; i < 200000; i++) {
        VkResult r = vkGetFenceStatus(g_dev, fence);
        if (r == VK_SUCCESS)
            return 0;
        if (r != VK_NOT_READY)
            CHECK(vkGetFenceStatus, g_dev, fence);
        usleep(50);
    }
    WRONG("frame=%u: the fence did not signal", frame);
}

static uint8_t pattern(uint32_t frame, size_t i)
{
    return (uint8_t)((i * 7 + (i >> 9) * 13 + frame * 31 + 1) & 0xff);
}

static int guards_intact(const struct staging *s, VkDeviceSize size, uint8_t canary, const char *which)
{
    for (VkDeviceSize i = 0; i < s->whole_size; i++) {
        if (i >= g_align && i < g_align + size)
            continue;
        if (s->whole[i] != canary)
            WRONG("%s import: byte %llu outside the buffer is %u, the app wrote %u", which, (unsigned long long)i, s->whole[i], canary);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int import = argc > 1 && strcmp(argv[1], "import") == 0;
    if (argc < 2 || (!import && strcmp(argv[1], "staging") != 0))
        WRONG("usage: transfer staging|import [WIDTH HEIGHT [FRAMES]]");
    uint32_t width = argc > 2 ? (uint32_t)atoi(argv[2]) : 320;
    uint32_t height = argc > 3 ? (uint32_t)atoi(argv[3]) : 240;
    uint32_t frames = argc > 4 ? (uint32_t)atoi(argv[4]) : 3;
    if (width == 0 || height == 0 || frames == 0 || width > 8192 || height > 8192)
        WRONG("usage: transfer staging|import [WIDTH HEIGHT [FRAMES]] (1..8192, FRAMES >= 1)");
    VkDeviceSize size = (VkDeviceSize)width * height * 4;

    int rc;
    VkInstance instance;
    VkPhysicalDevice pd;
    VkPhysicalDeviceProperties props;
    if ((rc = first_device("transfer", &instance, &pd, &props)))
        return rc;
    vkGetPhysicalDeviceMemoryProperties(pd, &g_mem);

    const char *exts[1] = { VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME };
    if (import) {
        uint32_t n = 0;
        CHECK(vkEnumerateDeviceExtensionProperties, pd, NULL, &n, NULL);
        VkExtensionProperties *list = calloc(n ? n : 1, sizeof(*list));
        CHECK(vkEnumerateDeviceExtensionProperties, pd, NULL, &n, list);
        int found = 0;
        for (uint32_t i = 0; i < n; i++)
            found |= strcmp(list[i].extensionName, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME) == 0;
        free(list);
        if (!found) {
            printf(CLIENT_NAME ": the device lacks " VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME "\n");
            return 3;
        }
        VkPhysicalDeviceExternalMemoryHostPropertiesEXT hp = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT };
        VkPhysicalDeviceProperties2 p2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &hp };
        vkGetPhysicalDeviceProperties2(pd, &p2);
        if (hp.minImportedHostPointerAlignment == 0 || (hp.minImportedHostPointerAlignment & (hp.minImportedHostPointerAlignment - 1)))
            WRONG("minImportedHostPointerAlignment %llu is not a power of two", (unsigned long long)hp.minImportedHostPointerAlignment);
        g_align = hp.minImportedHostPointerAlignment;
        printf(CLIENT_NAME ": minImportedHostPointerAlignment=%llu\n", (unsigned long long)g_align);
    }

    VkPhysicalDeviceVulkan13Features f13 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES, .synchronization2 = VK_TRUE };
    VkPhysicalDeviceVulkan12Features f12 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .pNext = &f13,
                                             .timelineSemaphore = VK_TRUE };
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qi = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = 0, .queueCount = 1,
                                   .pQueuePriorities = &prio };
    VkDeviceCreateInfo di = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &f12, .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qi, .enabledExtensionCount = import ? 1 : 0, .ppEnabledExtensionNames = exts };
    CHECK(vkCreateDevice, pd, &di, NULL, &g_dev);
    VkQueue queue;
    vkGetDeviceQueue(g_dev, 0, 0, &queue);
    if (import) {
        g_host_props = (PFN_vkGetMemoryHostPointerPropertiesEXT)vkGetDeviceProcAddr(g_dev, "vkGetMemoryHostPointerPropertiesEXT");
        if (!g_host_props)
            WRONG("no vkGetMemoryHostPointerPropertiesEXT");
    }

    VkImageCreateInfo ii = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO, .flags = VK_IMAGE_CREATE_ALIAS_BIT, .imageType = VK_IMAGE_TYPE_2D,
        .format = VK_FORMAT_R8G8B8A8_UNORM, .extent = { width, height, 1 }, .mipLevels = 1, .arrayLayers = 1,
        .samples = VK_SAMPLE_COUNT_1_BIT, .tiling = VK_IMAGE_TILING_OPTIMAL,
        .usage = VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_STORAGE_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE, .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
    };
    VkImage image;
    CHECK(vkCreateImage, g_dev, &ii, NULL, &image);
    VkMemoryRequirements ireq;
    vkGetImageMemoryRequirements(g_dev, image, &ireq);
    VkExportMemoryAllocateInfo export_none = { .sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO };
    VkDeviceMemory image_mem;
    rc = alloc_memory(ireq.size, ireq.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, &export_none, &image_mem);
    if (rc)
        return rc;
    CHECK(vkBindImageMemory, g_dev, image, image_mem, 0);

    VkSemaphoreTypeCreateInfo sti = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO, .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE };
    VkSemaphoreCreateInfo sci = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &sti };
    VkSemaphore timeline;
    CHECK(vkCreateSemaphore, g_dev, &sci, NULL, &timeline);
    uint64_t value = 0;

    VkCommandPoolCreateInfo pci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT, .queueFamilyIndex = 0 };
    VkCommandPool pool;
    CHECK(vkCreateCommandPool, g_dev, &pci, NULL, &pool);
    VkCommandBufferAllocateInfo cai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = pool,
                                        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 2 };
    VkCommandBuffer cbs[2];
    CHECK(vkAllocateCommandBuffers, g_dev, &cai, cbs);
    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, .flags = VK_FENCE_CREATE_SIGNALED_BIT };
    VkFence fence;
    CHECK(vkCreateFence, g_dev, &fci, NULL, &fence);
    VkCommandBufferBeginInfo begin = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                       .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };

    struct staging up = { 0 }, down = { 0 };
    if ((rc = make_staging(size, import, &up)) || (rc = make_staging(size, import, &down)))
        return rc;
    memset(down.data, 0, (size_t)size);

    VkBufferImageCopy region = { .bufferRowLength = width, .bufferImageHeight = height,
                                 .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1 }, .imageExtent = { width, height, 1 } };
    VkImageLayout current = VK_IMAGE_LAYOUT_UNDEFINED;
    for (uint32_t frame = 0; frame < frames; frame++) {
        for (size_t i = 0; i < size; i++)
            up.data[i] = pattern(frame, i);

        CHECK(vkBeginCommandBuffer, cbs[0], &begin);
        layout(cbs[0], image, current, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_ACCESS_2_TRANSFER_READ_BIT, VK_ACCESS_2_TRANSFER_WRITE_BIT);
        vkCmdCopyBufferToImage(cbs[0], up.buf, image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
        CHECK(vkEndCommandBuffer, cbs[0]);
        if ((rc = submit(queue, cbs[0], timeline, &value, fence)))
            return rc;
        CHECK(vkWaitForFences, g_dev, 1, &fence, VK_TRUE, 10ull * 1000 * 1000 * 1000);

        CHECK(vkBeginCommandBuffer, cbs[1], &begin);
        layout(cbs[1], image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
               VK_ACCESS_2_TRANSFER_WRITE_BIT, VK_ACCESS_2_TRANSFER_READ_BIT);
        vkCmdCopyImageToBuffer(cbs[1], image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, down.buf, 1, &region);
        CHECK(vkEndCommandBuffer, cbs[1]);
        int last = frame + 1 == frames;
        if ((rc = submit(queue, cbs[1], timeline, &value, last ? VK_NULL_HANDLE : fence)))
            return rc;
        /* While the device works the app writes the parts of its imports that no buffer covers. */
        uint8_t canary = (uint8_t)(0xa0 + frame);
        if (import) {
            memset(up.whole, canary, (size_t)g_align);
            memset(down.whole, canary, (size_t)g_align);
            memset(up.whole + g_align + size, canary, (size_t)(up.whole_size - g_align - size));
            memset(down.whole + g_align + size, canary, (size_t)(down.whole_size - g_align - size));
        }
        if ((rc = observe(frame, frames, fence, timeline, value)))
            return rc;
        current = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;

        uint32_t fnv = 2166136261u;
        for (size_t i = 0; i < size; i++) {
            if (down.data[i] != pattern(frame, i))
                WRONG("frame=%u byte %zu is %u, expected %u", frame, i, down.data[i], pattern(frame, i));
            fnv = (fnv ^ down.data[i]) * 16777619u;
        }
        if (import && ((rc = guards_intact(&up, size, canary, "upload")) || (rc = guards_intact(&down, size, canary, "download"))))
            return rc;
        printf(CLIENT_NAME ": mode=%s frame=%u ok fnv=%08x\n", import ? "import" : "staging", frame, fnv);
    }

    vkDestroyFence(g_dev, fence, NULL);
    vkDestroyCommandPool(g_dev, pool, NULL);
    vkDestroySemaphore(g_dev, timeline, NULL);
    vkDestroyBuffer(g_dev, up.buf, NULL);
    vkDestroyBuffer(g_dev, down.buf, NULL);
    vkFreeMemory(g_dev, up.mem, NULL);
    vkFreeMemory(g_dev, down.mem, NULL);
    free(up.whole);
    free(down.whole);
    vkDestroyImage(g_dev, image, NULL);
    vkFreeMemory(g_dev, image_mem, NULL);
    vkDestroyDevice(g_dev, NULL);
    vkDestroyInstance(instance, NULL);
    printf(CLIENT_NAME ": all ok\n");
    return 0;
}
