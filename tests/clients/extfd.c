/*
 * External memory, fence and semaphore fds through a driver (tests/Venus.GuestIcd.Tests ExternalFdTests):
 *
 *   extfd
 *
 * Steps:
 *  1. extensions: which of VK_KHR_external_memory_fd, VK_EXT_external_memory_dma_buf,
 *     VK_KHR_external_fence_fd, VK_KHR_external_semaphore_fd and VK_EXT_queue_family_foreign the
 *     device offers (printed);
 *  2. props: vkGetPhysicalDeviceExternalBufferProperties of a storage/transfer buffer for OPAQUE_FD
 *     and DMA_BUF, the external fence/semaphore properties of SYNC_FD, and the features of OPAQUE_FD
 *     fences and semaphores (printed);
 *  3. memory-opaque, memory-dmabuf (each where the buffer properties say exportable and importable):
 *     two VkDevices of one instance; device A allocates exportable memory for a buffer, fills it on
 *     the device (vkCmdFillBuffer and vkCmdUpdateBuffer), exports it with vkGetMemoryFdKHR (for
 *     dma-buf: vkGetMemoryFdPropertiesKHR on B must include the type); device B imports the fd,
 *     copies it to a host-visible buffer it reads back (A's bytes), writes the second half with
 *     vkCmdFillBuffer; A copies its buffer to a host-visible buffer and reads B's bytes back.
 *     Prints the checksum of what both read;
 *  4. fence (where VK_KHR_external_fence_fd and SYNC_FD are exportable and importable): a submit
 *     signals an exportable fence, vkGetFenceFdKHR(SYNC_FD) waits for it (fd -1 or a sync file,
 *     polled), the fence then reads VK_NOT_READY (an export resets); B imports the fd as a
 *     temporary payload: its fence reads signalled, vkWaitForFences passes, and vkResetFences
 *     brings back its permanent (unsignalled) payload; import of -1 likewise;
 *  5. semaphore (where SYNC_FD is importable for binary semaphores): -1 imported as a temporary
 *     payload, then a submit waits on it with a fence; where exportable too, a submit signals a
 *     semaphore of A, its sync_fd is exported and imported into a semaphore of B that B waits on.
 * Prints "extfd: <step> ok" or "extfd: <step> skipped (why)" per step and "extfd: all ok"; on
 * failure "extfd: <call> failed: ..." or "extfd: <step> wrong: ...", exit 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <vulkan/vulkan.h>

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLIENT_NAME "extfd"
#include "client_util.h"

enum { SIZE = 65536 };

struct dev {
    VkDevice d;
    VkQueue q;
    VkCommandPool pool;
    VkCommandBuffer cb;
    VkFence fence;
};

static VkPhysicalDevice pd;
static VkPhysicalDeviceMemoryProperties mp;
static int has_mem_fd, has_dma_buf, has_fence_fd, has_sem_fd, has_foreign;

static PFN_vkGetMemoryFdKHR pGetMemoryFd;
static PFN_vkGetMemoryFdPropertiesKHR pGetMemoryFdProperties;
static PFN_vkGetFenceFdKHR pGetFenceFd;
static PFN_vkImportFenceFdKHR pImportFenceFd;
static PFN_vkGetSemaphoreFdKHR pGetSemaphoreFd;
static PFN_vkImportSemaphoreFdKHR pImportSemaphoreFd;

static uint32_t memory_type(uint32_t bits, VkMemoryPropertyFlags want)
{
    for (uint32_t t = 0; t < mp.memoryTypeCount; t++)
        if ((bits & (1u << t)) && (mp.memoryTypes[t].propertyFlags & want) == want)
            return t;
    return UINT32_MAX;
}

static int make_device(struct dev *d)
{
    const char *exts[5];
    uint32_t n = 0;
    if (has_mem_fd)
        exts[n++] = VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME;
    if (has_dma_buf)
        exts[n++] = VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME;
    if (has_fence_fd)
        exts[n++] = VK_KHR_EXTERNAL_FENCE_FD_EXTENSION_NAME;
    if (has_sem_fd)
        exts[n++] = VK_KHR_EXTERNAL_SEMAPHORE_FD_EXTENSION_NAME;
    if (has_foreign)
        exts[n++] = VK_EXT_QUEUE_FAMILY_FOREIGN_EXTENSION_NAME;
    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = 0, .queueCount = 1, .pQueuePriorities = &priority };
    VkDeviceCreateInfo dci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci,
                               .enabledExtensionCount = n, .ppEnabledExtensionNames = exts };
    CHECK(vkCreateDevice, pd, &dci, NULL, &d->d);
    vkGetDeviceQueue(d->d, 0, 0, &d->q);
    VkCommandPoolCreateInfo pci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT };
    CHECK(vkCreateCommandPool, d->d, &pci, NULL, &d->pool);
    VkCommandBufferAllocateInfo cai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = d->pool,
                                        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1 };
    CHECK(vkAllocateCommandBuffers, d->d, &cai, &d->cb);
    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    CHECK(vkCreateFence, d->d, &fci, NULL, &d->fence);
    return 0;
}

static int begin(struct dev *d)
{
    VkCommandBufferBeginInfo bi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };
    CHECK(vkBeginCommandBuffer, d->cb, &bi);
    return 0;
}

static int submit(struct dev *d)
{
    CHECK(vkEndCommandBuffer, d->cb);
    VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &d->cb };
    CHECK(vkQueueSubmit, d->q, 1, &si, d->fence);
    CHECK(vkWaitForFences, d->d, 1, &d->fence, VK_TRUE, UINT64_MAX);
    CHECK(vkResetFences, d->d, 1, &d->fence);
    CHECK(vkResetCommandBuffer, d->cb, 0);
    return 0;
}

static void transfer_barrier(VkCommandBuffer cb)
{
    VkMemoryBarrier mb = { .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                           .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT };
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
}

/* A buffer for external memory of handle type `type`; its memory exported (fd < 0) or imported from fd. */
static int external_buffer(struct dev *d, VkExternalMemoryHandleTypeFlagBits type, int dedicated, int import_fd,
                           uint32_t *type_index, VkDeviceSize *alloc_size, VkBuffer *buf, VkDeviceMemory *mem)
{
    VkExternalMemoryBufferCreateInfo ext = { .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO, .handleTypes = type };
    VkBufferCreateInfo bci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .pNext = &ext, .size = SIZE,
                               .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT };
    CHECK(vkCreateBuffer, d->d, &bci, NULL, buf);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(d->d, *buf, &req);
    VkMemoryDedicatedAllocateInfo ded = { .sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO, .buffer = *buf };
    VkExportMemoryAllocateInfo exp = { .sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO, .pNext = dedicated ? &ded : NULL, .handleTypes = type };
    VkImportMemoryFdInfoKHR imp = { .sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR, .pNext = dedicated ? &ded : NULL, .handleType = type, .fd = import_fd };
    if (import_fd < 0) {
        *type_index = memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
        if (*type_index == UINT32_MAX)
            *type_index = memory_type(req.memoryTypeBits, 0);
        *alloc_size = req.size;
    }
    VkMemoryAllocateInfo mai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .pNext = import_fd < 0 ? (void *)&exp : (void *)&imp,
                                 .allocationSize = *alloc_size, .memoryTypeIndex = *type_index };
    VkResult r = vkAllocateMemory(d->d, &mai, NULL, mem);
    if (r != VK_SUCCESS) {
        printf("extfd: vkAllocateMemory (%s, type %u, %llu bytes) failed: %d (%s)\n", import_fd < 0 ? "exportable" : "import of the fd",
               *type_index, (unsigned long long)*alloc_size, (int)r, vk_result_name(r));
        return 1;
    }
    CHECK(vkBindBufferMemory, d->d, *buf, *mem, 0);
    return 0;
}

