/*
 * A guest that destroys what its own unfinished work still uses (tests/Venus.GuestIcd.Tests,
 * InflightDestroyTests).
 *
 *   inflight SHADER.spv [LOOPS]
 *
 * Creates a compute pipeline from SHADER (inflight.comp: each of 64 Ki invocations spins LOOPS
 * rounds and writes one word). Without LOOPS it calibrates: it times fenced dispatches (the valid
 * order) with growing LOOPS until one takes at least 250 ms and scales LOOPS so that the dispatch
 * lasts about 2 s on this device, however fast it is ("inflight: calibrated N loops"). Then it
 * records one dispatch, submits it without a fence,
 * sleeps 300 ms so that it runs, and then, while it is still running, destroys the pipeline, its layout, the descriptor pool and
 * set layout, the buffer and frees the memory it writes, and the command pool. That is invalid
 * usage: a driver may crash on it (lavapipe does), so a host that serves guests must hold such
 * destruction back until the work is done. Then vkQueueWaitIdle and vkDestroyDevice.
 *
 * INFLIGHT_WAIT_FIRST=1 waits for the queue before the destruction (the valid order, for comparison).
 *
 * Prints "inflight: destroyed while busy ok" and exits 0 when every call returned; 2 when a Vulkan
 * call failed before the destruction ("inflight: <call> failed: ..."); 1 on a usage or file error.
 */
#define _POSIX_C_SOURCE 200809L
#include <vulkan/vulkan.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLIENT_NAME "inflight"
#define CLIENT_VK_FAILED 2
#include "client_util.h"

#define INVOCATIONS (64u * 1024u)

