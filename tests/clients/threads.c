/*
 * Calls from several app threads at once (tests/Venus.GuestIcd.Tests/ThreadRingTests.cs). Our ICD
 * gives each thread its own ring for calls with a reply, while everything sent without one stays
 * on the instance's ring; a call must still see every object the thread created before it.
 *
 *   threads [THREADS [ROUNDS]]     (default 4 threads, 200 rounds)
 *
 * Each thread, per round: creates a descriptor set layout (sent without a reply by our ICD and
 * Mesa's) and at once allocates a set of it from its own pool (a call with a reply, which needs
 * that layout on the host), frees it, destroys the layout; asks vkGetDescriptorSetLayoutSupport
 * (a round trip) with a count that varies per round and checks the answer; creates a signalled
 * fence, checks vkGetFenceStatus, destroys it; every 20th round records a vkCmdFillBuffer into its
 * own command buffer and submits it (the one queue is taken under a mutex), waits, and checks
 * vkGetFenceStatus again. The main thread meanwhile asks vkGetImageSubresourceLayout of a linear
 * image and compares it with the first answer. Prints "threads: <n> threads x <rounds> rounds ok"
 * and "threads: all ok"; on failure "threads: ... failed ..." and exits 1.
 */
/* link: -lpthread */
#define _POSIX_C_SOURCE 200809L
#include <vulkan/vulkan.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_NAME "threads"
#include "client_util.h"

static VkDevice dev;
static VkQueue queue;
static VkBuffer target;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static int rounds = 200;
static volatile int stop_main;

struct worker {
    int index;
    char error[256];
};

#define FAIL(...)                                                   \
    do {                                                            \
        snprintf(w->error, sizeof w->error, __VA_ARGS__);           \
        return NULL;                                                \
    } while (0)
