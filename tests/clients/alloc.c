/*
 * Device memory until the driver refuses, twice (tests/Venus.GuestIcd.Tests/MemoryCapTests.cs):
 *
 *   alloc MIB MAX
 *
 * On the first device, allocates MIB MiB blocks of memory type 0 until vkAllocateMemory fails or
 * MAX blocks are held, frees them all, and does it again. Prints per round
 * "alloc: round R: N blocks of MIB MiB, then <n> (<VK_...>)" (or "..., never refused" at MAX), then
 * binds a buffer to one fresh block, fills it on the queue and reads it back (the device still
 * works after a refusal), and "alloc: all ok" when both rounds held the same number of blocks.
 * Exits 1 when a round was never refused, the rounds differ, or a call fails.
 */
#define _POSIX_C_SOURCE 200809L
#include <vulkan/vulkan.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CLIENT_NAME "alloc"
#include "client_util.h"

static VkDevice dev;

static int round_of(int r, uint32_t type, VkDeviceSize size, int max, VkDeviceMemory *mems, int *held)
{
    VkMemoryAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = size, .memoryTypeIndex = type };
    VkResult res = VK_SUCCESS;
    int n = 0;
    while (n < max && (res = vkAllocateMemory(dev, &ai, NULL, &mems[n])) == VK_SUCCESS)
        n++;
    if (n == max)
        printf("alloc: round %d: %d blocks of %llu MiB, never refused\n", r, n, (unsigned long long)(size >> 20));
    else
        printf("alloc: round %d: %d blocks of %llu MiB, then %d (%s)\n", r, n, (unsigned long long)(size >> 20), (int)res, vk_result_name(res));
    for (int i = 0; i < n; i++)
        vkFreeMemory(dev, mems[i], NULL);
    *held = n;
    return n == max;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        WRONG("usage: alloc MIB MAX");
    VkDeviceSize size = (VkDeviceSize)strtoull(argv[1], NULL, 10) << 20;
    int max = atoi(argv[2]);
    if (size == 0 || max <= 0)
        WRONG("usage: alloc MIB MAX (both > 0)");
    VkInstance instance;
    VkPhysicalDevice pd;
    VkPhysicalDeviceProperties props;
    if (first_device("alloc", &instance, &pd, &props))
        return 1;
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = 0, .queueCount = 1, .pQueuePriorities = &prio };
    VkDeviceCreateInfo dci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci };
    CHECK(vkCreateDevice, pd, &dci, NULL, &dev);
    VkDeviceMemory *mems = calloc((size_t)max, sizeof *mems);
    if (!mems)
        WRONG("out of memory");
    int first, second;
    if (round_of(1, 0, size, max, mems, &first) | round_of(2, 0, size, max, mems, &second))
        return 1;
    if (first != second)
        WRONG("round 1 held %d blocks, round 2 %d", first, second);

    /* The device still works: a buffer in a fresh block, filled on the queue and read back. */
    VkBufferCreateInfo bci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 4096, .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT };
    VkBuffer buf;
    CHECK(vkCreateBuffer, dev, &bci, NULL, &buf);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(dev, buf, &req);
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    uint32_t type = UINT32_MAX;
    for (uint32_t i = 0; i < mp.memoryTypeCount && type == UINT32_MAX; i++)
        if ((req.memoryTypeBits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
            type = i;
    if (type == UINT32_MAX)
        WRONG("no host-visible memory type for the buffer");
    VkMemoryAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = type };
    VkDeviceMemory mem;
    CHECK(vkAllocateMemory, dev, &ai, NULL, &mem);
    CHECK(vkBindBufferMemory, dev, buf, mem, 0);
    VkCommandPoolCreateInfo pci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = 0 };
    VkCommandPool pool;
    CHECK(vkCreateCommandPool, dev, &pci, NULL, &pool);
    VkCommandBufferAllocateInfo cai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1 };
    VkCommandBuffer cb;
    CHECK(vkAllocateCommandBuffers, dev, &cai, &cb);
    VkCommandBufferBeginInfo cbi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
    CHECK(vkBeginCommandBuffer, cb, &cbi);
    vkCmdFillBuffer(cb, buf, 0, 4096, 0x5a5aa5a5u);
    VkMemoryBarrier mb = { .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT, .dstAccessMask = VK_ACCESS_HOST_READ_BIT };
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    CHECK(vkEndCommandBuffer, cb);
    VkQueue queue;
    vkGetDeviceQueue(dev, 0, 0, &queue);
    VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb };
    CHECK(vkQueueSubmit, queue, 1, &si, VK_NULL_HANDLE);
    CHECK(vkQueueWaitIdle, queue);
    uint32_t *p;
    CHECK(vkMapMemory, dev, mem, 0, VK_WHOLE_SIZE, 0, (void **)&p);
    if ((mp.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) == 0) {
        VkMappedMemoryRange range = { .sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, .memory = mem, .size = VK_WHOLE_SIZE };
        CHECK(vkInvalidateMappedMemoryRanges, dev, 1, &range);
    }
    for (int i = 0; i < 1024; i++)
        if (p[i] != 0x5a5aa5a5u)
            WRONG("word %d after the fill is 0x%08x", i, p[i]);
    printf("alloc: fill after the refusals ok\n");
    vkUnmapMemory(dev, mem);
    vkDestroyCommandPool(dev, pool, NULL);
    vkDestroyBuffer(dev, buf, NULL);
    vkFreeMemory(dev, mem, NULL);
    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(instance, NULL);
    free(mems);
    printf("alloc: all ok\n");
    return 0;
}
