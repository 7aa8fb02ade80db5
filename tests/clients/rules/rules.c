/*
 * A probe of the valid-usage rules lavapipe trusts (src/Venus.HostRenderer/Families/BoundState.cs):
 * one case per run, each a breach a hostile guest could send.
 *
 *   rules CASE SPVDIR     SPVDIR holds NAME.spv for each shader here (glslangValidator -V NAME -o NAME.spv)
 *
 * Cases: c-ok, c-push-ok, g-ok, g-vb (valid); c-noset-layout, c-set3, c-img-as-buffer, c-count,
 * g-ubo-noset (a pipeline's descriptors against its layout); c-nopipe, g-nopipe, c-unbound,
 * c-incompat (draws and dispatches against the bound state); c-push-far, c-push-huge, c-push-past,
 * c-push-block (push constants); g-frag-loc20, g-in30, g-novb, c-wrongtype, c-wrongtype-sampler,
 * c-unwritten, g-ubo-unbound; s-lower, s-pending (vkSignalSemaphore). On the peers chroot's
 * lavapipe directly, c-noset-layout, c-set3, c-img-as-buffer, c-unbound, c-nopipe, c-incompat,
 * c-push-huge, g-nopipe and g-ubo-noset die of SIGSEGV; through venus-host each ends its context
 * with one fatal line. The reproducers in fuzz/regressions/lavapipe were cut from venus-host
 * --record sessions of these cases.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define CLIENT_NAME "rules"
#include "../client_util.h"

static VkInstance inst; static VkPhysicalDevice pd; static VkPhysicalDeviceProperties props;
static VkDevice dev; static VkQueue queue; static VkCommandPool pool; static VkCommandBuffer cb;
static const char *dir;

static VkShaderModule module(const char *name)
{
    char path[512]; snprintf(path, sizeof path, "%s/%s.spv", dir, name);
    size_t size; uint32_t *code = read_spirv(path, &size);
    if (!code) { printf("rules: no %s\n", path); exit(1); }
    VkShaderModuleCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = size, .pCode = code };
    VkShaderModule m; if (vkCreateShaderModule(dev, &ci, NULL, &m)) { printf("rules: module failed\n"); exit(1); }
    return m;
}

static int setup(void)
{
    if (first_device("rules", &inst, &pd, &props)) return 1;
    float prio = 1;
    VkDeviceQueueCreateInfo q = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueCount = 1, .pQueuePriorities = &prio };
    VkPhysicalDeviceVulkan13Features f13 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES, .dynamicRendering = VK_TRUE, .synchronization2 = VK_TRUE };
    VkPhysicalDeviceVulkan12Features f12 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .pNext = &f13, .timelineSemaphore = VK_TRUE };
    VkDeviceCreateInfo dci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &f12, .queueCreateInfoCount = 1, .pQueueCreateInfos = &q };
    CHECK(vkCreateDevice, pd, &dci, NULL, &dev);
    vkGetDeviceQueue(dev, 0, 0, &queue);
    VkCommandPoolCreateInfo pci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO };
    CHECK(vkCreateCommandPool, dev, &pci, NULL, &pool);
    VkCommandBufferAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1 };
    CHECK(vkAllocateCommandBuffers, dev, &ai, &cb);
    return 0;
}

static VkBuffer buf; static VkDeviceMemory mem; static uint32_t *map;
static int make_buffer(VkBufferUsageFlags usage)
{
    VkBufferCreateInfo bi = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 65536, .usage = usage };
    CHECK(vkCreateBuffer, dev, &bi, NULL, &buf);
    VkMemoryRequirements r; vkGetBufferMemoryRequirements(dev, buf, &r);
    VkMemoryAllocateInfo mi = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = r.size,
        .memoryTypeIndex = find_memory_type(pd, r.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) };
    CHECK(vkAllocateMemory, dev, &mi, NULL, &mem);
    CHECK(vkBindBufferMemory, dev, buf, mem, 0);
    CHECK(vkMapMemory, dev, mem, 0, VK_WHOLE_SIZE, 0, (void **)&map);
    memset(map, 0, 65536);
    return 0;
}

/* A set layout of one binding (type, count, stages), a pool and a set written with buf where the type takes a buffer. */
static VkDescriptorSetLayout dsl; static VkDescriptorSet set;
static int make_set(VkDescriptorType type, uint32_t count, VkShaderStageFlags stages)
{
    VkSampler sampler = VK_NULL_HANDLE;
    VkDescriptorSetLayoutBinding b = { .binding = 0, .descriptorType = type, .descriptorCount = count, .stageFlags = stages };
    VkDescriptorSetLayoutCreateInfo li = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 1, .pBindings = &b };
    CHECK(vkCreateDescriptorSetLayout, dev, &li, NULL, &dsl);
    VkDescriptorPoolSize ps = { .type = type, .descriptorCount = count };
    VkDescriptorPoolCreateInfo pi = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 1, .poolSizeCount = 1, .pPoolSizes = &ps };
    VkDescriptorPool dp; CHECK(vkCreateDescriptorPool, dev, &pi, NULL, &dp);
    VkDescriptorSetAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = dp, .descriptorSetCount = 1, .pSetLayouts = &dsl };
    CHECK(vkAllocateDescriptorSets, dev, &ai, &set);
    VkDescriptorBufferInfo bi = { .buffer = buf, .offset = 0, .range = 256 };
    VkDescriptorImageInfo ii = { 0 };
    VkWriteDescriptorSet w = { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set, .descriptorCount = 1, .descriptorType = type, .pBufferInfo = &bi, .pImageInfo = &ii };
    if (type == VK_DESCRIPTOR_TYPE_SAMPLER) {
        VkSamplerCreateInfo si = { .sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO };
        CHECK(vkCreateSampler, dev, &si, NULL, &sampler);
        ii.sampler = sampler;
    }
    vkUpdateDescriptorSets(dev, 1, &w, 0, NULL);
    return 0;
}

