/*
 * Asynchronous creation past the host's object cap (tests/Venus.GuestIcd.Tests/AsyncCreateCapTests.cs):
 *
 *   objcap N
 *
 * On the first device, creates N small buffers with vkCreateBuffer (a driver may create them
 * without waiting for the host: our ICD and Mesa's venus do), stopping at the first failure, then
 * calls vkDeviceWaitIdle, a call that must wait for the host and so can report what went wrong
 * with the earlier creations. Prints
 *   "objcap: created K of N, then <n> (<VK_...>)"            (or "..., all created")
 *   "objcap: vkDeviceWaitIdle -> <n> (<VK_...>) after T ms"
 * then destroys every buffer it holds, the device and the instance ("objcap: teardown ok"): after a
 * lost device those calls must still return. Exits 0 when vkDeviceWaitIdle returned within 5 s,
 * 1 on a usage error or a failed setup call.
 */
#define _POSIX_C_SOURCE 200809L
#include <vulkan/vulkan.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CLIENT_NAME "objcap"
#include "client_util.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        WRONG("usage: objcap N");
    int n = atoi(argv[1]);
    if (n <= 0)
        WRONG("usage: objcap N (N > 0)");
    VkInstance instance;
    VkPhysicalDevice pd;
    VkPhysicalDeviceProperties props;
    if (first_device("objcap", &instance, &pd, &props))
        return 1;
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = 0, .queueCount = 1, .pQueuePriorities = &prio };
    VkDeviceCreateInfo dci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci };
    VkDevice dev;
    CHECK(vkCreateDevice, pd, &dci, NULL, &dev);
    VkBuffer *bufs = calloc((size_t)n, sizeof *bufs);
    if (!bufs)
        WRONG("out of memory");

    VkBufferCreateInfo bci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 256, .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT };
    VkResult res = VK_SUCCESS;
    int k = 0;
    while (k < n && (res = vkCreateBuffer(dev, &bci, NULL, &bufs[k])) == VK_SUCCESS)
        k++;
    if (k == n)
        printf("objcap: created %d of %d, all created\n", k, n);
    else
        printf("objcap: created %d of %d, then %d (%s)\n", k, n, (int)res, vk_result_name(res));
    fflush(stdout);

    double t0 = now_ms();
    VkResult wr = vkDeviceWaitIdle(dev);
    double ms = now_ms() - t0;
    printf("objcap: vkDeviceWaitIdle -> %d (%s) after %.0f ms\n", (int)wr, vk_result_name(wr), ms);
    fflush(stdout);

    for (int i = 0; i < k; i++)
        vkDestroyBuffer(dev, bufs[i], NULL);
    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(instance, NULL);
    free(bufs);
    printf("objcap: teardown ok\n");
    return ms < 5000 ? 0 : 1;
}