static int staging(struct dev *d, VkBuffer *buf, VkDeviceMemory *mem, void **map)
{
    VkBufferCreateInfo bci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = SIZE, .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT };
    CHECK(vkCreateBuffer, d->d, &bci, NULL, buf);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(d->d, *buf, &req);
    VkMemoryAllocateInfo mai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                                 .memoryTypeIndex = memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) };
    CHECK(vkAllocateMemory, d->d, &mai, NULL, mem);
    CHECK(vkBindBufferMemory, d->d, *buf, *mem, 0);
    CHECK(vkMapMemory, d->d, *mem, 0, VK_WHOLE_SIZE, 0, map);
    return 0;
}

static uint32_t fnv(const uint8_t *p, size_t n, uint32_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static int check_pattern(const uint32_t *p, size_t from, size_t to, int b_half)
{
    for (size_t i = from; i < to; i++) {
        uint32_t want = b_half ? 0xb0b0b0b0u : i < 64 ? (uint32_t)(i * 2654435761u) : 0xa5a5a5a5u;
        if (p[i] != want) {
            printf("extfd: word %zu is 0x%08x, expected 0x%08x\n", i, p[i], want);
            return 1;
        }
    }
    return 0;
}

static int memory_step(const char *step, struct dev *a, struct dev *b, VkExternalMemoryHandleTypeFlagBits type, int dedicated)
{
    uint32_t type_index = 0;
    VkDeviceSize alloc_size = 0;
    VkBuffer abuf, bbuf, astage, bstage;
    VkDeviceMemory amem, bmem, astage_mem, bstage_mem;
    void *amap, *bmap;
    if (external_buffer(a, type, dedicated, -1, &type_index, &alloc_size, &abuf, &amem))
        return 1;
    /* A writes through the device: a fill, then 64 words of a pattern. */
    uint32_t words[64];
    for (uint32_t i = 0; i < 64; i++)
        words[i] = i * 2654435761u;
    if (begin(a))
        return 1;
    vkCmdFillBuffer(a->cb, abuf, 0, SIZE, 0xa5a5a5a5u);
    transfer_barrier(a->cb);
    vkCmdUpdateBuffer(a->cb, abuf, 0, sizeof words, words);
    if (submit(a))
        return 1;

    VkMemoryGetFdInfoKHR gfi = { .sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR, .memory = amem, .handleType = type };
    int fd = -1;
    CHECK(pGetMemoryFd, a->d, &gfi, &fd);
    if (fd < 0)
        WRONG("%s wrong: vkGetMemoryFdKHR returned fd %d", step, fd);
    if (type == VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT) {
        VkMemoryFdPropertiesKHR fp = { .sType = VK_STRUCTURE_TYPE_MEMORY_FD_PROPERTIES_KHR };
        CHECK(pGetMemoryFdProperties, b->d, type, fd, &fp);
        if (!(fp.memoryTypeBits & (1u << type_index)))
            WRONG("%s wrong: vkGetMemoryFdPropertiesKHR types 0x%x lack the exported type %u", step, fp.memoryTypeBits, type_index);
    }
    if (external_buffer(b, type, dedicated, fd, &type_index, &alloc_size, &bbuf, &bmem))
        return 1;
    /* fd belongs to the driver now. B reads A's bytes, then writes its half. */
    if (staging(b, &bstage, &bstage_mem, &bmap) || staging(a, &astage, &astage_mem, &amap))
        return 1;
    if (begin(b))
        return 1;
    VkBufferCopy whole = { 0, 0, SIZE };
    vkCmdCopyBuffer(b->cb, bbuf, bstage, 1, &whole);
    transfer_barrier(b->cb);
    vkCmdFillBuffer(b->cb, bbuf, SIZE / 2, SIZE / 2, 0xb0b0b0b0u);
    if (submit(b))
        return 1;
    if (check_pattern(bmap, 0, SIZE / 4, 0))
        WRONG("%s wrong: device B does not read what device A wrote", step);
    if (begin(a))
        return 1;
    vkCmdCopyBuffer(a->cb, abuf, astage, 1, &whole);
    if (submit(a))
        return 1;
    if (check_pattern(amap, 0, SIZE / 8, 0) || check_pattern(amap, SIZE / 8, SIZE / 4, 1))
        WRONG("%s wrong: device A does not read what device B wrote", step);
    printf("extfd: %s sum=%08x\n", step, fnv(amap, SIZE, fnv(bmap, SIZE, 2166136261u)));

    vkDestroyBuffer(b->d, bbuf, NULL);
    vkFreeMemory(b->d, bmem, NULL);
    vkDestroyBuffer(a->d, abuf, NULL);
    vkFreeMemory(a->d, amem, NULL);
    vkDestroyBuffer(a->d, astage, NULL);
    vkFreeMemory(a->d, astage_mem, NULL);
    vkDestroyBuffer(b->d, bstage, NULL);
    vkFreeMemory(b->d, bstage_mem, NULL);
    printf("extfd: %s ok\n", step);
    return 0;
}

static int wait_sync_file(int fd)
{
    if (fd < 0)
        return 0;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, 10000) != 1)
        return 1;
    return 0;
}