static int make_set_nowrite(VkDescriptorType type)
{
    VkDescriptorSetLayoutBinding b = { .binding = 0, .descriptorType = type, .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT };
    VkDescriptorSetLayoutCreateInfo li = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 1, .pBindings = &b };
    CHECK(vkCreateDescriptorSetLayout, dev, &li, NULL, &dsl);
    VkDescriptorPoolSize ps = { .type = type, .descriptorCount = 1 };
    VkDescriptorPoolCreateInfo pi = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 1, .poolSizeCount = 1, .pPoolSizes = &ps };
    VkDescriptorPool dp; CHECK(vkCreateDescriptorPool, dev, &pi, NULL, &dp);
    VkDescriptorSetAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = dp, .descriptorSetCount = 1, .pSetLayouts = &dsl };
    CHECK(vkAllocateDescriptorSets, dev, &ai, &set);
    return 0;
}

static VkPipelineLayout layout(int sets, uint32_t pc_size, VkShaderStageFlags pc_stages)
{
    VkPushConstantRange r = { .stageFlags = pc_stages, .offset = 0, .size = pc_size };
    VkPipelineLayoutCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = (uint32_t)sets, .pSetLayouts = &dsl,
        .pushConstantRangeCount = pc_size ? 1 : 0, .pPushConstantRanges = &r };
    VkPipelineLayout l; if (vkCreatePipelineLayout(dev, &ci, NULL, &l)) exit(1);
    return l;
}

static VkPipeline compute(const char *shader, VkPipelineLayout l)
{
    VkComputePipelineCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO, .layout = l,
        .stage = { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = module(shader), .pName = "main" } };
    VkPipeline p; VkResult r = vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &ci, NULL, &p);
    printf("rules: vkCreateComputePipelines %d\n", r); fflush(stdout);
    return p;
}

static VkImage img; static VkImageView view;
static int make_target(void)
{
    VkImageCreateInfo ii = { .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO, .imageType = VK_IMAGE_TYPE_2D, .format = VK_FORMAT_R8G8B8A8_UNORM,
        .extent = { 64, 64, 1 }, .mipLevels = 1, .arrayLayers = 1, .samples = 1, .usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT };
    CHECK(vkCreateImage, dev, &ii, NULL, &img);
    VkMemoryRequirements r; vkGetImageMemoryRequirements(dev, img, &r);
    VkMemoryAllocateInfo mi = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = r.size, .memoryTypeIndex = find_memory_type(pd, r.memoryTypeBits, 0) };
    VkDeviceMemory m; CHECK(vkAllocateMemory, dev, &mi, NULL, &m);
    CHECK(vkBindImageMemory, dev, img, m, 0);
    VkImageViewCreateInfo vi = { .sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO, .image = img, .viewType = VK_IMAGE_VIEW_TYPE_2D, .format = ii.format,
        .subresourceRange = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1 } };
    CHECK(vkCreateImageView, dev, &vi, NULL, &view);
    return 0;
}

