/*
 * A Vulkan client that keeps a queue busy forever, for the "host killed mid-run" test
 * (tests/Venus.GuestIcd.Tests): when the host renderer dies, every call must fail promptly with
 * VK_ERROR_DEVICE_LOST instead of hanging.
 *
 *   hostkill [MAX_ITERATIONS]
 *
 * Creates an instance (apiVersion 1.1), takes physical device 0 and a queue family that can do
 * transfers, makes a 4 KiB DEVICE_LOCAL buffer (TRANSFER_DST), a command pool and one command
 * buffer holding a vkCmdFillBuffer of it, and a fence. Then loops: vkQueueSubmit with the fence,
 * vkWaitForFences(UINT64_MAX), vkResetFences. Output on stdout, one line each, flushed:
 *
 *   hostkill: device="..." api=1.3.0 queue_family=0      once set up
 *   ok N                                                  every 100 iterations (N = iterations done)
 *   fail <call> <VkResult number> at <ns> (<VkResult name>) iterations=<N>
 *                                                         the first call of the loop that failed;
 *                                                         <ns> is CLOCK_MONOTONIC in nanoseconds
 *                                                         when the call returned
 *   done N                                                MAX_ITERATIONS reached
 *
 * Exit codes: 0 MAX_ITERATIONS reached (default: loop forever); 2 set-up failed
 * ("hostkill: <call> failed: <VkResult> (<name>)"); 3 a call of the loop failed (the "fail" line).
 */
#define _POSIX_C_SOURCE 200809L
#include <vulkan/vulkan.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vk_result_name.h"

#define SETUP(name, ...)                                                                    \
    do {                                                                                    \
        VkResult r_ = name(__VA_ARGS__);                                                    \
        if (r_ != VK_SUCCESS) {                                                             \
            printf("hostkill: %s failed: %d (%s)\n", #name, (int)r_, vk_result_name(r_));  \
            fflush(stdout);                                                                 \
            exit(2);                                                                        \
        }                                                                                   \
    } while (0)

static long long monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static unsigned long long g_iterations;

/* Calls NAME(...) in the loop; a failure prints the "fail" line and exits 3. */
#define LOOP(name, ...)                                                                          \
    do {                                                                                         \
        VkResult r_ = name(__VA_ARGS__);                                                         \
        if (r_ != VK_SUCCESS) {                                                                  \
            long long at_ = monotonic_ns();                                                      \
            printf("fail %s %d at %lld (%s) iterations=%llu\n", #name, (int)r_, at_,             \
                   vk_result_name(r_), g_iterations);                                            \
            fflush(stdout);                                                                      \
            exit(3);                                                                             \
        }                                                                                        \
    } while (0)

int main(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: %s [MAX_ITERATIONS]\n", argv[0]);
        return 1;
    }
    unsigned long long max_iterations = argc > 1 ? strtoull(argv[1], NULL, 0) : 0;
    setvbuf(stdout, NULL, _IOLBF, 0);

    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "venus-hostkill",
        .applicationVersion = 1,
        .pEngineName = "none",
        .apiVersion = VK_API_VERSION_1_1,
    };
    VkInstanceCreateInfo ici = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pApplicationInfo = &app,
    };
    VkInstance instance;
    SETUP(vkCreateInstance, &ici, NULL, &instance);

    uint32_t count = 1;
    VkPhysicalDevice pd;
    VkResult er = vkEnumeratePhysicalDevices(instance, &count, &pd);
    if ((er != VK_SUCCESS && er != VK_INCOMPLETE) || count == 0) {
        printf("hostkill: vkEnumeratePhysicalDevices failed: %d (%s), %u devices\n", (int)er, vk_result_name(er), count);
        return 2;
    }
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(pd, &props);

    uint32_t qf_count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &qf_count, NULL);
    VkQueueFamilyProperties qfs[32];
    if (qf_count > 32)
        qf_count = 32;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &qf_count, qfs);
    uint32_t qf = UINT32_MAX;
    for (uint32_t i = 0; i < qf_count && qf == UINT32_MAX; i++)
        if (qfs[i].queueFlags & (VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT | VK_QUEUE_TRANSFER_BIT))
            qf = i;
    if (qf == UINT32_MAX) {
        printf("hostkill: no queue family can do transfers\n");
        return 2;
    }
    printf("hostkill: device=\"%s\" api=%u.%u.%u queue_family=%u\n", props.deviceName,
           VK_API_VERSION_MAJOR(props.apiVersion), VK_API_VERSION_MINOR(props.apiVersion),
           VK_API_VERSION_PATCH(props.apiVersion), qf);

    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = qf,
        .queueCount = 1,
        .pQueuePriorities = &priority,
    };
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
    };
    VkDevice device;
    SETUP(vkCreateDevice, pd, &dci, NULL, &device);
    VkQueue queue;
    vkGetDeviceQueue(device, qf, 0, &queue);

    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = 4096,
        .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkBuffer buffer;
    SETUP(vkCreateBuffer, device, &bci, NULL, &buffer);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(device, buffer, &req);
    VkPhysicalDeviceMemoryProperties mem_props;
    vkGetPhysicalDeviceMemoryProperties(pd, &mem_props);
    uint32_t type = UINT32_MAX;
    for (uint32_t i = 0; i < mem_props.memoryTypeCount && type == UINT32_MAX; i++)
        if ((req.memoryTypeBits & (1u << i)) &&
            (mem_props.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT))
            type = i;
    if (type == UINT32_MAX) {
        printf("hostkill: no DEVICE_LOCAL memory type in bits 0x%x\n", req.memoryTypeBits);
        return 2;
    }
    VkMemoryAllocateInfo mai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = type,
    };
    VkDeviceMemory memory;
    SETUP(vkAllocateMemory, device, &mai, NULL, &memory);
    SETUP(vkBindBufferMemory, device, buffer, memory, 0);

    VkCommandPoolCreateInfo cpci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .queueFamilyIndex = qf,
    };
    VkCommandPool pool;
    SETUP(vkCreateCommandPool, device, &cpci, NULL, &pool);
    VkCommandBufferAllocateInfo cbai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    VkCommandBuffer cmd;
    SETUP(vkAllocateCommandBuffers, device, &cbai, &cmd);
    VkCommandBufferBeginInfo cbbi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
    SETUP(vkBeginCommandBuffer, cmd, &cbbi);
    vkCmdFillBuffer(cmd, buffer, 0, VK_WHOLE_SIZE, 0x5eed5eedu);
    SETUP(vkEndCommandBuffer, cmd);

    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    VkFence fence;
    SETUP(vkCreateFence, device, &fci, NULL, &fence);

    VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &cmd,
    };
    for (;;) {
        LOOP(vkQueueSubmit, queue, 1, &si, fence);
        LOOP(vkWaitForFences, device, 1, &fence, VK_TRUE, UINT64_MAX);
        LOOP(vkResetFences, device, 1, &fence);
        g_iterations++;
        if (g_iterations % 100 == 0)
            printf("ok %llu\n", g_iterations);
        if (max_iterations && g_iterations >= max_iterations)
            break;
    }

    vkDestroyFence(device, fence, NULL);
    vkFreeCommandBuffers(device, pool, 1, &cmd);
    vkDestroyCommandPool(device, pool, NULL);
    vkDestroyBuffer(device, buffer, NULL);
    vkFreeMemory(device, memory, NULL);
    vkDestroyDevice(device, NULL);
    vkDestroyInstance(instance, NULL);
    printf("done %llu\n", g_iterations);
    return 0;
}
