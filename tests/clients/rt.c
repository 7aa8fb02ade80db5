/*
 * Ray tracing through a driver (tests/Venus.GuestIcd.Tests RayTracingTests):
 *
 *   rt RT_QUERY.comp.spv RT.rgen.spv RT.rmiss.spv RT.rchit.spv
 *
 * A bottom-level acceleration structure of three triangles and a top-level one of two instances of
 * it (one moved and scaled, custom indices 0 and 1) are built on the device, with sizes from
 * vkGetAccelerationStructureBuildSizesKHR and geometry, instance and scratch memory named by
 * device addresses. Then one ray per pixel of a 64x48 grid goes along +z:
 *  (a) query: a compute shader with a ray query (rt_query.comp);
 *  (b) pipeline: a ray-tracing pipeline (raygen, miss, closest hit) created through a deferred
 *      operation, its group handles fetched twice (all, then one group alone, which must match),
 *      an SBT and vkCmdTraceRaysKHR.
 * Each pixel gets 0 (miss) or (instance + 1) << 24 | (primitive + 1) << 16 | round(t * 100).
 * Prints "rt: features ...", "rt: sizes ...", "rt: query hash=H hits=N", "rt: pipeline hash=H
 * hits=N" and "rt: all ok" when both images are equal and hit something; a device without the
 * four extensions prints "rt: missing EXT" and exits 2; failures print "rt: <call> failed: ..."
 * or "rt: <step> wrong: ..." and exit 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <vulkan/vulkan.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_NAME "rt"
#include "client_util.h"

enum { W = 64, H = 48 };

static VkDevice dev;
static VkQueue queue;
static VkCommandBuffer cb;
static VkFence fence;

static PFN_vkGetAccelerationStructureBuildSizesKHR pGetBuildSizes;
static PFN_vkCreateAccelerationStructureKHR pCreateAs;
static PFN_vkDestroyAccelerationStructureKHR pDestroyAs;
static PFN_vkCmdBuildAccelerationStructuresKHR pCmdBuild;
static PFN_vkGetAccelerationStructureDeviceAddressKHR pAsAddress;
static PFN_vkCreateRayTracingPipelinesKHR pCreateRtPipelines;
static PFN_vkGetRayTracingShaderGroupHandlesKHR pGroupHandles;
static PFN_vkCmdTraceRaysKHR pTraceRays;
static PFN_vkCreateDeferredOperationKHR pCreateDeferred;
static PFN_vkDestroyDeferredOperationKHR pDestroyDeferred;
static PFN_vkDeferredOperationJoinKHR pJoin;
static PFN_vkGetDeferredOperationResultKHR pDeferredResult;

static VkPhysicalDevice pd;

typedef struct {
    VkBuffer buffer;
    VkDeviceMemory memory;
    void *map;
    VkDeviceAddress address;
} Buffer;

/* A host-visible coherent buffer, mapped, with its device address when the usage asks for one. */
static int make_buffer(VkDeviceSize size, VkBufferUsageFlags usage, Buffer *b)
{
    VkBufferCreateInfo bci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size, .usage = usage };
    CHECK(vkCreateBuffer, dev, &bci, NULL, &b->buffer);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(dev, b->buffer, &req);
    VkMemoryAllocateFlagsInfo flags = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO, .flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT };
    VkMemoryAllocateInfo mai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .pNext = &flags, .allocationSize = req.size,
        .memoryTypeIndex = find_memory_type(pd, req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT),
    };
    if (mai.memoryTypeIndex == UINT32_MAX)
        WRONG("memory wrong: no host-visible coherent type");
    CHECK(vkAllocateMemory, dev, &mai, NULL, &b->memory);
    CHECK(vkBindBufferMemory, dev, b->buffer, b->memory, 0);
    CHECK(vkMapMemory, dev, b->memory, 0, VK_WHOLE_SIZE, 0, &b->map);
    memset(b->map, 0, (size_t)size);
    b->address = 0;
    if (usage & VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT) {
        VkBufferDeviceAddressInfo ai = { .sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO, .buffer = b->buffer };
        b->address = vkGetBufferDeviceAddress(dev, &ai);
        if (!b->address)
            WRONG("memory wrong: no device address");
    }
    return 0;
}