static VkPipeline graphics(const char *vs, const char *fs, VkPipelineLayout l, int vertex_input)
{
    VkPipelineShaderStageCreateInfo st[2] = {
        { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_VERTEX_BIT, .module = module(vs), .pName = "main" },
        { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_FRAGMENT_BIT, .module = module(fs), .pName = "main" } };
    VkVertexInputBindingDescription vb = { 0, 16, VK_VERTEX_INPUT_RATE_VERTEX };
    VkVertexInputAttributeDescription va = { 0, 0, VK_FORMAT_R32G32B32A32_SFLOAT, 0 };
    VkPipelineVertexInputStateCreateInfo vin = { .sType = VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO,
        .vertexBindingDescriptionCount = vertex_input, .pVertexBindingDescriptions = &vb, .vertexAttributeDescriptionCount = vertex_input, .pVertexAttributeDescriptions = &va };
    VkPipelineInputAssemblyStateCreateInfo ia = { .sType = VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO, .topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST };
    VkViewport vp = { 0, 0, 64, 64, 0, 1 }; VkRect2D sc = { { 0, 0 }, { 64, 64 } };
    VkPipelineViewportStateCreateInfo vps = { .sType = VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO, .viewportCount = 1, .pViewports = &vp, .scissorCount = 1, .pScissors = &sc };
    VkPipelineRasterizationStateCreateInfo rs = { .sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO, .lineWidth = 1 };
    VkPipelineMultisampleStateCreateInfo ms = { .sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO, .rasterizationSamples = 1 };
    VkPipelineColorBlendAttachmentState ba = { .colorWriteMask = 0xf };
    VkPipelineColorBlendStateCreateInfo cbs = { .sType = VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO, .attachmentCount = 1, .pAttachments = &ba };
    VkFormat fmt = VK_FORMAT_R8G8B8A8_UNORM;
    VkPipelineRenderingCreateInfo ri = { .sType = VK_STRUCTURE_TYPE_PIPELINE_RENDERING_CREATE_INFO, .colorAttachmentCount = 1, .pColorAttachmentFormats = &fmt };
    VkGraphicsPipelineCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO, .pNext = &ri, .stageCount = 2, .pStages = st,
        .pVertexInputState = &vin, .pInputAssemblyState = &ia, .pViewportState = &vps, .pRasterizationState = &rs, .pMultisampleState = &ms,
        .pColorBlendState = &cbs, .layout = l };
    VkPipeline p; VkResult r = vkCreateGraphicsPipelines(dev, VK_NULL_HANDLE, 1, &ci, NULL, &p);
    printf("rules: vkCreateGraphicsPipelines %d\n", r); fflush(stdout);
    return p;
}

