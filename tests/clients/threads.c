/*
 * Calls from several app threads at once (tests/Venus.GuestIcd.Tests/ThreadRingTests.cs). Our ICD
 * lets several threads' calls wait for the host at once on the instance's ring, and sends slow calls
 * (pipeline creation) through call rings of their own; a call must still see every object the
 * thread, or a thread it heard from, created before it.
 *
 *   threads [THREADS [ROUNDS [SHADER.spv [unmapped]]]]   (default 4 threads, 200 rounds; SHADER is compute.comp)
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
 *
 * With SHADER, every 10th round is also a hand-over between threads: each thread creates a shader
 * module, a descriptor set layout and a pipeline layout (all sent without a reply) and posts them to
 * the next thread, then takes the ones the previous thread posted and at once creates a compute
 * pipeline of them (a slow call: a call ring in our ICD, which must wait until the host has run the
 * other thread's creations) and allocates a descriptor set of the layout (a call on the instance's
 * ring), runs the pipeline on 1000 + round values of its own (out[i] = in[i] * 3 + 7) and checks
 * every result. With "unmapped" the memory is never mapped and the results go unchecked (our ICD
 * on virglrenderer 1.1.0: its server drops a client whose vkMapMemory it cannot export). Prints
 * "threads: <k> hand-overs, <m> dispatches checked" or "... unchecked (not mapped)".
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
static uint32_t *spirv;
static size_t spirv_size;
static uint32_t host_type = UINT32_MAX;
static int nthreads = 4;
static int unmapped; /* "unmapped": never map memory (our ICD on virglrenderer 1.1.0, whose server drops a client that tries) */

/* What one thread hands the next: objects it created (without a reply) for the other to use at once. */
struct parcel {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int round; /* the round posted, -1 when empty */
    VkShaderModule module;
    VkDescriptorSetLayout dsl;
    VkPipelineLayout layout;
};
static struct parcel parcels[16];
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static int handovers, dispatches_checked, dispatches_unchecked;
static volatile int aborted; /* a thread failed: nobody waits for a parcel any more */

static void abort_hand_overs(void)
{
    aborted = 1;
    for (int t = 0; t < 16; t++) {
        pthread_mutex_lock(&parcels[t].lock);
        pthread_cond_broadcast(&parcels[t].cond);
        pthread_mutex_unlock(&parcels[t].lock);
    }
}

struct worker {
    int index;
    char error[256];
};

#define FAIL(...)                                                   \
    do {                                                            \
        snprintf(w->error, sizeof w->error, __VA_ARGS__);           \
        abort_hand_overs();                                         \
        return NULL;                                                \
    } while (0)
