/*
 * Query results through a driver, checked step by step (tests/Venus.GuestIcd.Tests/QueryTests.cs):
 *
 *   queries SHADER.spv        (tests/clients/compute.comp compiled)
 *
 * Our ICD answers vkGetQueryPoolResults from feedback slots the host fills through commands added
 * to the app's command buffers (where the host shares memory), from the host elsewhere; both must
 * give what the native driver gives. Needs hostQueryReset and pipelineStatisticsQuery. On queue
 * family 0:
 *  1. timestamp: a pool of 4 reset from the host reads unavailable (64-bit with availability,
 *     VK_NOT_READY); vkCmdWriteTimestamp (query 0) and vkCmdWriteTimestamp2 (query 1) in a submit;
 *     after its fence, WAIT + 64-bit gives two non-zero ordered stamps, and queries 0..3 read
 *     available 1 1 0 0 (64-bit and 32-bit, each with availability, VK_NOT_READY);
 *  2. cmdreset: vkCmdResetQueryPool of all four, then a timestamp into query 2: available 0 0 1 0;
 *  3. hostreset: vkResetQueryPool of query 2: all four unavailable again;
 *  4. occlusion: a pool of 2, query 0 begun and ended with no draw: 0 samples with WAIT (32-bit);
 *     0..1 with availability and PARTIAL: VK_SUCCESS (VK_NOT_READY is only for calls that write
 *     nothing for unavailable queries: neither WAIT nor PARTIAL), query 0 available with 0, query 1 not;
 *  5. stats: pipeline statistics (vertex and compute shader invocations) around a 3-workgroup
 *     dispatch of the 64-wide shader: 0 and 192, read 64-bit with availability and 32-bit plain;
 *  6. stride: results 32 bytes apart leave the bytes between them untouched;
 *  7. wait: a timestamp submitted and read at once with WAIT (the driver waits, not the app);
 *  8. reuse: one command buffer (no one-time flag) submitted again after a host reset writes a later
 *     stamp into the same query, three times.
 * Prints "queries: value <what> <numbers>" for every deterministic result (the tests compare these
 * lines between drivers), "queries: <step> ok" per step and "queries: all ok"; on failure
 * "queries: <call> failed: <n> (<name>)" or "queries: <step> wrong: ..." and exits 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <vulkan/vulkan.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_NAME "queries"
#include "client_util.h"

static VkDevice dev;
static VkQueue queue;
static VkFence fence;

static int run(VkCommandBuffer cb, int wait)
{
    VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb };
    CHECK(vkQueueSubmit, queue, 1, &si, fence);
    if (wait) {
        CHECK(vkWaitForFences, dev, 1, &fence, VK_TRUE, UINT64_MAX);
        CHECK(vkResetFences, dev, 1, &fence);
    }
    return 0;
}

/* Queries 0..3 of a timestamp pool with availability, 64-bit and 32-bit: the four availabilities into avail. */
static int availability(VkQueryPool pool, uint32_t first, uint32_t count, uint64_t *avail, VkResult *r64, VkResult *r32)
{
    uint64_t w[8][2];
    uint32_t n[8][2];
    memset(w, 0x5a, sizeof w);
    memset(n, 0x5a, sizeof n);
    *r64 = vkGetQueryPoolResults(dev, pool, first, count, sizeof w, w, sizeof w[0], VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WITH_AVAILABILITY_BIT);
    *r32 = vkGetQueryPoolResults(dev, pool, first, count, sizeof n, n, sizeof n[0], VK_QUERY_RESULT_WITH_AVAILABILITY_BIT);
    for (uint32_t i = 0; i < count; i++) {
        if ((w[i][1] != 0) != (n[i][1] != 0))
            return 1;
        avail[i] = w[i][1] != 0;
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2)
        WRONG("usage: queries SHADER.spv");
    size_t spv_size = 0;
    uint32_t *spv = read_spirv(argv[1], &spv_size);
    if (!spv)
        WRONG("cannot read SPIR-V from %s", argv[1]);
    VkInstance instance;
    VkPhysicalDevice pd;
    VkPhysicalDeviceProperties props;
    if (first_device("venus-queries", &instance, &pd, &props))
        return 1;
    if (props.apiVersion < VK_API_VERSION_1_2)
        WRONG("device api %u.%u is below 1.2", VK_API_VERSION_MAJOR(props.apiVersion), VK_API_VERSION_MINOR(props.apiVersion));
    VkPhysicalDeviceVulkan12Features f12 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES };
    VkPhysicalDeviceFeatures2 f2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f12 };
    vkGetPhysicalDeviceFeatures2(pd, &f2);
    if (!f12.hostQueryReset || !f2.features.pipelineStatisticsQuery)
        WRONG("features missing: hostQueryReset=%u pipelineStatisticsQuery=%u", f12.hostQueryReset, f2.features.pipelineStatisticsQuery);
    VkQueueFamilyProperties qfp[8];
    uint32_t nqf = 8;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &nqf, qfp);
    if (nqf == 0 || !(qfp[0].queueFlags & VK_QUEUE_GRAPHICS_BIT) || !(qfp[0].queueFlags & VK_QUEUE_COMPUTE_BIT) || qfp[0].timestampValidBits == 0)
        WRONG("queue family 0 lacks graphics, compute or timestamps");

    VkPhysicalDeviceVulkan12Features e12 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .hostQueryReset = VK_TRUE };
    VkPhysicalDeviceSynchronization2Features s2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SYNCHRONIZATION_2_FEATURES, .pNext = &e12, .synchronization2 = VK_TRUE };
    VkPhysicalDeviceFeatures enabled = { .pipelineStatisticsQuery = VK_TRUE };
    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = 0, .queueCount = 1, .pQueuePriorities = &priority };
    const char *sync2_ext = "VK_KHR_synchronization2";
    int core13 = props.apiVersion >= VK_API_VERSION_1_3;
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &s2, .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci,
        .pEnabledFeatures = &enabled, .enabledExtensionCount = core13 ? 0 : 1, .ppEnabledExtensionNames = core13 ? NULL : &sync2_ext,
    };
    CHECK(vkCreateDevice, pd, &dci, NULL, &dev);
    vkGetDeviceQueue(dev, 0, 0, &queue);
    PFN_vkCmdWriteTimestamp2 write2 = (PFN_vkCmdWriteTimestamp2)vkGetDeviceProcAddr(dev, core13 ? "vkCmdWriteTimestamp2" : "vkCmdWriteTimestamp2KHR");
    if (!write2)
        WRONG("no vkCmdWriteTimestamp2");

    VkCommandPoolCreateInfo cpci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT };
    VkCommandPool cpool;
    CHECK(vkCreateCommandPool, dev, &cpci, NULL, &cpool);
    VkCommandBufferAllocateInfo cai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = cpool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 2 };
    VkCommandBuffer cbs[2];
    CHECK(vkAllocateCommandBuffers, dev, &cai, cbs);
    VkCommandBuffer cb = cbs[0], again = cbs[1];
    VkCommandBufferBeginInfo once = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };
    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    CHECK(vkCreateFence, dev, &fci, NULL, &fence);

    /* 1. timestamps */
    VkQueryPoolCreateInfo tci = { .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO, .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = 4 };
    VkQueryPool ts;
    CHECK(vkCreateQueryPool, dev, &tci, NULL, &ts);
    vkResetQueryPool(dev, ts, 0, 4);
    uint64_t av[4];
    VkResult r64, r32;
    if (availability(ts, 0, 4, av, &r64, &r32))
        WRONG("timestamp wrong: 64-bit and 32-bit availability differ after the host reset");
    printf("queries: value timestamp-reset %s %s avail %llu %llu %llu %llu\n", vk_result_name(r64), vk_result_name(r32),
           (unsigned long long)av[0], (unsigned long long)av[1], (unsigned long long)av[2], (unsigned long long)av[3]);
    if (r64 != VK_NOT_READY || av[0] | av[1] | av[2] | av[3])
        WRONG("timestamp wrong: a reset pool reads %s with availability %llu %llu %llu %llu", vk_result_name(r64),
              (unsigned long long)av[0], (unsigned long long)av[1], (unsigned long long)av[2], (unsigned long long)av[3]);
    CHECK(vkBeginCommandBuffer, cb, &once);
    vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, ts, 0);
    write2(cb, VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT, ts, 1);
    CHECK(vkEndCommandBuffer, cb);
    if (run(cb, 1))
        return 1;
    uint64_t stamps[2] = { 0, 0 };
    CHECK(vkGetQueryPoolResults, dev, ts, 0, 2, sizeof stamps, stamps, sizeof stamps[0], VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (stamps[0] == 0 || stamps[1] < stamps[0])
        WRONG("timestamp wrong: stamps %llu, %llu", (unsigned long long)stamps[0], (unsigned long long)stamps[1]);
    if (availability(ts, 0, 4, av, &r64, &r32))
        WRONG("timestamp wrong: 64-bit and 32-bit availability differ");
    printf("queries: value timestamp-written %s %s avail %llu %llu %llu %llu\n", vk_result_name(r64), vk_result_name(r32),
           (unsigned long long)av[0], (unsigned long long)av[1], (unsigned long long)av[2], (unsigned long long)av[3]);
    if (r64 != VK_NOT_READY || r32 != VK_NOT_READY || !av[0] || !av[1] || av[2] || av[3])
        WRONG("timestamp wrong: after two writes %s/%s with availability %llu %llu %llu %llu", vk_result_name(r64), vk_result_name(r32),
              (unsigned long long)av[0], (unsigned long long)av[1], (unsigned long long)av[2], (unsigned long long)av[3]);
    printf("queries: timestamp ok\n");

    /* 2. reset from a command buffer */
    CHECK(vkBeginCommandBuffer, cb, &once);
    vkCmdResetQueryPool(cb, ts, 0, 4);
    vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, ts, 2);
    CHECK(vkEndCommandBuffer, cb);
    if (run(cb, 1))
        return 1;
    if (availability(ts, 0, 4, av, &r64, &r32))
        WRONG("cmdreset wrong: 64-bit and 32-bit availability differ");
    printf("queries: value cmdreset %s %s avail %llu %llu %llu %llu\n", vk_result_name(r64), vk_result_name(r32),
           (unsigned long long)av[0], (unsigned long long)av[1], (unsigned long long)av[2], (unsigned long long)av[3]);
    if (r64 != VK_NOT_READY || av[0] || av[1] || !av[2] || av[3])
        WRONG("cmdreset wrong: availability %llu %llu %llu %llu", (unsigned long long)av[0], (unsigned long long)av[1],
              (unsigned long long)av[2], (unsigned long long)av[3]);
    printf("queries: cmdreset ok\n");

    /* 3. host reset of a written query */
    vkResetQueryPool(dev, ts, 2, 1);
    if (availability(ts, 0, 4, av, &r64, &r32))
        WRONG("hostreset wrong: 64-bit and 32-bit availability differ");
    printf("queries: value hostreset %s %s avail %llu %llu %llu %llu\n", vk_result_name(r64), vk_result_name(r32),
           (unsigned long long)av[0], (unsigned long long)av[1], (unsigned long long)av[2], (unsigned long long)av[3]);
    if (r64 != VK_NOT_READY || av[0] | av[1] | av[2] | av[3])
        WRONG("hostreset wrong: availability %llu %llu %llu %llu", (unsigned long long)av[0], (unsigned long long)av[1],
              (unsigned long long)av[2], (unsigned long long)av[3]);
    printf("queries: hostreset ok\n");

    /* 4. occlusion, no draw */
    VkQueryPoolCreateInfo oci = { .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO, .queryType = VK_QUERY_TYPE_OCCLUSION, .queryCount = 2 };
    VkQueryPool occ;
    CHECK(vkCreateQueryPool, dev, &oci, NULL, &occ);
    CHECK(vkBeginCommandBuffer, cb, &once);
    vkCmdResetQueryPool(cb, occ, 0, 2);
    vkCmdBeginQuery(cb, occ, 0, 0);
    vkCmdEndQuery(cb, occ, 0);
    CHECK(vkEndCommandBuffer, cb);
    if (run(cb, 1))
        return 1;
    uint32_t samples = 77;
    CHECK(vkGetQueryPoolResults, dev, occ, 0, 1, sizeof samples, &samples, sizeof samples, VK_QUERY_RESULT_WAIT_BIT);
    uint32_t op[2][2];
    memset(op, 0x5a, sizeof op);
    VkResult ro = vkGetQueryPoolResults(dev, occ, 0, 2, sizeof op, op, sizeof op[0], VK_QUERY_RESULT_WITH_AVAILABILITY_BIT | VK_QUERY_RESULT_PARTIAL_BIT);
    printf("queries: value occlusion %u partial %s q0 %u avail %u q1-avail %u\n", samples, vk_result_name(ro), op[0][0], op[0][1] != 0, op[1][1] != 0);
    if (samples != 0 || ro != VK_SUCCESS || op[0][0] != 0 || op[0][1] == 0 || op[1][1] != 0)
        WRONG("occlusion wrong: %u samples; partial read %s: %u/%u, %u/%u", samples, vk_result_name(ro), op[0][0], op[0][1], op[1][0], op[1][1]);
    printf("queries: occlusion ok\n");

    /* 5. pipeline statistics around a dispatch */
    VkBufferCreateInfo bci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 1024, .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT };
    VkBuffer buf;
    CHECK(vkCreateBuffer, dev, &bci, NULL, &buf);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(dev, buf, &req);
    uint32_t type = find_memory_type(pd, req.memoryTypeBits, 0);
    VkMemoryAllocateInfo mai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = type };
    VkDeviceMemory mem;
    CHECK(vkAllocateMemory, dev, &mai, NULL, &mem);
    CHECK(vkBindBufferMemory, dev, buf, mem, 0);
    VkShaderModuleCreateInfo smci = { .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = spv_size, .pCode = spv };
    VkShaderModule shader;
    CHECK(vkCreateShaderModule, dev, &smci, NULL, &shader);
    VkDescriptorSetLayoutBinding bindings[2] = {
        { .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT },
        { .binding = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT },
    };
    VkDescriptorSetLayoutCreateInfo dslci = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 2, .pBindings = bindings };
    VkDescriptorSetLayout dsl;
    CHECK(vkCreateDescriptorSetLayout, dev, &dslci, NULL, &dsl);
    VkPushConstantRange pcr = { .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = 4 };
    VkPipelineLayoutCreateInfo plci = { .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1, .pSetLayouts = &dsl,
        .pushConstantRangeCount = 1, .pPushConstantRanges = &pcr };
    VkPipelineLayout layout;
    CHECK(vkCreatePipelineLayout, dev, &plci, NULL, &layout);
    VkComputePipelineCreateInfo cpi = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = shader, .pName = "main" },
        .layout = layout,
    };
    VkPipeline pipeline;
    CHECK(vkCreateComputePipelines, dev, VK_NULL_HANDLE, 1, &cpi, NULL, &pipeline);
    VkDescriptorPoolSize dps = { .type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 2 };
    VkDescriptorPoolCreateInfo dpci = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 1, .poolSizeCount = 1, .pPoolSizes = &dps };
    VkDescriptorPool dpool;
    CHECK(vkCreateDescriptorPool, dev, &dpci, NULL, &dpool);
    VkDescriptorSetAllocateInfo dsai = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = dpool, .descriptorSetCount = 1, .pSetLayouts = &dsl };
    VkDescriptorSet set;
    CHECK(vkAllocateDescriptorSets, dev, &dsai, &set);
    VkDescriptorBufferInfo dbi[2] = { { .buffer = buf, .offset = 0, .range = 512 }, { .buffer = buf, .offset = 512, .range = 512 } };
    VkWriteDescriptorSet wds[2];
    for (int i = 0; i < 2; i++)
        wds[i] = (VkWriteDescriptorSet){ .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set, .dstBinding = (uint32_t)i,
            .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &dbi[i] };
    vkUpdateDescriptorSets(dev, 2, wds, 0, NULL);
    VkQueryPoolCreateInfo sci = { .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO, .queryType = VK_QUERY_TYPE_PIPELINE_STATISTICS, .queryCount = 1,
        .pipelineStatistics = VK_QUERY_PIPELINE_STATISTIC_VERTEX_SHADER_INVOCATIONS_BIT | VK_QUERY_PIPELINE_STATISTIC_COMPUTE_SHADER_INVOCATIONS_BIT };
    VkQueryPool stats;
    CHECK(vkCreateQueryPool, dev, &sci, NULL, &stats);
    CHECK(vkBeginCommandBuffer, cb, &once);
    vkCmdResetQueryPool(cb, stats, 0, 1);
    vkCmdBeginQuery(cb, stats, 0, 0);
    vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
    vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, NULL);
    uint32_t zero = 0; /* n = 0: every invocation runs, none touches memory */
    vkCmdPushConstants(cb, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, 4, &zero);
    vkCmdDispatch(cb, 3, 1, 1);
    vkCmdEndQuery(cb, stats, 0);
    CHECK(vkEndCommandBuffer, cb);
    if (run(cb, 1))
        return 1;
    uint64_t s64[3] = { 9, 9, 9 };
    CHECK(vkGetQueryPoolResults, dev, stats, 0, 1, sizeof s64, s64, sizeof s64, VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT | VK_QUERY_RESULT_WITH_AVAILABILITY_BIT);
    uint32_t s32[2] = { 9, 9 };
    CHECK(vkGetQueryPoolResults, dev, stats, 0, 1, sizeof s32, s32, sizeof s32, 0);
    printf("queries: value stats vs %llu cs %llu avail %llu; 32-bit vs %u cs %u\n", (unsigned long long)s64[0], (unsigned long long)s64[1],
           (unsigned long long)(s64[2] != 0), s32[0], s32[1]);
    if (s64[0] != 0 || s64[1] != 192 || s64[2] == 0 || s32[0] != 0 || s32[1] != 192)
        WRONG("stats wrong: vs %llu cs %llu avail %llu; 32-bit %u %u", (unsigned long long)s64[0], (unsigned long long)s64[1],
              (unsigned long long)s64[2], s32[0], s32[1]);
    printf("queries: stats ok\n");

    /* 6. stride: the bytes between results stay as they were */
    vkResetQueryPool(dev, ts, 0, 4);
    CHECK(vkBeginCommandBuffer, cb, &once);
    for (uint32_t q = 0; q < 4; q++)
        vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, ts, q);
    CHECK(vkEndCommandBuffer, cb);
    if (run(cb, 1))
        return 1;
    unsigned char wide[4 * 32];
    memset(wide, 0xab, sizeof wide);
    CHECK(vkGetQueryPoolResults, dev, ts, 0, 4, 3 * 32 + 16, wide, 32, VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WITH_AVAILABILITY_BIT);
    int untouched = 1, ordered = 1;
    uint64_t prev = 0;
    for (int q = 0; q < 4; q++) {
        uint64_t v, a;
        memcpy(&v, wide + q * 32, 8);
        memcpy(&a, wide + q * 32 + 8, 8);
        ordered &= v != 0 && v >= prev && a != 0;
        prev = v;
        for (int b = 16; b < 32; b++)
            untouched &= wide[q * 32 + b] == 0xab;
    }
    printf("queries: value stride untouched %d ordered %d\n", untouched, ordered);
    if (!untouched || !ordered)
        WRONG("stride wrong: untouched %d ordered %d", untouched, ordered);
    printf("queries: stride ok\n");

    /* 7. WAIT_BIT does the waiting */
    vkResetQueryPool(dev, ts, 3, 1);
    CHECK(vkBeginCommandBuffer, cb, &once);
    vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, ts, 3);
    CHECK(vkEndCommandBuffer, cb);
    if (run(cb, 0))
        return 1;
    uint64_t late[2] = { 0, 0 };
    CHECK(vkGetQueryPoolResults, dev, ts, 3, 1, sizeof late, late, sizeof late, VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT | VK_QUERY_RESULT_WITH_AVAILABILITY_BIT);
    CHECK(vkWaitForFences, dev, 1, &fence, VK_TRUE, UINT64_MAX);
    CHECK(vkResetFences, dev, 1, &fence);
    printf("queries: value wait avail %llu\n", (unsigned long long)(late[1] != 0));
    if (late[0] == 0 || late[1] == 0)
        WRONG("wait wrong: %llu avail %llu", (unsigned long long)late[0], (unsigned long long)late[1]);
    printf("queries: wait ok\n");

    /* 8. one command buffer submitted again after host resets */
    VkCommandBufferBeginInfo reusable = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
    CHECK(vkBeginCommandBuffer, again, &reusable);
    vkCmdWriteTimestamp(again, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, ts, 0);
    CHECK(vkEndCommandBuffer, again);
    uint64_t last = 0;
    for (int i = 0; i < 3; i++) {
        vkResetQueryPool(dev, ts, 0, 1);
        uint64_t before[2] = { 1, 1 };
        VkResult rb = vkGetQueryPoolResults(dev, ts, 0, 1, sizeof before, before, sizeof before, VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WITH_AVAILABILITY_BIT);
        if (rb != VK_NOT_READY || before[1] != 0)
            WRONG("reuse wrong: round %d: after the reset %s, availability %llu", i, vk_result_name(rb), (unsigned long long)before[1]);
        if (run(again, 1))
            return 1;
        uint64_t now[2] = { 0, 0 };
        CHECK(vkGetQueryPoolResults, dev, ts, 0, 1, sizeof now, now, sizeof now, VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WITH_AVAILABILITY_BIT);
        if (now[1] == 0 || now[0] <= last)
            WRONG("reuse wrong: round %d: stamp %llu after %llu, availability %llu", i, (unsigned long long)now[0], (unsigned long long)last, (unsigned long long)now[1]);
        last = now[0];
    }
    printf("queries: value reuse rounds 3\n");
    printf("queries: reuse ok\n");

    CHECK(vkDeviceWaitIdle, dev);
    vkDestroyQueryPool(dev, stats, NULL);
    vkDestroyQueryPool(dev, occ, NULL);
    vkDestroyQueryPool(dev, ts, NULL);
    vkDestroyPipeline(dev, pipeline, NULL);
    vkDestroyDescriptorPool(dev, dpool, NULL);
    vkDestroyPipelineLayout(dev, layout, NULL);
    vkDestroyDescriptorSetLayout(dev, dsl, NULL);
    vkDestroyShaderModule(dev, shader, NULL);
    vkDestroyBuffer(dev, buf, NULL);
    vkFreeMemory(dev, mem, NULL);
    vkDestroyFence(dev, fence, NULL);
    vkFreeCommandBuffers(dev, cpool, 2, cbs);
    vkDestroyCommandPool(dev, cpool, NULL);
    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(instance, NULL);
    free(spv);
    printf("queries: all ok\n");
    return 0;
}