static int fence_round_trip(struct dev *a, struct dev *b)
{
    VkExportFenceCreateInfo efci = { .sType = VK_STRUCTURE_TYPE_EXPORT_FENCE_CREATE_INFO, .handleTypes = VK_EXTERNAL_FENCE_HANDLE_TYPE_SYNC_FD_BIT };
    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, .pNext = &efci };
    VkFence fa, fb;
    CHECK(vkCreateFence, a->d, &fci, NULL, &fa);
    VkFenceCreateInfo plain = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    CHECK(vkCreateFence, b->d, &plain, NULL, &fb);

    /* A submit (an empty command buffer) signals fa; its sync_fd is exported. */
    if (begin(a))
        return 1;
    CHECK(vkEndCommandBuffer, a->cb);
    VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &a->cb };
    CHECK(vkQueueSubmit, a->q, 1, &si, fa);
    VkFenceGetFdInfoKHR gfi = { .sType = VK_STRUCTURE_TYPE_FENCE_GET_FD_INFO_KHR, .fence = fa, .handleType = VK_EXTERNAL_FENCE_HANDLE_TYPE_SYNC_FD_BIT };
    int fd = -2;
    CHECK(pGetFenceFd, a->d, &gfi, &fd);
    if (fd < -1)
        WRONG("fence wrong: vkGetFenceFdKHR returned fd %d", fd);
    if (wait_sync_file(fd))
        WRONG("fence wrong: the exported sync_fd %d did not signal", fd);
    CHECK(vkQueueWaitIdle, a->q);
    VkResult st = vkGetFenceStatus(a->d, fa);
    if (st != VK_NOT_READY)
        WRONG("fence wrong: after the export the fence reads %d (%s), expected VK_NOT_READY", (int)st, vk_result_name(st));
    CHECK(vkResetCommandBuffer, a->cb, 0);

    /* B imports it (and later -1) as a temporary payload. */
    for (int round = 0; round < 2; round++) {
        VkImportFenceFdInfoKHR ifi = { .sType = VK_STRUCTURE_TYPE_IMPORT_FENCE_FD_INFO_KHR, .fence = fb, .flags = VK_FENCE_IMPORT_TEMPORARY_BIT,
                                       .handleType = VK_EXTERNAL_FENCE_HANDLE_TYPE_SYNC_FD_BIT, .fd = round == 0 ? fd : -1 };
        CHECK(pImportFenceFd, b->d, &ifi);
        st = vkGetFenceStatus(b->d, fb);
        if (st != VK_SUCCESS)
            WRONG("fence wrong: an imported signalled sync_fd reads %d (%s)", (int)st, vk_result_name(st));
        VkFence both[2] = { fb, b->fence };
        CHECK(vkWaitForFences, b->d, 1, both, VK_TRUE, 1000000000ull);
        st = vkWaitForFences(b->d, 2, both, VK_FALSE, 0);
        if (st != VK_SUCCESS)
            WRONG("fence wrong: wait-any with an imported payload answered %d (%s)", (int)st, vk_result_name(st));
        st = vkWaitForFences(b->d, 2, both, VK_TRUE, 0);
        if (st != VK_TIMEOUT)
            WRONG("fence wrong: wait-all with an unsignalled fence answered %d (%s)", (int)st, vk_result_name(st));
        CHECK(vkResetFences, b->d, 1, &fb);
        st = vkGetFenceStatus(b->d, fb);
        if (st != VK_NOT_READY)
            WRONG("fence wrong: after a reset the permanent payload reads %d (%s)", (int)st, vk_result_name(st));
    }
    /* The permanent payload still works: a submit signals fb. */
    CHECK(vkQueueSubmit, b->q, 0, NULL, fb);
    CHECK(vkWaitForFences, b->d, 1, &fb, VK_TRUE, UINT64_MAX);
    vkDestroyFence(a->d, fa, NULL);
    vkDestroyFence(b->d, fb, NULL);
    printf("extfd: fence ok\n");
    return 0;
}