#define VKW(name, ...)                                                                              \
    do {                                                                                            \
        VkResult r_ = name(__VA_ARGS__);                                                            \
        if (r_ != VK_SUCCESS)                                                                       \
            FAIL("thread %d round %d: %s failed: %d (%s)", w->index, round, #name, (int)r_, vk_result_name(r_)); \
    } while (0)

/* One hand-over round of thread w (see the top of the file); 0 or an error in w->error. */
static int hand_over(struct worker *w, int round, VkCommandBuffer cb, VkFence fence)
{
    VkShaderModuleCreateInfo smci = { .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = spirv_size, .pCode = spirv };
    VkDescriptorSetLayoutBinding bs[2] = {
        { .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT },
        { .binding = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT },
    };
    VkDescriptorSetLayoutCreateInfo dslci = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 2, .pBindings = bs };
    VkPushConstantRange pcr = { .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = 4 };
    struct parcel *out = &parcels[(w->index + 1) % nthreads], *in = &parcels[w->index];
    VkShaderModule module;
    VkDescriptorSetLayout dsl;
    VkPipelineLayout layout;
#define HV(name, ...)                                                                                         \
    do {                                                                                                      \
        VkResult r_ = name(__VA_ARGS__);                                                                      \
        if (r_ != VK_SUCCESS) {                                                                               \
            snprintf(w->error, sizeof w->error, "thread %d round %d: %s failed: %d (%s)", w->index, round, #name, (int)r_, vk_result_name(r_)); \
            return 1;                                                                                         \
        }                                                                                                     \
    } while (0)
    HV(vkCreateShaderModule, dev, &smci, NULL, &module);
    HV(vkCreateDescriptorSetLayout, dev, &dslci, NULL, &dsl);
    VkPipelineLayoutCreateInfo plci = { .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1, .pSetLayouts = &dsl,
        .pushConstantRangeCount = 1, .pPushConstantRanges = &pcr };
    HV(vkCreatePipelineLayout, dev, &plci, NULL, &layout);
    pthread_mutex_lock(&out->lock);
    while (out->round >= 0 && !aborted) /* the next thread has not taken the last one yet */
        pthread_cond_wait(&out->cond, &out->lock);
    out->round = round;
    out->module = module;
    out->dsl = dsl;
    out->layout = layout;
    pthread_cond_broadcast(&out->cond);
    pthread_mutex_unlock(&out->lock);

    pthread_mutex_lock(&in->lock);
    while (in->round < 0 && !aborted)
        pthread_cond_wait(&in->cond, &in->lock);
    if (aborted) {
        pthread_mutex_unlock(&in->lock);
        snprintf(w->error, sizeof w->error, "thread %d round %d: another thread failed", w->index, round);
        return 1;
    }
    if (in->round != round) {
        int got = in->round;
        pthread_mutex_unlock(&in->lock);
        snprintf(w->error, sizeof w->error, "thread %d round %d: was handed round %d", w->index, round, got);
        return 1;
    }
    module = in->module;
    dsl = in->dsl;
    layout = in->layout;
    in->round = -1;
    pthread_cond_broadcast(&in->cond);
    pthread_mutex_unlock(&in->lock);

    /* Straight away, the other thread's objects in calls of this one. */
    VkComputePipelineCreateInfo cpci = { .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = module, .pName = "main" },
        .layout = layout };
    VkPipeline pipeline;
    HV(vkCreateComputePipelines, dev, VK_NULL_HANDLE, 1, &cpci, NULL, &pipeline);
    VkDescriptorPoolSize ps = { .type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 2 };
    VkDescriptorPoolCreateInfo dpci = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 1, .poolSizeCount = 1, .pPoolSizes = &ps };
    VkDescriptorPool dpool;
    HV(vkCreateDescriptorPool, dev, &dpci, NULL, &dpool);
    VkDescriptorSetAllocateInfo dsai = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = dpool, .descriptorSetCount = 1, .pSetLayouts = &dsl };
    VkDescriptorSet set;
    HV(vkAllocateDescriptorSets, dev, &dsai, &set);

    uint32_t n = 1000 + (uint32_t)round;
    uint32_t o = (n + 63) & ~63u; /* the output's first element: offset 256-byte aligned (minStorageBufferOffsetAlignment) */
    VkBufferCreateInfo bci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = (VkDeviceSize)(o + n) * 4, .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT };
    VkBuffer buf;
    HV(vkCreateBuffer, dev, &bci, NULL, &buf);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(dev, buf, &req);
    VkMemoryAllocateInfo mai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = host_type };
    VkDeviceMemory mem;
    HV(vkAllocateMemory, dev, &mai, NULL, &mem);
    HV(vkBindBufferMemory, dev, buf, mem, 0);
    uint32_t *data = NULL;
    if (!unmapped)
        HV(vkMapMemory, dev, mem, 0, VK_WHOLE_SIZE, 0, (void **)&data);
    uint32_t seed = (uint32_t)w->index * 1000003u + (uint32_t)round * 7919u;
    if (data)
        for (uint32_t i = 0; i < n; i++) {
            data[i] = seed + i;
            data[o + i] = 0xdeadbeefu;
        }
    VkDescriptorBufferInfo dbi[2] = { { .buffer = buf, .offset = 0, .range = (VkDeviceSize)n * 4 },
                                      { .buffer = buf, .offset = (VkDeviceSize)o * 4, .range = (VkDeviceSize)n * 4 } };
    VkWriteDescriptorSet wr[2];
    for (int k = 0; k < 2; k++)
        wr[k] = (VkWriteDescriptorSet){ .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set, .dstBinding = (uint32_t)k,
            .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &dbi[k] };
    vkUpdateDescriptorSets(dev, 2, wr, 0, NULL);
    HV(vkResetFences, dev, 1, &fence);
    VkCommandBufferBeginInfo begin = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };
    HV(vkBeginCommandBuffer, cb, &begin);
    vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
    vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, NULL);
    vkCmdPushConstants(cb, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, 4, &n);
    vkCmdDispatch(cb, (n + 63) / 64, 1, 1);
    VkMemoryBarrier mb = { .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT, .dstAccessMask = VK_ACCESS_HOST_READ_BIT };
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    HV(vkEndCommandBuffer, cb);
    VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb };
    pthread_mutex_lock(&queue_lock);
    VkResult sr = vkQueueSubmit(queue, 1, &si, fence);
    pthread_mutex_unlock(&queue_lock);
    if (sr != VK_SUCCESS) {
        snprintf(w->error, sizeof w->error, "thread %d round %d: vkQueueSubmit failed: %d (%s)", w->index, round, (int)sr, vk_result_name(sr));
        return 1;
    }
    HV(vkWaitForFences, dev, 1, &fence, VK_TRUE, UINT64_MAX);
    if (data)
        for (uint32_t i = 0; i < n; i++)
            if (data[o + i] != (seed + i) * 3u + 7u) {
                snprintf(w->error, sizeof w->error, "thread %d round %d: out[%u] = 0x%08x after the dispatch, expected 0x%08x",
                         w->index, round, i, data[o + i], (seed + i) * 3u + 7u);
                return 1;
            }
    vkDestroyBuffer(dev, buf, NULL);
    vkFreeMemory(dev, mem, NULL);
    vkDestroyDescriptorPool(dev, dpool, NULL);
    vkDestroyPipeline(dev, pipeline, NULL);
    vkDestroyPipelineLayout(dev, layout, NULL);
    vkDestroyDescriptorSetLayout(dev, dsl, NULL);
    vkDestroyShaderModule(dev, module, NULL);
