/*
 * Vulkan 1.3 synchronization through a driver, checked step by step (tests/Venus.GuestIcd.Tests):
 *
 *   sync [nomap]
 *
 * Needs a device with apiVersion >= 1.3 (synchronization2, timeline semaphores and
 * hostQueryReset are core there and requested as features). On one queue:
 *  1. fence: vkQueueSubmit2 with vkCmdFillBuffer + vkCmdPipelineBarrier2, wait on a fence, read
 *     the buffer back through a mapped host-visible copy (vkCmdCopyBuffer) and check it (with
 *     "nomap" the copy is not mapped or checked: for hosts that cannot share memory);
 *  2. timeline semaphore: a submit signals value 5, the host waits with vkWaitSemaphores, then
 *     vkGetSemaphoreCounterValue must say 5; vkSignalSemaphore from the host sets 9; a wait for
 *     10 times out; a vkQueueSubmit (VkTimelineSemaphoreSubmitInfo) waits for 11 and signals 12:
 *     the counter stays 9 until the host signals 11, then polling vkGetSemaphoreCounterValue sees
 *     12; a wait for any of (this one >= 12, a second timeline >= 1) succeeds at once, for all of
 *     them it times out; 100 counter queries (tests count them on the wire);
 *  3. event: vkCmdSetEvent2 in a submit, vkGetEventStatus must become VK_EVENT_SET;
 *     vkResetEvent makes it VK_EVENT_RESET; vkSetEvent from the host sets it again; then
 *     vkCmdResetEvent, vkCmdSetEvent (polled, no fence) and vkCmdResetEvent2 from the device, each
 *     seen by vkGetEventStatus; 100 status queries (counted on the wire);
 *  4. queries: vkResetQueryPool (host), two vkCmdWriteTimestamp2 around a fill,
 *     vkGetQueryPoolResults with WAIT and 64-bit results: both non-zero and ordered;
 *  5. vkQueueWaitIdle and vkDeviceWaitIdle;
 *  6. fences (what our ICD answers from feedback slots): a fence created signalled, waits for all
 *     and for any with timeouts, vkResetFences, an empty vkQueueSubmit with a fence, two batches
 *     (the second waits on a semaphore the first signals) whose fence is polled with
 *     vkGetFenceStatus until set, then the fill it covers is read back (unless "nomap"), 200 status
 *     queries of a signalled fence (tests count them on the wire), and, where queue family 0 has
 *     sparse binding, an empty vkQueueBindSparse with a fence.
 * Prints "sync: <step> ok" per step and "sync: all ok"; on failure "sync: <call> failed: <n> (<name>)"
 * or "sync: <step> wrong: ..." and exits 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <vulkan/vulkan.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLIENT_NAME "sync"
#include "client_util.h"

static VkDevice dev;
static VkQueue queue;
static VkCommandBuffer cb;

static int submit(VkFence fence, VkSemaphore signal, uint64_t value)
{
    VkCommandBufferSubmitInfo cbi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_SUBMIT_INFO, .commandBuffer = cb };
    VkSemaphoreSubmitInfo ssi = {
        .sType = VK_STRUCTURE_TYPE_SEMAPHORE_SUBMIT_INFO, .semaphore = signal, .value = value,
        .stageMask = VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT,
    };
    VkSubmitInfo2 si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO_2, .commandBufferInfoCount = 1, .pCommandBufferInfos = &cbi,
        .signalSemaphoreInfoCount = signal ? 1 : 0, .pSignalSemaphoreInfos = &ssi,
    };
    CHECK(vkQueueSubmit2, queue, 1, &si, fence);
    return 0;
}

int main(int argc, char **argv)
{
    int map = !(argc > 1 && strcmp(argv[1], "nomap") == 0);
    setvbuf(stdout, NULL, _IOLBF, 0);
    VkInstance instance;
    VkPhysicalDevice pd;
    VkPhysicalDeviceProperties props;
    if (first_device("venus-sync", &instance, &pd, &props))
        return 1;
    if (props.apiVersion < VK_API_VERSION_1_3)
        WRONG("device api %u.%u is below 1.3", VK_API_VERSION_MAJOR(props.apiVersion), VK_API_VERSION_MINOR(props.apiVersion));

    VkPhysicalDeviceVulkan13Features f13 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES };
    VkPhysicalDeviceVulkan12Features f12 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .pNext = &f13 };
    VkPhysicalDeviceFeatures2 f2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f12 };
    vkGetPhysicalDeviceFeatures2(pd, &f2);
    if (!f13.synchronization2 || !f12.timelineSemaphore || !f12.hostQueryReset)
        WRONG("features missing: synchronization2=%u timelineSemaphore=%u hostQueryReset=%u",
              f13.synchronization2, f12.timelineSemaphore, f12.hostQueryReset);

    VkPhysicalDeviceVulkan13Features e13 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES, .synchronization2 = VK_TRUE };
    VkPhysicalDeviceVulkan12Features e12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .pNext = &e13,
        .timelineSemaphore = VK_TRUE, .hostQueryReset = VK_TRUE,
    };
    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = 0, .queueCount = 1, .pQueuePriorities = &priority };
    VkDeviceCreateInfo dci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &e12, .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci };
    CHECK(vkCreateDevice, pd, &dci, NULL, &dev);
    vkGetDeviceQueue(dev, 0, 0, &queue);

    /* buffers: a device buffer to fill, a host-visible one to read back */
    const VkDeviceSize size = 4096;
    VkBuffer buf[2];
    VkDeviceMemory mem[2];
    for (int i = 0; i < 2; i++) {
        VkBufferCreateInfo bci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size,
            .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT };
        CHECK(vkCreateBuffer, dev, &bci, NULL, &buf[i]);
        VkMemoryRequirements req;
        vkGetBufferMemoryRequirements(dev, buf[i], &req);
        VkMemoryPropertyFlags want = i == 1 ? (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) : 0;
        uint32_t type = find_memory_type(pd, req.memoryTypeBits, want);
        if (type == UINT32_MAX)
            WRONG("no memory type for buffer %d", i);
        VkMemoryAllocateInfo mai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = type };
        CHECK(vkAllocateMemory, dev, &mai, NULL, &mem[i]);
        CHECK(vkBindBufferMemory, dev, buf[i], mem[i], 0);
    }
    uint32_t *mapped = NULL;
    if (map) {
        CHECK(vkMapMemory, dev, mem[1], 0, VK_WHOLE_SIZE, 0, (void **)&mapped);
        memset(mapped, 0, size);
    }

    VkCommandPoolCreateInfo pci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT };
    VkCommandPool pool;
    CHECK(vkCreateCommandPool, dev, &pci, NULL, &pool);
    VkCommandBufferAllocateInfo cai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1 };
    CHECK(vkAllocateCommandBuffers, dev, &cai, &cb);
    VkCommandBufferBeginInfo begin = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };

    /* 1. fence + sync2 barrier + copy back */
    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    VkFence fence;
    CHECK(vkCreateFence, dev, &fci, NULL, &fence);
    CHECK(vkBeginCommandBuffer, cb, &begin);
    vkCmdFillBuffer(cb, buf[0], 0, size, 0xC0FFEE11u);
    VkBufferMemoryBarrier2 bb = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER_2, .srcStageMask = VK_PIPELINE_STAGE_2_CLEAR_BIT,
        .srcAccessMask = VK_ACCESS_2_TRANSFER_WRITE_BIT, .dstStageMask = VK_PIPELINE_STAGE_2_COPY_BIT,
        .dstAccessMask = VK_ACCESS_2_TRANSFER_READ_BIT, .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
        .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED, .buffer = buf[0], .offset = 0, .size = VK_WHOLE_SIZE,
    };
    VkDependencyInfo dep = { .sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO, .bufferMemoryBarrierCount = 1, .pBufferMemoryBarriers = &bb };
    vkCmdPipelineBarrier2(cb, &dep);
    VkBufferCopy region = { 0, 0, size };
    vkCmdCopyBuffer(cb, buf[0], buf[1], 1, &region);
    CHECK(vkEndCommandBuffer, cb);
    if (submit(fence, VK_NULL_HANDLE, 0))
        return 1;
    CHECK(vkWaitForFences, dev, 1, &fence, VK_TRUE, UINT64_MAX);
    if (vkGetFenceStatus(dev, fence) != VK_SUCCESS)
        WRONG("fence: vkGetFenceStatus is not VK_SUCCESS after the wait");
    for (uint32_t i = 0; map && i < size / 4; i++)
        if (mapped[i] != 0xC0FFEE11u)
            WRONG("fence: word %u is 0x%08x, expected 0xc0ffee11", i, mapped[i]);
    CHECK(vkResetFences, dev, 1, &fence);
    if (vkGetFenceStatus(dev, fence) != VK_NOT_READY)
        WRONG("fence: not unsignalled after vkResetFences");
    printf("sync: fence ok\n");

    /* 2. timeline semaphore */
    VkSemaphoreTypeCreateInfo stci = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO, .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE, .initialValue = 1 };
    VkSemaphoreCreateInfo sci = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &stci };
    VkSemaphore timeline;
    CHECK(vkCreateSemaphore, dev, &sci, NULL, &timeline);
    CHECK(vkResetCommandBuffer, cb, 0);
    CHECK(vkBeginCommandBuffer, cb, &begin);
    vkCmdFillBuffer(cb, buf[0], 0, size, 2);
    CHECK(vkEndCommandBuffer, cb);
    if (submit(VK_NULL_HANDLE, timeline, 5))
        return 1;
    uint64_t value = 5;
    VkSemaphoreWaitInfo wi = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO, .semaphoreCount = 1, .pSemaphores = &timeline, .pValues = &value };
    CHECK(vkWaitSemaphores, dev, &wi, UINT64_MAX);
    uint64_t now = 0;
    CHECK(vkGetSemaphoreCounterValue, dev, timeline, &now);
    if (now != 5)
        WRONG("timeline: counter %llu after waiting for 5", (unsigned long long)now);
    VkSemaphoreSignalInfo ssig = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO, .semaphore = timeline, .value = 9 };
    CHECK(vkSignalSemaphore, dev, &ssig);
    CHECK(vkGetSemaphoreCounterValue, dev, timeline, &now);
    if (now != 9)
        WRONG("timeline: counter %llu after signalling 9", (unsigned long long)now);
    value = 10;
    VkResult tr = vkWaitSemaphores(dev, &wi, 1000000); /* 1 ms: nothing will signal 10 */
    if (tr != VK_TIMEOUT)
        WRONG("timeline: waiting for an unreachable value gave %d (%s), expected VK_TIMEOUT", (int)tr, vk_result_name(tr));

    /* wait-before-signal through vkQueueSubmit: the device's signal of 12 needs the host's 11 */
    VkSemaphoreTypeCreateInfo stci2 = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO, .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE };
    VkSemaphoreCreateInfo sci2 = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &stci2 };
    VkSemaphore other;
    CHECK(vkCreateSemaphore, dev, &sci2, NULL, &other);
    uint64_t waitValue = 11, signalValue = 12;
    VkTimelineSemaphoreSubmitInfo tsi = {
        .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
        .waitSemaphoreValueCount = 1, .pWaitSemaphoreValues = &waitValue,
        .signalSemaphoreValueCount = 1, .pSignalSemaphoreValues = &signalValue,
    };
    VkPipelineStageFlags allStages = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    VkSubmitInfo tsubmit = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .pNext = &tsi, .waitSemaphoreCount = 1, .pWaitSemaphores = &timeline,
        .pWaitDstStageMask = &allStages, .commandBufferCount = 1, .pCommandBuffers = &cb,
        .signalSemaphoreCount = 1, .pSignalSemaphores = &timeline,
    };
    CHECK(vkResetCommandBuffer, cb, 0);
    CHECK(vkBeginCommandBuffer, cb, &begin);
    vkCmdFillBuffer(cb, buf[0], 0, size, 12);
    CHECK(vkEndCommandBuffer, cb);
    CHECK(vkQueueSubmit, queue, 1, &tsubmit, VK_NULL_HANDLE);
    struct timespec pause = { 0, 20 * 1000 * 1000 };
    nanosleep(&pause, NULL);
    CHECK(vkGetSemaphoreCounterValue, dev, timeline, &now);
    if (now != 9)
        WRONG("timeline: counter %llu while the submit still waits for 11, expected 9", (unsigned long long)now);
    ssig.value = 11;
    CHECK(vkSignalSemaphore, dev, &ssig);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        CHECK(vkGetSemaphoreCounterValue, dev, timeline, &now);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec > 20)
            WRONG("timeline: counter %llu 20 s after the host signalled 11, expected 12", (unsigned long long)now);
    } while (now < 12);
    if (now != 12)
        WRONG("timeline: counter %llu after the device signalled 12", (unsigned long long)now);
    VkSemaphore both[2] = { timeline, other };
    uint64_t bothValues[2] = { 12, 1 };
    VkSemaphoreWaitInfo anyInfo = {
        .sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO, .flags = VK_SEMAPHORE_WAIT_ANY_BIT,
        .semaphoreCount = 2, .pSemaphores = both, .pValues = bothValues,
    };
    CHECK(vkWaitSemaphores, dev, &anyInfo, 0);
    anyInfo.flags = 0;
    tr = vkWaitSemaphores(dev, &anyInfo, 1000000);
    if (tr != VK_TIMEOUT)
        WRONG("timeline: waiting for all of (12 reached, 1 not) gave %d (%s), expected VK_TIMEOUT", (int)tr, vk_result_name(tr));
    for (int i = 0; i < 100; i++) {
        CHECK(vkGetSemaphoreCounterValue, dev, timeline, &now);
        if (now != 12)
            WRONG("timeline: counter changed to %llu", (unsigned long long)now);
    }
    vkDestroySemaphore(dev, other, NULL);
    printf("sync: timeline ok\n");

    /* 3. event */
    VkEventCreateInfo eci = { .sType = VK_STRUCTURE_TYPE_EVENT_CREATE_INFO };
    VkEvent event;
    CHECK(vkCreateEvent, dev, &eci, NULL, &event);
    if (vkGetEventStatus(dev, event) != VK_EVENT_RESET)
        WRONG("event: a new event is not reset");
    CHECK(vkResetCommandBuffer, cb, 0);
    CHECK(vkBeginCommandBuffer, cb, &begin);
    VkDependencyInfo none = { .sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO };
    vkCmdSetEvent2(cb, event, &none);
    CHECK(vkEndCommandBuffer, cb);
    if (submit(fence, VK_NULL_HANDLE, 0))
        return 1;
    CHECK(vkWaitForFences, dev, 1, &fence, VK_TRUE, UINT64_MAX);
    CHECK(vkResetFences, dev, 1, &fence);
    if (vkGetEventStatus(dev, event) != VK_EVENT_SET)
        WRONG("event: not set by vkCmdSetEvent2");
    CHECK(vkResetEvent, dev, event);
    if (vkGetEventStatus(dev, event) != VK_EVENT_RESET)
        WRONG("event: not reset by vkResetEvent");
    CHECK(vkSetEvent, dev, event);
    if (vkGetEventStatus(dev, event) != VK_EVENT_SET)
        WRONG("event: not set by vkSetEvent");
    /* device resets and sets through the Vulkan 1.0 and synchronization2 commands */
    CHECK(vkResetCommandBuffer, cb, 0);
    CHECK(vkBeginCommandBuffer, cb, &begin);
    vkCmdResetEvent(cb, event, VK_PIPELINE_STAGE_TRANSFER_BIT);
    CHECK(vkEndCommandBuffer, cb);
    if (submit(fence, VK_NULL_HANDLE, 0))
        return 1;
    CHECK(vkWaitForFences, dev, 1, &fence, VK_TRUE, UINT64_MAX);
    CHECK(vkResetFences, dev, 1, &fence);
    if (vkGetEventStatus(dev, event) != VK_EVENT_RESET)
        WRONG("event: not reset by vkCmdResetEvent");
    CHECK(vkResetCommandBuffer, cb, 0);
    CHECK(vkBeginCommandBuffer, cb, &begin);
    vkCmdFillBuffer(cb, buf[0], 0, size, 4);
    vkCmdSetEvent(cb, event, VK_PIPELINE_STAGE_TRANSFER_BIT);
    CHECK(vkEndCommandBuffer, cb);
    if (submit(VK_NULL_HANDLE, VK_NULL_HANDLE, 0))
        return 1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    VkResult es;
    while ((es = vkGetEventStatus(dev, event)) == VK_EVENT_RESET) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec > 20)
            WRONG("event: vkCmdSetEvent not seen within 20 s of polling");
    }
    if (es != VK_EVENT_SET)
        WRONG("event: vkGetEventStatus gave %d (%s)", (int)es, vk_result_name(es));
    CHECK(vkQueueWaitIdle, queue);
    CHECK(vkResetCommandBuffer, cb, 0);
    CHECK(vkBeginCommandBuffer, cb, &begin);
    vkCmdResetEvent2(cb, event, VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT);
    CHECK(vkEndCommandBuffer, cb);
    if (submit(fence, VK_NULL_HANDLE, 0))
        return 1;
    CHECK(vkWaitForFences, dev, 1, &fence, VK_TRUE, UINT64_MAX);
    CHECK(vkResetFences, dev, 1, &fence);
    for (int i = 0; i < 100; i++)
        if (vkGetEventStatus(dev, event) != VK_EVENT_RESET)
            WRONG("event: not reset by vkCmdResetEvent2 (query %d)", i);
    printf("sync: event ok\n");

    /* 4. timestamp queries */
    VkQueryPoolCreateInfo qpci = { .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO, .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = 2 };
    VkQueryPool qp;
    CHECK(vkCreateQueryPool, dev, &qpci, NULL, &qp);
    vkResetQueryPool(dev, qp, 0, 2);
    CHECK(vkResetCommandBuffer, cb, 0);
    CHECK(vkBeginCommandBuffer, cb, &begin);
    vkCmdWriteTimestamp2(cb, VK_PIPELINE_STAGE_2_TOP_OF_PIPE_BIT, qp, 0);
    vkCmdFillBuffer(cb, buf[0], 0, size, 3);
    vkCmdWriteTimestamp2(cb, VK_PIPELINE_STAGE_2_BOTTOM_OF_PIPE_BIT, qp, 1);
    CHECK(vkEndCommandBuffer, cb);
    if (submit(VK_NULL_HANDLE, VK_NULL_HANDLE, 0))
        return 1;
    uint64_t stamps[2] = { 0, 0 };
    CHECK(vkGetQueryPoolResults, dev, qp, 0, 2, sizeof stamps, stamps, sizeof stamps[0], VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (stamps[0] == 0 || stamps[1] < stamps[0])
        WRONG("query: timestamps %llu, %llu", (unsigned long long)stamps[0], (unsigned long long)stamps[1]);
    printf("sync: query ok\n");

    /* 5. idle waits */
    CHECK(vkQueueWaitIdle, queue);
    CHECK(vkDeviceWaitIdle, dev);
    printf("sync: idle ok\n");

    /* 6. fences */
    VkFenceCreateInfo sfci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, .flags = VK_FENCE_CREATE_SIGNALED_BIT };
    VkFence fs[2];
    CHECK(vkCreateFence, dev, &sfci, NULL, &fs[0]);
    CHECK(vkCreateFence, dev, &fci, NULL, &fs[1]);
    if (vkGetFenceStatus(dev, fs[0]) != VK_SUCCESS || vkGetFenceStatus(dev, fs[1]) != VK_NOT_READY)
        WRONG("fences: a new fence's status is not what its create flags say");
    VkResult fr = vkWaitForFences(dev, 2, fs, VK_TRUE, 1000000);
    if (fr != VK_TIMEOUT)
        WRONG("fences: waiting for all of a signalled and an unsignalled fence gave %d (%s), expected VK_TIMEOUT", (int)fr, vk_result_name(fr));
    CHECK(vkWaitForFences, dev, 2, fs, VK_FALSE, 0);
    CHECK(vkResetFences, dev, 2, fs);
    if (vkGetFenceStatus(dev, fs[0]) != VK_NOT_READY)
        WRONG("fences: not unsignalled after vkResetFences");
    CHECK(vkQueueSubmit, queue, 0, NULL, fs[0]);
    CHECK(vkWaitForFences, dev, 1, &fs[0], VK_TRUE, UINT64_MAX);

    VkSemaphoreCreateInfo bsci = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO };
    VkSemaphore binary;
    CHECK(vkCreateSemaphore, dev, &bsci, NULL, &binary);
    CHECK(vkResetCommandBuffer, cb, 0);
    CHECK(vkBeginCommandBuffer, cb, &begin);
    vkCmdFillBuffer(cb, buf[1], 0, size, 0x5EED0006u);
    CHECK(vkEndCommandBuffer, cb);
    VkPipelineStageFlags stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    VkSubmitInfo two[2] = {
        { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb,
          .signalSemaphoreCount = 1, .pSignalSemaphores = &binary },
        { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .waitSemaphoreCount = 1, .pWaitSemaphores = &binary, .pWaitDstStageMask = &stage },
    };
    CHECK(vkQueueSubmit, queue, 2, two, fs[1]);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    VkResult st;
    while ((st = vkGetFenceStatus(dev, fs[1])) == VK_NOT_READY) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec > 20)
            WRONG("fences: the fence of two batches was not signalled within 20 s of polling");
    }
    if (st != VK_SUCCESS)
        WRONG("fences: vkGetFenceStatus gave %d (%s)", (int)st, vk_result_name(st));
    for (uint32_t i = 0; map && i < size / 4; i++)
        if (mapped[i] != 0x5EED0006u)
            WRONG("fences: word %u is 0x%08x once the fence is set, expected 0x5eed0006", i, mapped[i]);
    for (int i = 0; i < 200; i++)
        if (vkGetFenceStatus(dev, fs[1]) != VK_SUCCESS)
            WRONG("fences: a signalled fence's status changed");

    uint32_t nfam = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &nfam, NULL);
    VkQueueFamilyProperties fam[16];
    nfam = nfam > 16 ? 16 : nfam;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &nfam, fam);
    if (fam[0].queueFlags & VK_QUEUE_SPARSE_BINDING_BIT) {
        CHECK(vkResetFences, dev, 1, &fs[0]);
        CHECK(vkQueueBindSparse, queue, 0, NULL, fs[0]);
        CHECK(vkWaitForFences, dev, 1, &fs[0], VK_TRUE, UINT64_MAX);
        if (vkGetFenceStatus(dev, fs[0]) != VK_SUCCESS)
            WRONG("fences: the fence of vkQueueBindSparse is not signalled after the wait");
        printf("sync: sparse fence ok\n");
    } else {
        printf("sync: sparse fence not run (queue family 0 has no sparse binding)\n");
    }
    vkDestroySemaphore(dev, binary, NULL);
    vkDestroyFence(dev, fs[0], NULL);
    vkDestroyFence(dev, fs[1], NULL);
    printf("sync: fences ok\n");

    vkDestroyQueryPool(dev, qp, NULL);
    vkDestroyEvent(dev, event, NULL);
    vkDestroySemaphore(dev, timeline, NULL);
    vkDestroyFence(dev, fence, NULL);
    vkDestroyCommandPool(dev, pool, NULL);
    for (int i = 0; i < 2; i++) {
        vkDestroyBuffer(dev, buf[i], NULL);
        vkFreeMemory(dev, mem[i], NULL);
    }
    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(instance, NULL);
    printf("sync: all ok\n");
    return 0;
}