static void begin(void)
{
    VkCommandBufferBeginInfo bi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
    vkBeginCommandBuffer(cb, &bi);
}
static void begin_rendering(void)
{
    VkRenderingAttachmentInfo ca = { .sType = VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO, .imageView = view, .imageLayout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
        .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR, .storeOp = VK_ATTACHMENT_STORE_OP_STORE };
    VkRenderingInfo ri = { .sType = VK_STRUCTURE_TYPE_RENDERING_INFO, .renderArea = { { 0, 0 }, { 64, 64 } }, .layerCount = 1, .colorAttachmentCount = 1, .pColorAttachments = &ca };
    vkCmdBeginRendering(cb, &ri);
}
static int submit(void)
{
    vkEndCommandBuffer(cb);
    VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb };
    printf("rules: submit\n"); fflush(stdout);
    CHECK(vkQueueSubmit, queue, 1, &si, VK_NULL_HANDLE);
    CHECK(vkQueueWaitIdle, queue);
    printf("rules: done, word0=%u word7=%u\n", map ? map[0] : 0, map ? map[7] : 0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    const char *c = argv[1]; dir = argv[2];
    setvbuf(stdout, NULL, _IONBF, 0);
    if (setup()) return 1;
    const VkShaderStageFlags CS = VK_SHADER_STAGE_COMPUTE_BIT, FS = VK_SHADER_STAGE_FRAGMENT_BIT;
    if (!strncmp(c, "c-", 2)) {
        if (make_buffer(VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT)) return 1;
        VkDescriptorType t = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER; uint32_t count = 1; int sets = 1; const char *sh = "c_ssbo.comp";
        int bind = 1, pipe = 1; uint32_t pc_size = 0; uint32_t push_off = 0, push_size = 0;
        if (!strcmp(c, "c-noset-layout")) sets = 0;
        else if (!strcmp(c, "c-wrongtype")) t = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER;
        else if (!strcmp(c, "c-wrongtype-sampler")) t = VK_DESCRIPTOR_TYPE_SAMPLER;
        else if (!strcmp(c, "c-count")) sh = "c_ssbo_arr.comp";
        else if (!strcmp(c, "c-set3")) sh = "c_ssbo_set3.comp";
        else if (!strcmp(c, "c-unbound")) bind = 0;
        else if (!strcmp(c, "c-nopipe")) pipe = 0;
        else if (!strcmp(c, "c-push-block")) { sh = "c_push.comp"; pc_size = 16; push_size = 16; }
        else if (!strcmp(c, "c-push-ok")) { sh = "c_push.comp"; pc_size = 256; push_size = 256; }
        else if (!strcmp(c, "c-push-far")) { sh = "c_push.comp"; pc_size = 256; push_off = 1u << 20; push_size = 256; }
        else if (!strcmp(c, "c-push-huge")) { sh = "c_push.comp"; pc_size = 256; push_off = 0x40000000; push_size = 4096; }
        else if (!strcmp(c, "c-push-past")) { sh = "c_push.comp"; pc_size = 16; push_off = 0; push_size = 256; }
        else if (!strcmp(c, "c-img-as-buffer")) sh = "c_img.comp";
        else if (!strcmp(c, "c-unwritten")) t = (VkDescriptorType)-1;
        else if (!strcmp(c, "c-incompat")) t = (VkDescriptorType)-2;
        else if (strcmp(c, "c-ok")) return 2;
        if (t == (VkDescriptorType)-1) { VkBuffer keep = buf; buf = VK_NULL_HANDLE; (void)keep; t = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER; if (make_set_nowrite(t)) return 1; }
        else if (t == (VkDescriptorType)-2) { if (make_set(VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, CS)) return 1; VkDescriptorSetLayout good = dsl; VkDescriptorSet s2 = set; (void)s2;
            VkDescriptorSetLayoutCreateInfo li = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO };
            VkDescriptorSetLayout empty; CHECK(vkCreateDescriptorSetLayout, dev, &li, NULL, &empty);
            VkDescriptorPoolSize ps = { .type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1 };
            VkDescriptorPoolCreateInfo pi = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 1, .poolSizeCount = 1, .pPoolSizes = &ps };
            VkDescriptorPool dp; CHECK(vkCreateDescriptorPool, dev, &pi, NULL, &dp);
            VkDescriptorSetAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = dp, .descriptorSetCount = 1, .pSetLayouts = &empty };
            CHECK(vkAllocateDescriptorSets, dev, &ai, &set); dsl = good; }
        else if (make_set(t, count, CS)) return 1;
        VkPipelineLayout l = layout(sets, pc_size, CS);
        VkPipeline p = pipe ? compute(sh, l) : VK_NULL_HANDLE;
        begin();
        if (pipe) vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p);
        if (bind && sets) vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, l, 0, 1, &set, 0, NULL);
        if (push_size) {
            uint32_t *data = calloc(1, push_size); for (uint32_t i = 0; i < push_size / 4; i++) data[i] = 0x41414141 + i;
            vkCmdPushConstants(cb, l, CS, push_off, push_size, data);
        }
        vkCmdDispatch(cb, 4, 1, 1);
        return submit();
    }
    if (!strncmp(c, "g-", 2)) {
        if (make_buffer(VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT)) return 1;
        if (make_target()) return 1;
        const char *vs = "v_tri.vert", *fs = "f_loc0.frag"; int vi = 0, pipe = 1, vbuf = 0, sets = 1;
        if (!strcmp(c, "g-frag-loc20")) fs = "f_loc20.frag";
        else if (!strcmp(c, "g-in30")) { vs = "v_out.vert"; fs = "f_in30.frag"; }
        else if (!strcmp(c, "g-nopipe")) pipe = 0;
        else if (!strcmp(c, "g-novb")) { vs = "v_in.vert"; vi = 1; }
        else if (!strcmp(c, "g-vb")) { vs = "v_in.vert"; vi = 1; vbuf = 1; }
        else if (!strcmp(c, "g-ubo-noset")) { fs = "f_ubo.frag"; sets = 0; }
        else if (!strcmp(c, "g-ubo-unbound")) { fs = "f_ubo.frag"; }
        else if (strcmp(c, "g-ok")) return 2;
        if (make_set(VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, 1, FS)) return 1;
        VkPipelineLayout l = layout(sets, 0, 0);
        VkPipeline p = pipe ? graphics(vs, fs, l, vi) : VK_NULL_HANDLE;
        begin();
        begin_rendering();
        if (pipe) vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_GRAPHICS, p);
        if (vbuf) { VkDeviceSize off = 0; vkCmdBindVertexBuffers(cb, 0, 1, &buf, &off); }
        vkCmdDraw(cb, 3, 1, 0, 0);
        vkCmdEndRendering(cb);
        return submit();
    }
    if (!strncmp(c, "s-", 2)) {
        VkSemaphoreTypeCreateInfo ti = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO, .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE, .initialValue = 10 };
        VkSemaphoreCreateInfo si = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &ti };
        VkSemaphore a, b; CHECK(vkCreateSemaphore, dev, &si, NULL, &a); CHECK(vkCreateSemaphore, dev, &si, NULL, &b);
        uint64_t v;
        if (!strcmp(c, "s-lower")) {
            VkSemaphoreSignalInfo sg = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO, .semaphore = a, .value = 5 };
            printf("rules: signal 5 -> %d\n", vkSignalSemaphore(dev, &sg));
            vkGetSemaphoreCounterValue(dev, a, &v); printf("rules: value %llu\n", (unsigned long long)v);
            VkSemaphoreWaitInfo wi = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO, .semaphoreCount = 1, .pSemaphores = &a, .pValues = &(uint64_t){ 7 } };
            printf("rules: wait 7 -> %d\n", vkWaitSemaphores(dev, &wi, 1000000000));
            sg.value = 5; printf("rules: signal 5 again -> %d\n", vkSignalSemaphore(dev, &sg));
            return 0;
        }
        if (!strcmp(c, "s-pending")) {
            uint64_t wait = 11, sig = 20;
            VkTimelineSemaphoreSubmitInfo ts = { .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO, .waitSemaphoreValueCount = 1, .pWaitSemaphoreValues = &wait,
                .signalSemaphoreValueCount = 1, .pSignalSemaphoreValues = &sig };
            VkPipelineStageFlags st = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
            VkSubmitInfo s = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .pNext = &ts, .waitSemaphoreCount = 1, .pWaitSemaphores = &a, .pWaitDstStageMask = &st,
                .signalSemaphoreCount = 1, .pSignalSemaphores = &b };
            CHECK(vkQueueSubmit, queue, 1, &s, VK_NULL_HANDLE);
            VkSemaphoreSignalInfo sg = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO, .semaphore = b, .value = 30 };
            printf("rules: signal b 30 (pending 20) -> %d\n", vkSignalSemaphore(dev, &sg));
            sg.semaphore = a; sg.value = 11; printf("rules: signal a 11 -> %d\n", vkSignalSemaphore(dev, &sg));
            printf("rules: wait idle -> %d\n", vkQueueWaitIdle(queue));
            vkGetSemaphoreCounterValue(dev, b, &v); printf("rules: b %llu\n", (unsigned long long)v);
            vkDestroySemaphore(dev, a, NULL); vkDestroySemaphore(dev, b, NULL);
            printf("rules: destroy device\n"); vkDestroyDevice(dev, NULL);
            return 0;
        }
        return 2;
    }
    return 2;
}