static int semaphore_step(struct dev *a, struct dev *b, int exportable)
{
    VkExportSemaphoreCreateInfo esci = { .sType = VK_STRUCTURE_TYPE_EXPORT_SEMAPHORE_CREATE_INFO, .handleTypes = VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT };
    VkSemaphoreCreateInfo sci = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = exportable ? &esci : NULL };
    VkSemaphoreCreateInfo plain = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO };
    VkSemaphore sa, sb;
    CHECK(vkCreateSemaphore, a->d, &sci, NULL, &sa);
    CHECK(vkCreateSemaphore, b->d, &plain, NULL, &sb);
    VkPipelineStageFlags stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    VkSubmitInfo wait = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .waitSemaphoreCount = 1, .pWaitSemaphores = &sb, .pWaitDstStageMask = &stage };

    /* -1: an already signalled payload, consumed by a wait. */
    VkImportSemaphoreFdInfoKHR isi = { .sType = VK_STRUCTURE_TYPE_IMPORT_SEMAPHORE_FD_INFO_KHR, .semaphore = sb, .flags = VK_SEMAPHORE_IMPORT_TEMPORARY_BIT,
                                       .handleType = VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT, .fd = -1 };
    CHECK(pImportSemaphoreFd, b->d, &isi);
    CHECK(vkQueueSubmit, b->q, 1, &wait, b->fence);
    CHECK(vkWaitForFences, b->d, 1, &b->fence, VK_TRUE, 10000000000ull);
    CHECK(vkResetFences, b->d, 1, &b->fence);

    if (exportable) {
        VkSubmitInfo signal = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .signalSemaphoreCount = 1, .pSignalSemaphores = &sa };
        CHECK(vkQueueSubmit, a->q, 1, &signal, VK_NULL_HANDLE);
        VkSemaphoreGetFdInfoKHR gsi = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_GET_FD_INFO_KHR, .semaphore = sa, .handleType = VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT };
        int fd = -2;
        CHECK(pGetSemaphoreFd, a->d, &gsi, &fd);
        if (fd < -1)
            WRONG("semaphore wrong: vkGetSemaphoreFdKHR returned fd %d", fd);
        isi.fd = fd;
        CHECK(pImportSemaphoreFd, b->d, &isi);
        CHECK(vkQueueSubmit, b->q, 1, &wait, b->fence);
        CHECK(vkWaitForFences, b->d, 1, &b->fence, VK_TRUE, 10000000000ull);
        CHECK(vkResetFences, b->d, 1, &b->fence);
        CHECK(vkQueueWaitIdle, a->q);
    }
    vkDestroySemaphore(a->d, sa, NULL);
    vkDestroySemaphore(b->d, sb, NULL);
    printf("extfd: semaphore ok%s\n", exportable ? "" : " (import only)");
    return 0;
}