static void free_buffer(Buffer *b)
{
    vkDestroyBuffer(dev, b->buffer, NULL);
    vkFreeMemory(dev, b->memory, NULL);
}

static int submit(void)
{
    CHECK(vkEndCommandBuffer, cb);
    VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb };
    CHECK(vkQueueSubmit, queue, 1, &si, fence);
    CHECK(vkWaitForFences, dev, 1, &fence, VK_TRUE, UINT64_MAX);
    CHECK(vkResetFences, dev, 1, &fence);
    CHECK(vkResetCommandBuffer, cb, 0);
    return 0;
}

static int begin(void)
{
    VkCommandBufferBeginInfo bi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };
    CHECK(vkBeginCommandBuffer, cb, &bi);
    return 0;
}

static int shader(const char *path, VkShaderModule *module)
{
    size_t size;
    uint32_t *code = read_spirv(path, &size);
    if (!code)
        WRONG("shader wrong: cannot read %s", path);
    VkShaderModuleCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = size, .pCode = code };
    VkResult r = vkCreateShaderModule(dev, &ci, NULL, module);
    free(code);
    if (r != VK_SUCCESS)
        WRONG("vkCreateShaderModule failed: %d (%s)", (int)r, vk_result_name(r));
    return 0;
}

static uint32_t fnv(const uint32_t *v, size_t n, uint32_t *hits)
{
    uint32_t h = 2166136261u;
    *hits = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i])
            (*hits)++;
        for (int k = 0; k < 4; k++)
            h = (h ^ ((v[i] >> (8 * k)) & 0xFF)) * 16777619u;
    }
    return h;
}

/* One acceleration structure: its build info (geometry set by the caller), sizes, buffer and scratch. */
typedef struct {
    VkAccelerationStructureKHR as;
    Buffer storage, scratch;
    VkAccelerationStructureBuildSizesInfoKHR sizes;
} Accel;

static int make_accel(VkAccelerationStructureTypeKHR type, VkAccelerationStructureGeometryKHR *geometry, uint32_t primitives,
                      VkDeviceSize scratch_align, Accel *a, VkAccelerationStructureBuildGeometryInfoKHR *build)
{
    *build = (VkAccelerationStructureBuildGeometryInfoKHR){
        .sType = VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_BUILD_GEOMETRY_INFO_KHR, .type = type,
        .flags = VK_BUILD_ACCELERATION_STRUCTURE_PREFER_FAST_TRACE_BIT_KHR, .mode = VK_BUILD_ACCELERATION_STRUCTURE_MODE_BUILD_KHR,
        .geometryCount = 1, .pGeometries = geometry,
    };
    a->sizes = (VkAccelerationStructureBuildSizesInfoKHR){ .sType = VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_BUILD_SIZES_INFO_KHR };
    pGetBuildSizes(dev, VK_ACCELERATION_STRUCTURE_BUILD_TYPE_DEVICE_KHR, build, &primitives, &a->sizes);
    if (!a->sizes.accelerationStructureSize || !a->sizes.buildScratchSize)
        WRONG("sizes wrong: %llu bytes, scratch %llu", (unsigned long long)a->sizes.accelerationStructureSize,
              (unsigned long long)a->sizes.buildScratchSize);
    if (make_buffer(a->sizes.accelerationStructureSize, VK_BUFFER_USAGE_ACCELERATION_STRUCTURE_STORAGE_BIT_KHR | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT,
                    &a->storage))
        return 1;
    if (make_buffer(a->sizes.buildScratchSize + scratch_align, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT, &a->scratch))
        return 1;
    VkAccelerationStructureCreateInfoKHR ci = {
        .sType = VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_CREATE_INFO_KHR, .buffer = a->storage.buffer,
        .size = a->sizes.accelerationStructureSize, .type = type,
    };
    CHECK(pCreateAs, dev, &ci, NULL, &a->as);
    build->dstAccelerationStructure = a->as;
    build->scratchData.deviceAddress = (a->scratch.address + scratch_align - 1) & ~(scratch_align - 1);
    return 0;
}