#define VKW(name, ...)                                                                              \
    do {                                                                                            \
        VkResult r_ = name(__VA_ARGS__);                                                            \
        if (r_ != VK_SUCCESS)                                                                       \
            FAIL("thread %d round %d: %s failed: %d (%s)", w->index, round, #name, (int)r_, vk_result_name(r_)); \
    } while (0)

static void *work(void *arg)
{
    struct worker *w = arg;
    int round = -1;
    VkDescriptorPoolSize ps = { .type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 64 };
    VkDescriptorPoolCreateInfo dpci = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT, .maxSets = 1, .poolSizeCount = 1, .pPoolSizes = &ps };
    VkDescriptorPool pool;
    VKW(vkCreateDescriptorPool, dev, &dpci, NULL, &pool);
    VkCommandPoolCreateInfo cpci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT };
    VkCommandPool cpool;
    VKW(vkCreateCommandPool, dev, &cpci, NULL, &cpool);
    VkCommandBufferAllocateInfo cai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = cpool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1 };
    VkCommandBuffer cb;
    VKW(vkAllocateCommandBuffers, dev, &cai, &cb);
    for (round = 0; round < rounds; round++) {
        uint32_t count = 1 + (uint32_t)((round * 7 + w->index) % 32);
        VkDescriptorSetLayoutBinding b = { .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = count, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT };
        VkDescriptorSetLayoutCreateInfo dslci = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 1, .pBindings = &b };
        VkDescriptorSetLayoutSupport support = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_SUPPORT };
        vkGetDescriptorSetLayoutSupport(dev, &dslci, &support);
        if (!support.supported)
            FAIL("thread %d round %d: a layout of %u storage buffers is unsupported", w->index, round, count);
        VkDescriptorSetLayout dsl;
        VKW(vkCreateDescriptorSetLayout, dev, &dslci, NULL, &dsl);
        VkDescriptorSetAllocateInfo dsai = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = pool, .descriptorSetCount = 1, .pSetLayouts = &dsl };
        VkDescriptorSet set;
        VKW(vkAllocateDescriptorSets, dev, &dsai, &set);
        VKW(vkFreeDescriptorSets, dev, pool, 1, &set);
        vkDestroyDescriptorSetLayout(dev, dsl, NULL);

        VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, .flags = VK_FENCE_CREATE_SIGNALED_BIT };
        VkFence fence;
        VKW(vkCreateFence, dev, &fci, NULL, &fence);
        VKW(vkGetFenceStatus, dev, fence);
        if (round % 20 == 0) {
            VKW(vkResetFences, dev, 1, &fence);
            VkCommandBufferBeginInfo begin = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };
            VKW(vkBeginCommandBuffer, cb, &begin);
            vkCmdFillBuffer(cb, target, (VkDeviceSize)w->index * 256, 256, (uint32_t)round);
            VKW(vkEndCommandBuffer, cb);
            VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb };
            pthread_mutex_lock(&queue_lock);
            VkResult r = vkQueueSubmit(queue, 1, &si, fence);
            pthread_mutex_unlock(&queue_lock);
            if (r != VK_SUCCESS)
                FAIL("thread %d round %d: vkQueueSubmit failed: %d (%s)", w->index, round, (int)r, vk_result_name(r));
            VKW(vkWaitForFences, dev, 1, &fence, VK_TRUE, UINT64_MAX);
            VKW(vkGetFenceStatus, dev, fence);
        }
        vkDestroyFence(dev, fence, NULL);
    }
    vkFreeCommandBuffers(dev, cpool, 1, &cb);
    vkDestroyCommandPool(dev, cpool, NULL);
    vkDestroyDescriptorPool(dev, pool, NULL);
    return NULL;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int nthreads = argc > 1 ? atoi(argv[1]) : 4;
    if (argc > 2)
        rounds = atoi(argv[2]);
    if (nthreads < 1 || nthreads > 16 || rounds < 1)
        WRONG("usage: threads [THREADS (1..16) [ROUNDS]]");
    VkInstance instance;
    VkPhysicalDevice pd;
    VkPhysicalDeviceProperties props;
    if (first_device("venus-threads", &instance, &pd, &props))
        return 1;
    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = 0, .queueCount = 1, .pQueuePriorities = &priority };
    VkDeviceCreateInfo dci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci };
    CHECK(vkCreateDevice, pd, &dci, NULL, &dev);
    vkGetDeviceQueue(dev, 0, 0, &queue);

    VkBufferCreateInfo bci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 256 * 16, .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT };
    CHECK(vkCreateBuffer, dev, &bci, NULL, &target);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(dev, target, &req);
    VkMemoryAllocateInfo mai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
        .memoryTypeIndex = find_memory_type(pd, req.memoryTypeBits, 0) };
    VkDeviceMemory mem;
    CHECK(vkAllocateMemory, dev, &mai, NULL, &mem);
    CHECK(vkBindBufferMemory, dev, target, mem, 0);

    VkImageCreateInfo ici = { .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO, .imageType = VK_IMAGE_TYPE_2D, .format = VK_FORMAT_R8G8B8A8_UNORM,
        .extent = { 37, 21, 1 }, .mipLevels = 1, .arrayLayers = 1, .samples = VK_SAMPLE_COUNT_1_BIT, .tiling = VK_IMAGE_TILING_LINEAR,
        .usage = VK_IMAGE_USAGE_TRANSFER_SRC_BIT, .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED };
    VkImage image;
    CHECK(vkCreateImage, dev, &ici, NULL, &image);
    VkImageSubresource sub = { .aspectMask = VK_IMAGE_ASPECT_COLOR_BIT };
    VkSubresourceLayout first;
    vkGetImageSubresourceLayout(dev, image, &sub, &first);

    pthread_t ids[16];
    struct worker workers[16];
    for (int t = 0; t < nthreads; t++) {
        workers[t] = (struct worker){ .index = t };
        if (pthread_create(&ids[t], NULL, work, &workers[t]) != 0)
            WRONG("pthread_create failed");
    }
    long asked = 0, differ = 0;
    for (int i = 0; i < 200 * nthreads; i++) {
        VkSubresourceLayout l;
        vkGetImageSubresourceLayout(dev, image, &sub, &l);
        differ += l.rowPitch != first.rowPitch || l.size != first.size || l.offset != first.offset;
        asked++;
    }
    int failed = 0;
    for (int t = 0; t < nthreads; t++) {
        pthread_join(ids[t], NULL);
        if (workers[t].error[0]) {
            printf("threads: %s\n", workers[t].error);
            failed = 1;
        }
    }
    if (failed)
        return 1;
    if (differ)
        WRONG("vkGetImageSubresourceLayout changed its answer %ld times of %ld", differ, asked);
    printf("threads: %d threads x %d rounds ok\n", nthreads, rounds);
    CHECK(vkDeviceWaitIdle, dev);
    vkDestroyImage(dev, image, NULL);
    vkDestroyBuffer(dev, target, NULL);
    vkFreeMemory(dev, mem, NULL);
    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(instance, NULL);
    printf("threads: all ok\n");
    return 0;
}