static int has_ext(const VkExtensionProperties *e, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(e[i].extensionName, name))
            return 1;
    return 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    VkInstance instance;
    VkPhysicalDeviceProperties props;
    if (first_device("venus-extfd", &instance, &pd, &props))
        return 1;
    vkGetPhysicalDeviceMemoryProperties(pd, &mp);

    uint32_t n = 0;
    CHECK(vkEnumerateDeviceExtensionProperties, pd, NULL, &n, NULL);
    VkExtensionProperties *e = calloc(n, sizeof *e);
    CHECK(vkEnumerateDeviceExtensionProperties, pd, NULL, &n, e);
    has_mem_fd = has_ext(e, n, VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME);
    has_dma_buf = has_mem_fd && has_ext(e, n, VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME);
    has_fence_fd = has_ext(e, n, VK_KHR_EXTERNAL_FENCE_FD_EXTENSION_NAME);
    has_sem_fd = has_ext(e, n, VK_KHR_EXTERNAL_SEMAPHORE_FD_EXTENSION_NAME);
    has_foreign = has_ext(e, n, VK_EXT_QUEUE_FAMILY_FOREIGN_EXTENSION_NAME);
    free(e);
    printf("extfd: extensions memory_fd=%d dma_buf=%d fence_fd=%d semaphore_fd=%d queue_family_foreign=%d\n",
           has_mem_fd, has_dma_buf, has_fence_fd, has_sem_fd, has_foreign);

    VkExternalMemoryProperties mem[2];
    VkExternalMemoryHandleTypeFlagBits mem_types[2] = { VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT, VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT };
    for (int i = 0; i < 2; i++) {
        VkPhysicalDeviceExternalBufferInfo bi = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_BUFFER_INFO, .handleType = mem_types[i],
                                                  .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT };
        VkExternalBufferProperties bp = { .sType = VK_STRUCTURE_TYPE_EXTERNAL_BUFFER_PROPERTIES };
        vkGetPhysicalDeviceExternalBufferProperties(pd, &bi, &bp);
        mem[i] = bp.externalMemoryProperties;
    }
    VkPhysicalDeviceExternalFenceInfo fi = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_FENCE_INFO, .handleType = VK_EXTERNAL_FENCE_HANDLE_TYPE_SYNC_FD_BIT };
    VkExternalFenceProperties fp = { .sType = VK_STRUCTURE_TYPE_EXTERNAL_FENCE_PROPERTIES };
    vkGetPhysicalDeviceExternalFenceProperties(pd, &fi, &fp);
    VkPhysicalDeviceExternalSemaphoreInfo si = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_SEMAPHORE_INFO, .handleType = VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT };
    VkExternalSemaphoreProperties sp = { .sType = VK_STRUCTURE_TYPE_EXTERNAL_SEMAPHORE_PROPERTIES };
    vkGetPhysicalDeviceExternalSemaphoreProperties(pd, &si, &sp);
    printf("extfd: memory-props opaque_fd=%x/%x/%x dma_buf=%x/%x/%x\n", mem[0].externalMemoryFeatures, mem[0].exportFromImportedHandleTypes,
           mem[0].compatibleHandleTypes, mem[1].externalMemoryFeatures, mem[1].exportFromImportedHandleTypes, mem[1].compatibleHandleTypes);
    printf("extfd: sync-props fence_sync_fd=%x/%x/%x semaphore_sync_fd=%x/%x/%x\n", fp.externalFenceFeatures, fp.exportFromImportedHandleTypes,
           fp.compatibleHandleTypes, sp.externalSemaphoreFeatures, sp.exportFromImportedHandleTypes, sp.compatibleHandleTypes);
    /* OPAQUE_FD fences and semaphores: their features (a driver that cannot share a payload between devices offers none). */
    VkPhysicalDeviceExternalFenceInfo ofi = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_FENCE_INFO, .handleType = VK_EXTERNAL_FENCE_HANDLE_TYPE_OPAQUE_FD_BIT };
    VkExternalFenceProperties ofp = { .sType = VK_STRUCTURE_TYPE_EXTERNAL_FENCE_PROPERTIES };
    vkGetPhysicalDeviceExternalFenceProperties(pd, &ofi, &ofp);
    VkPhysicalDeviceExternalSemaphoreInfo osi = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_SEMAPHORE_INFO, .handleType = VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_OPAQUE_FD_BIT };
    VkExternalSemaphoreProperties osp = { .sType = VK_STRUCTURE_TYPE_EXTERNAL_SEMAPHORE_PROPERTIES };
    vkGetPhysicalDeviceExternalSemaphoreProperties(pd, &osi, &osp);
    printf("extfd: opaque-sync-props fence_opaque_fd=%x semaphore_opaque_fd=%x\n", ofp.externalFenceFeatures, osp.externalSemaphoreFeatures);
    printf("extfd: props ok\n");

    struct dev a, b;
    if (make_device(&a) || make_device(&b))
        return 1;
    pGetMemoryFd = (PFN_vkGetMemoryFdKHR)vkGetDeviceProcAddr(a.d, "vkGetMemoryFdKHR");
    pGetMemoryFdProperties = (PFN_vkGetMemoryFdPropertiesKHR)vkGetDeviceProcAddr(a.d, "vkGetMemoryFdPropertiesKHR");
    pGetFenceFd = (PFN_vkGetFenceFdKHR)vkGetDeviceProcAddr(a.d, "vkGetFenceFdKHR");
    pImportFenceFd = (PFN_vkImportFenceFdKHR)vkGetDeviceProcAddr(a.d, "vkImportFenceFdKHR");
    pGetSemaphoreFd = (PFN_vkGetSemaphoreFdKHR)vkGetDeviceProcAddr(a.d, "vkGetSemaphoreFdKHR");
    pImportSemaphoreFd = (PFN_vkImportSemaphoreFdKHR)vkGetDeviceProcAddr(a.d, "vkImportSemaphoreFdKHR");

    const VkExternalMemoryFeatureFlags both = VK_EXTERNAL_MEMORY_FEATURE_EXPORTABLE_BIT | VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT;
    const char *steps[2] = { "memory-opaque", "memory-dmabuf" };
    for (int i = 0; i < 2; i++) {
        int have = i == 0 ? has_mem_fd : has_dma_buf;
        if (!have || (mem[i].externalMemoryFeatures & both) != both) {
            printf("extfd: %s skipped (%s)\n", steps[i], have ? "not exportable and importable" : "no extension");
            continue;
        }
        int dedicated = (mem[i].externalMemoryFeatures & VK_EXTERNAL_MEMORY_FEATURE_DEDICATED_ONLY_BIT) != 0;
        if (memory_step(steps[i], &a, &b, mem_types[i], dedicated))
            return 1;
    }

    if (has_fence_fd && (fp.externalFenceFeatures & 3) == 3) {
        if (fence_round_trip(&a, &b))
            return 1;
    } else {
        printf("extfd: fence skipped (%s)\n", has_fence_fd ? "SYNC_FD not exportable and importable" : "no VK_KHR_external_fence_fd");
    }

    if (has_sem_fd && (sp.externalSemaphoreFeatures & VK_EXTERNAL_SEMAPHORE_FEATURE_IMPORTABLE_BIT)) {
        if (semaphore_step(&a, &b, (sp.externalSemaphoreFeatures & VK_EXTERNAL_SEMAPHORE_FEATURE_EXPORTABLE_BIT) != 0))
            return 1;
    } else {
        printf("extfd: semaphore skipped (%s)\n", has_sem_fd ? "SYNC_FD not importable" : "no VK_KHR_external_semaphore_fd");
    }

    struct dev *ds[2] = { &a, &b };
    for (int i = 0; i < 2; i++) {
        vkDestroyFence(ds[i]->d, ds[i]->fence, NULL);
        vkDestroyCommandPool(ds[i]->d, ds[i]->pool, NULL);
        vkDestroyDevice(ds[i]->d, NULL);
    }
    vkDestroyInstance(instance, NULL);
    printf("extfd: all ok\n");
    return 0;
}