static int build(VkAccelerationStructureBuildGeometryInfoKHR *info, uint32_t primitives)
{
    VkAccelerationStructureBuildRangeInfoKHR range = { .primitiveCount = primitives };
    const VkAccelerationStructureBuildRangeInfoKHR *ranges = &range;
    if (begin())
        return 1;
    pCmdBuild(cb, 1, info, &ranges);
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_ACCELERATION_STRUCTURE_WRITE_BIT_KHR,
        .dstAccessMask = VK_ACCESS_ACCELERATION_STRUCTURE_READ_BIT_KHR,
    };
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_ACCELERATION_STRUCTURE_BUILD_BIT_KHR,
                         VK_PIPELINE_STAGE_ACCELERATION_STRUCTURE_BUILD_BIT_KHR | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_RAY_TRACING_SHADER_BIT_KHR,
                         0, 1, &mb, 0, NULL, 0, NULL);
    return submit();
}

#define LOAD(var, name)                                         \
    do {                                                        \
        var = (void *)vkGetDeviceProcAddr(dev, name);           \
        if (!var)                                               \
            WRONG("device wrong: no entry point %s", name);     \
    } while (0)

static VkDeviceSize align_up(VkDeviceSize v, VkDeviceSize a) { return (v + a - 1) / a * a; }

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: rt RT_QUERY.comp.spv RT.rgen.spv RT.rmiss.spv RT.rchit.spv\n");
        return 2;
    }
    VkInstance instance;
    VkPhysicalDeviceProperties props;
    if (first_device("rt", &instance, &pd, &props))
        return 1;
    static const char *const exts[] = {
        "VK_KHR_acceleration_structure", "VK_KHR_deferred_host_operations", "VK_KHR_ray_query", "VK_KHR_ray_tracing_pipeline",
    };
    uint32_t n = 0;
    CHECK(vkEnumerateDeviceExtensionProperties, pd, NULL, &n, NULL);
    VkExtensionProperties *have = calloc(n ? n : 1, sizeof *have);
    CHECK(vkEnumerateDeviceExtensionProperties, pd, NULL, &n, have);
    for (size_t e = 0; e < sizeof exts / sizeof exts[0]; e++) {
        int found = 0;
        for (uint32_t i = 0; i < n; i++)
            found |= strcmp(have[i].extensionName, exts[e]) == 0;
        if (!found) {
            printf("rt: missing %s\n", exts[e]);
            return 2;
        }
    }
    free(have);

    VkPhysicalDeviceRayTracingPipelineFeaturesKHR rtpf = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_RAY_TRACING_PIPELINE_FEATURES_KHR };
    VkPhysicalDeviceRayQueryFeaturesKHR rqf = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_RAY_QUERY_FEATURES_KHR, .pNext = &rtpf };
    VkPhysicalDeviceAccelerationStructureFeaturesKHR asf = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ACCELERATION_STRUCTURE_FEATURES_KHR, .pNext = &rqf };
    VkPhysicalDeviceVulkan12Features v12 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .pNext = &asf };
    VkPhysicalDeviceFeatures2 f2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &v12 };
    vkGetPhysicalDeviceFeatures2(pd, &f2);
    printf("rt: features as=%u host-commands=%u indirect=%u rq=%u rtp=%u replay=%u trace-indirect=%u bda=%u\n", asf.accelerationStructure,
           asf.accelerationStructureHostCommands, asf.accelerationStructureIndirectBuild, rqf.rayQuery, rtpf.rayTracingPipeline,
           rtpf.rayTracingPipelineShaderGroupHandleCaptureReplay, rtpf.rayTracingPipelineTraceRaysIndirect, v12.bufferDeviceAddress);
    if (!asf.accelerationStructure || !rqf.rayQuery || !rtpf.rayTracingPipeline || !v12.bufferDeviceAddress)
        WRONG("features wrong: a required feature is off");

    VkPhysicalDeviceRayTracingPipelinePropertiesKHR rtp = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_RAY_TRACING_PIPELINE_PROPERTIES_KHR };
    VkPhysicalDeviceAccelerationStructurePropertiesKHR asp = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ACCELERATION_STRUCTURE_PROPERTIES_KHR, .pNext = &rtp };
    VkPhysicalDeviceProperties2 p2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &asp };
    vkGetPhysicalDeviceProperties2(pd, &p2);
    printf("rt: properties handle=%u handle-align=%u base-align=%u recursion=%u scratch-align=%u\n", rtp.shaderGroupHandleSize,
           rtp.shaderGroupHandleAlignment, rtp.shaderGroupBaseAlignment, rtp.maxRayRecursionDepth, asp.minAccelerationStructureScratchOffsetAlignment);

    /* Only the features the test uses: accelerationStructureHostCommands stays off. */
    VkPhysicalDeviceRayTracingPipelineFeaturesKHR en_rtp = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_RAY_TRACING_PIPELINE_FEATURES_KHR, .rayTracingPipeline = 1 };
    VkPhysicalDeviceRayQueryFeaturesKHR en_rq = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_RAY_QUERY_FEATURES_KHR, .pNext = &en_rtp, .rayQuery = 1 };
    VkPhysicalDeviceAccelerationStructureFeaturesKHR en_as = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ACCELERATION_STRUCTURE_FEATURES_KHR, .pNext = &en_rq, .accelerationStructure = 1 };
    VkPhysicalDeviceVulkan12Features en_v12 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .pNext = &en_as, .bufferDeviceAddress = 1 };
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = 0, .queueCount = 1, .pQueuePriorities = &prio };
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &en_v12, .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci,
        .enabledExtensionCount = 4, .ppEnabledExtensionNames = exts,
    };
    CHECK(vkCreateDevice, pd, &dci, NULL, &dev);
    vkGetDeviceQueue(dev, 0, 0, &queue);
    LOAD(pGetBuildSizes, "vkGetAccelerationStructureBuildSizesKHR");
    LOAD(pCreateAs, "vkCreateAccelerationStructureKHR");
    LOAD(pDestroyAs, "vkDestroyAccelerationStructureKHR");
    LOAD(pCmdBuild, "vkCmdBuildAccelerationStructuresKHR");
    LOAD(pAsAddress, "vkGetAccelerationStructureDeviceAddressKHR");
    LOAD(pCreateRtPipelines, "vkCreateRayTracingPipelinesKHR");
    LOAD(pGroupHandles, "vkGetRayTracingShaderGroupHandlesKHR");
    LOAD(pTraceRays, "vkCmdTraceRaysKHR");
    LOAD(pCreateDeferred, "vkCreateDeferredOperationKHR");
    LOAD(pDestroyDeferred, "vkDestroyDeferredOperationKHR");
    LOAD(pJoin, "vkDeferredOperationJoinKHR");
    LOAD(pDeferredResult, "vkGetDeferredOperationResultKHR");

    VkCommandPoolCreateInfo pci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT };
    VkCommandPool pool;
    CHECK(vkCreateCommandPool, dev, &pci, NULL, &pool);
    VkCommandBufferAllocateInfo cai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1 };
    CHECK(vkAllocateCommandBuffers, dev, &cai, &cb);
    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    CHECK(vkCreateFence, dev, &fci, NULL, &fence);

    /* The scene: three triangles at depths 0.5, 1.0 and 0.8 (the last two overlap). */
    static const float verts[9][3] = {
        { -0.8f, -0.8f, 0.5f }, { 0.0f, -0.8f, 0.5f }, { -0.4f, 0.0f, 0.5f },
        { 0.0f, 0.0f, 1.0f },   { 0.8f, 0.0f, 1.0f },  { 0.4f, 0.8f, 1.0f },
        { -0.6f, 0.2f, 0.8f },  { 0.2f, 0.2f, 0.8f },  { -0.2f, 0.9f, 0.8f },
    };
    const VkBufferUsageFlags input = VK_BUFFER_USAGE_ACCELERATION_STRUCTURE_BUILD_INPUT_READ_ONLY_BIT_KHR | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT;
    Buffer vb, ib, out, sbt;
    if (make_buffer(sizeof verts, input, &vb))
        return 1;
    memcpy(vb.map, verts, sizeof verts);
    VkDeviceSize scratch_align = asp.minAccelerationStructureScratchOffsetAlignment ? asp.minAccelerationStructureScratchOffsetAlignment : 1;

    VkAccelerationStructureGeometryKHR tri = {
        .sType = VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_GEOMETRY_KHR, .geometryType = VK_GEOMETRY_TYPE_TRIANGLES_KHR,
        .flags = VK_GEOMETRY_OPAQUE_BIT_KHR,
        .geometry.triangles = {
            .sType = VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_GEOMETRY_TRIANGLES_DATA_KHR, .vertexFormat = VK_FORMAT_R32G32B32_SFLOAT,
            .vertexData.deviceAddress = vb.address, .vertexStride = sizeof verts[0], .maxVertex = 8, .indexType = VK_INDEX_TYPE_NONE_KHR,
        },
    };
    Accel blas, tlas;
    VkAccelerationStructureBuildGeometryInfoKHR blas_build, tlas_build;
    if (make_accel(VK_ACCELERATION_STRUCTURE_TYPE_BOTTOM_LEVEL_KHR, &tri, 3, scratch_align, &blas, &blas_build) || build(&blas_build, 3))
        return 1;
    VkAccelerationStructureDeviceAddressInfoKHR bai = { .sType = VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_DEVICE_ADDRESS_INFO_KHR, .accelerationStructure = blas.as };
    VkDeviceAddress blas_address = pAsAddress(dev, &bai);
    if (!blas_address)
        WRONG("blas wrong: no device address");

    VkAccelerationStructureInstanceKHR inst[2] = {
        { .transform = { .matrix = { { 1, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, 0, 1, 0 } } }, .instanceCustomIndex = 0, .mask = 0xFF,
          .flags = VK_GEOMETRY_INSTANCE_TRIANGLE_FACING_CULL_DISABLE_BIT_KHR, .accelerationStructureReference = blas_address },
        { .transform = { .matrix = { { 0.5f, 0, 0, 0.3f }, { 0, 0.5f, 0, -0.5f }, { 0, 0, 1, -0.4f } } }, .instanceCustomIndex = 1, .mask = 0xFF,
          .flags = VK_GEOMETRY_INSTANCE_TRIANGLE_FACING_CULL_DISABLE_BIT_KHR, .accelerationStructureReference = blas_address },
    };
    if (make_buffer(sizeof inst, input, &ib))
        return 1;
    memcpy(ib.map, inst, sizeof inst);
    VkAccelerationStructureGeometryKHR instances = {
        .sType = VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_GEOMETRY_KHR, .geometryType = VK_GEOMETRY_TYPE_INSTANCES_KHR,
        .flags = VK_GEOMETRY_OPAQUE_BIT_KHR,
        .geometry.instances = { .sType = VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_GEOMETRY_INSTANCES_DATA_KHR, .data.deviceAddress = ib.address },
    };
    if (make_accel(VK_ACCELERATION_STRUCTURE_TYPE_TOP_LEVEL_KHR, &instances, 2, scratch_align, &tlas, &tlas_build) || build(&tlas_build, 2))
        return 1;
    printf("rt: sizes blas=%llu/%llu tlas=%llu/%llu\n", (unsigned long long)blas.sizes.accelerationStructureSize,
           (unsigned long long)blas.sizes.buildScratchSize, (unsigned long long)tlas.sizes.accelerationStructureSize,
           (unsigned long long)tlas.sizes.buildScratchSize);

    if (make_buffer((VkDeviceSize)W * H * 4, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, &out))
        return 1;
    VkDescriptorSetLayoutBinding bindings[2] = {
        { .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_ACCELERATION_STRUCTURE_KHR, .descriptorCount = 1,
          .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT | VK_SHADER_STAGE_RAYGEN_BIT_KHR },
        { .binding = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1,
          .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT | VK_SHADER_STAGE_RAYGEN_BIT_KHR },
    };
    VkDescriptorSetLayoutCreateInfo dsl = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 2, .pBindings = bindings };
    VkDescriptorSetLayout set_layout;
    CHECK(vkCreateDescriptorSetLayout, dev, &dsl, NULL, &set_layout);
    VkPushConstantRange pcr = { VK_SHADER_STAGE_COMPUTE_BIT, 0, 8 };
    VkPipelineLayoutCreateInfo plci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1, .pSetLayouts = &set_layout,
        .pushConstantRangeCount = 1, .pPushConstantRanges = &pcr,
    };
    VkPipelineLayout layout;
    CHECK(vkCreatePipelineLayout, dev, &plci, NULL, &layout);
    VkDescriptorPoolSize sizes[2] = { { VK_DESCRIPTOR_TYPE_ACCELERATION_STRUCTURE_KHR, 1 }, { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1 } };
    VkDescriptorPoolCreateInfo dpci = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 1, .poolSizeCount = 2, .pPoolSizes = sizes };
    VkDescriptorPool dpool;
    CHECK(vkCreateDescriptorPool, dev, &dpci, NULL, &dpool);
    VkDescriptorSetAllocateInfo dsai = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = dpool, .descriptorSetCount = 1, .pSetLayouts = &set_layout };
    VkDescriptorSet set;
    CHECK(vkAllocateDescriptorSets, dev, &dsai, &set);
    VkWriteDescriptorSetAccelerationStructureKHR was = {
        .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET_ACCELERATION_STRUCTURE_KHR, .accelerationStructureCount = 1, .pAccelerationStructures = &tlas.as,
    };
    VkDescriptorBufferInfo obi = { out.buffer, 0, VK_WHOLE_SIZE };
    VkWriteDescriptorSet writes[2] = {
        { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .pNext = &was, .dstSet = set, .dstBinding = 0, .descriptorCount = 1,
          .descriptorType = VK_DESCRIPTOR_TYPE_ACCELERATION_STRUCTURE_KHR },
        { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set, .dstBinding = 1, .descriptorCount = 1,
          .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &obi },
    };
    vkUpdateDescriptorSets(dev, 2, writes, 0, NULL);

    /* (a) ray query from a compute shader */
    VkShaderModule query_module;
    if (shader(argv[1], &query_module))
        return 1;
    VkComputePipelineCreateInfo cpci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = query_module, .pName = "main" },
        .layout = layout,
    };
    VkPipeline query_pipeline;
    CHECK(vkCreateComputePipelines, dev, VK_NULL_HANDLE, 1, &cpci, NULL, &query_pipeline);
    if (begin())
        return 1;
    uint32_t size[2] = { W, H };
    vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, query_pipeline);
    vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, NULL);
    vkCmdPushConstants(cb, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof size, size);
    vkCmdDispatch(cb, W / 8, H / 8, 1);
    if (submit())
        return 1;
    uint32_t *query = malloc(W * H * 4);
    memcpy(query, out.map, W * H * 4);
    uint32_t query_hits, query_hash = fnv(query, W * H, &query_hits);
    printf("rt: query hash=%08x hits=%u\n", query_hash, query_hits);

    /* (b) a ray-tracing pipeline, created through a deferred operation */
    VkShaderModule modules[3];
    for (int i = 0; i < 3; i++)
        if (shader(argv[2 + i], &modules[i]))
            return 1;
    VkPipelineShaderStageCreateInfo stages[3] = {
        { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_RAYGEN_BIT_KHR, .module = modules[0], .pName = "main" },
        { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_MISS_BIT_KHR, .module = modules[1], .pName = "main" },
        { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_CLOSEST_HIT_BIT_KHR, .module = modules[2], .pName = "main" },
    };
    VkRayTracingShaderGroupCreateInfoKHR groups[3];
    for (int i = 0; i < 3; i++)
        groups[i] = (VkRayTracingShaderGroupCreateInfoKHR){
            .sType = VK_STRUCTURE_TYPE_RAY_TRACING_SHADER_GROUP_CREATE_INFO_KHR,
            .type = i == 2 ? VK_RAY_TRACING_SHADER_GROUP_TYPE_TRIANGLES_HIT_GROUP_KHR : VK_RAY_TRACING_SHADER_GROUP_TYPE_GENERAL_KHR,
            .generalShader = i == 2 ? VK_SHADER_UNUSED_KHR : (uint32_t)i, .closestHitShader = i == 2 ? 2 : VK_SHADER_UNUSED_KHR,
            .anyHitShader = VK_SHADER_UNUSED_KHR, .intersectionShader = VK_SHADER_UNUSED_KHR,
        };
    VkRayTracingPipelineCreateInfoKHR rtci = {
        .sType = VK_STRUCTURE_TYPE_RAY_TRACING_PIPELINE_CREATE_INFO_KHR, .stageCount = 3, .pStages = stages,
        .groupCount = 3, .pGroups = groups, .maxPipelineRayRecursionDepth = 1, .layout = layout,
    };
    VkDeferredOperationKHR op;
    CHECK(pCreateDeferred, dev, NULL, &op);
    VkPipeline rt_pipeline = VK_NULL_HANDLE;
    VkResult cr = pCreateRtPipelines(dev, op, VK_NULL_HANDLE, 1, &rtci, NULL, &rt_pipeline);
    if (cr == VK_OPERATION_DEFERRED_KHR) {
        VkResult j;
        while ((j = pJoin(dev, op)) == VK_THREAD_IDLE_KHR)
            ;
        if (j != VK_SUCCESS && j != VK_THREAD_DONE_KHR)
            WRONG("deferred wrong: join returned %d (%s)", (int)j, vk_result_name(j));
        while ((cr = pDeferredResult(dev, op)) == VK_NOT_READY)
            ;
    } else if (cr == VK_OPERATION_NOT_DEFERRED_KHR) {
        cr = pDeferredResult(dev, op);
    }
    if (cr != VK_SUCCESS || !rt_pipeline)
        WRONG("deferred wrong: vkCreateRayTracingPipelinesKHR gave %d (%s)", (int)cr, vk_result_name(cr));
    pDestroyDeferred(dev, op, NULL);
    printf("rt: deferred ok\n");

    uint32_t hs = rtp.shaderGroupHandleSize;
    uint8_t *handles = malloc(3 * hs), *one = malloc(hs);
    CHECK(pGroupHandles, dev, rt_pipeline, 0, 3, 3 * hs, handles);
    CHECK(pGroupHandles, dev, rt_pipeline, 1, 1, hs, one);
    if (memcmp(one, handles + hs, hs) != 0)
        WRONG("handles wrong: group 1 alone differs from group 1 of all");
    printf("rt: handles ok\n");

    VkDeviceSize stride = align_up(hs, rtp.shaderGroupHandleAlignment), region = align_up(stride, rtp.shaderGroupBaseAlignment);
    if (make_buffer(3 * region + rtp.shaderGroupBaseAlignment, VK_BUFFER_USAGE_SHADER_BINDING_TABLE_BIT_KHR | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT, &sbt))
        return 1;
    VkDeviceAddress base = align_up(sbt.address, rtp.shaderGroupBaseAlignment);
    for (int i = 0; i < 3; i++)
        memcpy((uint8_t *)sbt.map + (base - sbt.address) + i * region, handles + i * hs, hs);
    VkStridedDeviceAddressRegionKHR raygen = { base, region, region }, miss = { base + region, stride, stride },
                                    hit = { base + 2 * region, stride, stride }, callable = { 0, 0, 0 };
    memset(out.map, 0xEE, W * H * 4);
    if (begin())
        return 1;
    vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_RAY_TRACING_KHR, rt_pipeline);
    vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_RAY_TRACING_KHR, layout, 0, 1, &set, 0, NULL);
    pTraceRays(cb, &raygen, &miss, &hit, &callable, W, H, 1);
    if (submit())
        return 1;
    uint32_t *traced = out.map;
    uint32_t traced_hits, traced_hash = fnv(traced, W * H, &traced_hits);
    printf("rt: pipeline hash=%08x hits=%u\n", traced_hash, traced_hits);
    if (query_hits == 0 || query_hits == W * H)
        WRONG("query wrong: %u of %u pixels hit", query_hits, W * H);
    for (int i = 0; i < W * H; i++)
        if (query[i] != traced[i])
            WRONG("pipeline wrong: pixel %d is %08x by ray query, %08x by the pipeline", i, query[i], traced[i]);

    vkDestroyPipeline(dev, rt_pipeline, NULL);
    vkDestroyPipeline(dev, query_pipeline, NULL);
    for (int i = 0; i < 3; i++)
        vkDestroyShaderModule(dev, modules[i], NULL);
    vkDestroyShaderModule(dev, query_module, NULL);
    vkDestroyDescriptorPool(dev, dpool, NULL);
    vkDestroyPipelineLayout(dev, layout, NULL);
    vkDestroyDescriptorSetLayout(dev, set_layout, NULL);
    pDestroyAs(dev, tlas.as, NULL);
    pDestroyAs(dev, blas.as, NULL);
    Buffer *all[] = { &vb, &ib, &out, &sbt, &blas.storage, &blas.scratch, &tlas.storage, &tlas.scratch };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free_buffer(all[i]);
    vkDestroyFence(dev, fence, NULL);
    vkDestroyCommandPool(dev, pool, NULL);
    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(instance, NULL);
    free(query);
    free(handles);
    free(one);
    printf("rt: all ok\n");
    return 0;
}