#undef HV
    pthread_mutex_lock(&count_lock);
    handovers++;
    if (data)
        dispatches_checked++;
    else
        dispatches_unchecked++;
    pthread_mutex_unlock(&count_lock);
    return 0;
}

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
        if (spirv && round % 10 == 5 && hand_over(w, round, cb, fence)) {
            abort_hand_overs();
            return NULL;
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
    nthreads = argc > 1 ? atoi(argv[1]) : 4;
    if (argc > 2)
        rounds = atoi(argv[2]);
    if (nthreads < 1 || nthreads > 16 || rounds < 1)
        WRONG("usage: threads [THREADS (1..16) [ROUNDS [SHADER.spv [unmapped]]]]");
    if (argc > 3 && !(spirv = read_spirv(argv[3], &spirv_size)))
        WRONG("cannot read SPIR-V from %s", argv[3]);
    unmapped = argc > 4 && !strcmp(argv[4], "unmapped");
    for (int t = 0; t < 16; t++) {
        pthread_mutex_init(&parcels[t].lock, NULL);
        pthread_cond_init(&parcels[t].cond, NULL);
        parcels[t].round = -1;
    }
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
    VkBufferCreateInfo sbci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 4096, .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT };
    VkBuffer probe;
    CHECK(vkCreateBuffer, dev, &sbci, NULL, &probe);
    vkGetBufferMemoryRequirements(dev, probe, &req);
    vkDestroyBuffer(dev, probe, NULL);
    host_type = find_memory_type(pd, req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    if (spirv && host_type == UINT32_MAX)
        WRONG("no host-visible coherent memory type for storage buffers");

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
    if (spirv) {
        if (handovers != nthreads * ((rounds + 4) / 10))
            WRONG("%d hand-overs, expected %d", handovers, nthreads * ((rounds + 4) / 10));
        if (dispatches_unchecked)
            printf("threads: %d hand-overs, %d dispatches unchecked (not mapped)\n", handovers, dispatches_unchecked);
        else
            printf("threads: %d hand-overs, %d dispatches checked\n", handovers, dispatches_checked);
    }
    CHECK(vkDeviceWaitIdle, dev);
    vkDestroyImage(dev, image, NULL);
    vkDestroyBuffer(dev, target, NULL);
    vkFreeMemory(dev, mem, NULL);
    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(instance, NULL);
    printf("threads: all ok\n");
    return 0;
}
