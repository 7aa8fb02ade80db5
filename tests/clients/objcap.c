/*
 * Asynchronous creation past the host's object cap (tests/Venus.GuestIcd.Tests/AsyncCreateCapTests.cs):
 *
 *   objcap N [buffer|image]
 *
 * On the first device, creates N small buffers with vkCreateBuffer (or, with "image", N small
 * 2D images with vkCreateImage, each one's requirements asked with vkGetImageMemoryRequirements; a
 * driver may create them without waiting for the host: our ICD and Mesa's venus do), stopping at
 * the first failure, then
 * calls vkDeviceWaitIdle, a call that must wait for the host and so can report what went wrong
 * with the earlier creations. Prints
 *   "objcap: created K of N, then <n> (<VK_...>)"            (or "..., all created")
 *   "objcap: vkDeviceWaitIdle -> <n> (<VK_...>) after T ms"
 * then destroys every object it holds, the device and the instance ("objcap: teardown ok"): after a
 * lost device those calls must still return. Exits 0 when vkDeviceWaitIdle returned within 5 s,
 * 1 on a usage error or a failed setup call.
 */
#define _POSIX_C_SOURCE 200809L
#include <vulkan/vulkan.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    if (argc != 2 && argc != 3)
        WRONG("usage: objcap N [buffer|image]");
    int n = atoi(argv[1]);
    if (n <= 0)
        WRONG("usage: objcap N [buffer|image] (N > 0)");
    int images = 0;
    if (argc == 3) {
        if (strcmp(argv[2], "image") == 0)
            images = 1;
        else if (strcmp(argv[2], "buffer") != 0)
            WRONG("usage: objcap N [buffer|image] (the kind is buffer or image)");
    }
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
    VkImage *imgs = calloc((size_t)n, sizeof *imgs);
    if (!bufs || !imgs)
        WRONG("out of memory");

    VkBufferCreateInfo bci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 256, .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT };
    VkResult res = VK_SUCCESS;
    int k = 0;
    VkImageCreateInfo ici = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO, .imageType = VK_IMAGE_TYPE_2D, .format = VK_FORMAT_R8G8B8A8_UNORM,
        .extent = { 16, 16, 1 }, .mipLevels = 1, .arrayLayers = 1, .samples = VK_SAMPLE_COUNT_1_BIT,
        .tiling = VK_IMAGE_TILING_OPTIMAL, .usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE, .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
    };
    VkMemoryRequirements first = { 0 };
    while (k < n) {
        if (images) {
            if ((res = vkCreateImage(dev, &ici, NULL, &imgs[k])) != VK_SUCCESS)
                break;
            VkMemoryRequirements req;
            vkGetImageMemoryRequirements(dev, imgs[k], &req);
            if (k == 0)
                first = req;
            else if (req.size != first.size || req.alignment != first.alignment || req.memoryTypeBits != first.memoryTypeBits) {
                printf("objcap: image %d has requirements %llu/%llu/0x%x, the first %llu/%llu/0x%x\n", k, (unsigned long long)req.size,
                       (unsigned long long)req.alignment, req.memoryTypeBits, (unsigned long long)first.size,
                       (unsigned long long)first.alignment, first.memoryTypeBits);
                return 1;
            }
        } else if ((res = vkCreateBuffer(dev, &bci, NULL, &bufs[k])) != VK_SUCCESS) {
            break;
        }
        k++;
    }
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

    for (int i = 0; i < k; i++) {
        if (images)
            vkDestroyImage(dev, imgs[i], NULL);
        else
            vkDestroyBuffer(dev, bufs[i], NULL);
    }
    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(instance, NULL);
    free(bufs);
    free(imgs);
    printf("objcap: teardown ok\n");
    return ms < 5000 ? 0 : 1;
}