/* Records the one dispatch of LOOPS rounds into CB (its pool reset first); 0, or CLIENT_VK_FAILED. */
static int record(VkDevice dev, VkCommandPool cpool, VkCommandBuffer cb, VkPipeline pipeline, VkPipelineLayout layout,
                  VkDescriptorSet set, uint32_t loops)
{
    VkCommandBufferBeginInfo cbbi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };
    CHECK(vkResetCommandPool, dev, cpool, 0);
    CHECK(vkBeginCommandBuffer, cb, &cbbi);
    vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
    vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, NULL);
    vkCmdPushConstants(cb, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, 4, &loops);
    vkCmdDispatch(cb, INVOCATIONS / 64, 1, 1);
    CHECK(vkEndCommandBuffer, cb);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: inflight SHADER.spv [LOOPS]\n");
        return 1;
    }
    uint32_t loops = argc == 3 ? (uint32_t)strtoul(argv[2], NULL, 10) : 0u;
    if (argc == 3 && loops == 0)
        WRONG("LOOPS must be a positive number");
    size_t code_size = 0;
    uint32_t *code = read_spirv(argv[1], &code_size);
    if (!code)
        WRONG("cannot read SPIR-V from %s", argv[1]);

    VkInstance instance;
    VkPhysicalDevice pd;
    VkPhysicalDeviceProperties props;
    if (first_device("inflight", &instance, &pd, &props))
        return 2;

    uint32_t nfam = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &nfam, NULL);
    VkQueueFamilyProperties fams[16];
    if (nfam > 16)
        nfam = 16;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &nfam, fams);
    uint32_t family = UINT32_MAX;
    for (uint32_t i = 0; i < nfam && family == UINT32_MAX; i++)
        if (fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
            family = i;
    if (family == UINT32_MAX)
        WRONG("no compute queue");

    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = family, .queueCount = 1, .pQueuePriorities = &prio };
    VkDeviceCreateInfo dci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci };
    VkDevice dev;
    CHECK(vkCreateDevice, pd, &dci, NULL, &dev);
    VkQueue queue;
    vkGetDeviceQueue(dev, family, 0, &queue);

    VkDeviceSize size = INVOCATIONS * sizeof(uint32_t);
    VkBufferCreateInfo bci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size, .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT };
    VkBuffer buf;
    CHECK(vkCreateBuffer, dev, &bci, NULL, &buf);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(dev, buf, &req);
    uint32_t type = find_memory_type(pd, req.memoryTypeBits, 0);
    if (type == UINT32_MAX)
        WRONG("no memory type for the buffer");
    VkMemoryAllocateInfo mai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = type };
    VkDeviceMemory mem;
    CHECK(vkAllocateMemory, dev, &mai, NULL, &mem);
    CHECK(vkBindBufferMemory, dev, buf, mem, 0);

    VkShaderModuleCreateInfo smci = { .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = code_size, .pCode = code };
    VkShaderModule module;
    CHECK(vkCreateShaderModule, dev, &smci, NULL, &module);
    VkDescriptorSetLayoutBinding binding = { .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT };
    VkDescriptorSetLayoutCreateInfo dslci = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 1, .pBindings = &binding };
    VkDescriptorSetLayout dsl;
    CHECK(vkCreateDescriptorSetLayout, dev, &dslci, NULL, &dsl);
    VkPushConstantRange range = { .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = 4 };
    VkPipelineLayoutCreateInfo plci = { .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1, .pSetLayouts = &dsl, .pushConstantRangeCount = 1, .pPushConstantRanges = &range };
    VkPipelineLayout layout;
    CHECK(vkCreatePipelineLayout, dev, &plci, NULL, &layout);
    VkComputePipelineCreateInfo cpci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = module, .pName = "main" },
        .layout = layout,
    };
    VkPipeline pipeline;
    CHECK(vkCreateComputePipelines, dev, VK_NULL_HANDLE, 1, &cpci, NULL, &pipeline);
    vkDestroyShaderModule(dev, module, NULL);

    VkDescriptorPoolSize ps = { .type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1 };
    VkDescriptorPoolCreateInfo dpci = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 1, .poolSizeCount = 1, .pPoolSizes = &ps };
    VkDescriptorPool dpool;
    CHECK(vkCreateDescriptorPool, dev, &dpci, NULL, &dpool);
    VkDescriptorSetAllocateInfo dsai = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = dpool, .descriptorSetCount = 1, .pSetLayouts = &dsl };
    VkDescriptorSet set;
    CHECK(vkAllocateDescriptorSets, dev, &dsai, &set);
    VkDescriptorBufferInfo dbi = { .buffer = buf, .range = VK_WHOLE_SIZE };
    VkWriteDescriptorSet w = { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set, .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &dbi };
    vkUpdateDescriptorSets(dev, 1, &w, 0, NULL);

    VkCommandPoolCreateInfo cpoolci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = family };
    VkCommandPool cpool;
    CHECK(vkCreateCommandPool, dev, &cpoolci, NULL, &cpool);
    VkCommandBufferAllocateInfo cbai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = cpool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1 };
    VkCommandBuffer cb;
    CHECK(vkAllocateCommandBuffers, dev, &cbai, &cb);
    VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb };

    if (loops == 0) {
        /* Calibration, in the valid order: a fenced dispatch, waited for, timed. */
        VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
        VkFence fence;
        CHECK(vkCreateFence, dev, &fci, NULL, &fence);
        uint32_t trial = 20000u;
        double seconds = 0;
        for (;;) {
            if (record(dev, cpool, cb, pipeline, layout, set, trial))
                return CLIENT_VK_FAILED;
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            CHECK(vkQueueSubmit, queue, 1, &si, fence);
            CHECK(vkWaitForFences, dev, 1, &fence, VK_TRUE, UINT64_MAX);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            CHECK(vkResetFences, dev, 1, &fence);
            seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
            if (seconds >= 0.25 || trial >= 0x10000000u)
                break;
            trial *= 4u;
        }
        vkDestroyFence(dev, fence, NULL);
        double want = (double)trial * (2.0 / (seconds > 0.001 ? seconds : 0.001));
        loops = want > 4e9 ? 4000000000u : (uint32_t)want;
        printf("inflight: calibrated %u loops (%u took %.0f ms)\n", loops, trial, seconds * 1000);
        fflush(stdout);
    }

    if (record(dev, cpool, cb, pipeline, layout, set, loops))
        return CLIENT_VK_FAILED;

    CHECK(vkQueueSubmit, queue, 1, &si, VK_NULL_HANDLE);

    /* Let the dispatch start running on the device before pulling its objects away. */
    struct timespec pause = { .tv_sec = 0, .tv_nsec = 300 * 1000 * 1000 };
    nanosleep(&pause, NULL);
    /* INFLIGHT_WAIT_FIRST=1: the valid order (wait, then destroy), to time the dispatch alone. */
    const char *wait_first = getenv("INFLIGHT_WAIT_FIRST");
    if (wait_first && wait_first[0] == '1')
        CHECK(vkQueueWaitIdle, queue);
    /* Invalid from here on: all of it is still in use by the dispatch. */
    vkDestroyPipeline(dev, pipeline, NULL);
    vkDestroyPipelineLayout(dev, layout, NULL);
    vkDestroyDescriptorPool(dev, dpool, NULL);
    vkDestroyDescriptorSetLayout(dev, dsl, NULL);
    vkDestroyBuffer(dev, buf, NULL);
    vkFreeMemory(dev, mem, NULL);
    vkDestroyCommandPool(dev, cpool, NULL);
    printf("inflight: destroyed while busy ok\n");
    fflush(stdout);

    VkResult idle = vkQueueWaitIdle(queue);
    printf("inflight: vkQueueWaitIdle %d (%s)\n", (int)idle, vk_result_name(idle));
    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(instance, NULL);
    free(code);
    return 0;
}
