/*
 * An offscreen render read back and hashed (tests/Venus.Apps.Tests, eng/apps.sh).
 *
 *   render VERT.spv FRAG.spv [OUT.ppm]
 *
 * Draws into a 128x96 R8G8B8A8_UNORM colour image with a D16 depth buffer, through a render pass:
 * a rotated quad from an index buffer, textured with a 16x16 pattern (uploaded through a staging
 * buffer, sampled with linear filtering and repeat), then three overlapping coloured triangles at
 * different depths (depth test on). The vertex and index data live in a mapped host-visible buffer;
 * a uniform buffer holds the rotation, push constants the tint, offset and depth of each draw. The
 * image is copied into a host-visible buffer and hashed:
 *
 *   render: device="..." api=X.Y.Z
 *   render: 128x96 rgba8 fnv1a64=0123456789abcdef covered=N distinct=N
 *
 * covered counts the pixels that differ from the clear colour, distinct the different colours; on
 * the same driver the hash is the same run after run (lavapipe is deterministic), so a guest driver
 * in between must give the native hash. OUT.ppm (optional) gets the picture.
 *
 * Exit codes: 0 done; 1 a Vulkan call failed ("render: vkFoo failed: <n> (<VK_...>)"), a file is
 * missing or the device lacks something.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_NAME "render"
#include "client_util.h"

enum { WIDTH = 128, HEIGHT = 96, TEX = 16 };

static const VkClearColorValue CLEAR = { .float32 = { 0.05f, 0.10f, 0.20f, 1.0f } };

struct vertex { float pos[2]; float color[3]; float uv[2]; };
struct push { float tint[4]; float offset[2]; float depth; float textured; };
struct transform { float rot[4]; float uv_scale[4]; };

struct buffer { VkBuffer buffer; VkDeviceMemory memory; void *map; };

struct ctx {
    VkPhysicalDevice pd;
    VkPhysicalDeviceMemoryProperties mem;
    VkDevice dev;
    VkQueue queue;
    uint32_t family;
};

static int memory_type(const struct ctx *c, uint32_t bits, VkMemoryPropertyFlags want, uint32_t *type)
{
    for (uint32_t i = 0; i < c->mem.memoryTypeCount; i++)
        if ((bits & (1u << i)) && (c->mem.memoryTypes[i].propertyFlags & want) == want) {
            *type = i;
            return 0;
        }
    WRONG("no memory type with flags 0x%x in bits 0x%x", (unsigned)want, bits);
}

/* A buffer in host-visible, coherent memory, mapped. */
static int host_buffer(const struct ctx *c, VkDeviceSize size, VkBufferUsageFlags usage, struct buffer *b)
{
    VkBufferCreateInfo bci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size, .usage = usage,
                               .sharingMode = VK_SHARING_MODE_EXCLUSIVE };
    CHECK(vkCreateBuffer, c->dev, &bci, NULL, &b->buffer);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(c->dev, b->buffer, &req);
    uint32_t type;
    if (memory_type(c, req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, &type))
        return 1;
    VkMemoryAllocateInfo mai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                                 .memoryTypeIndex = type };
    CHECK(vkAllocateMemory, c->dev, &mai, NULL, &b->memory);
    CHECK(vkBindBufferMemory, c->dev, b->buffer, b->memory, 0);
    CHECK(vkMapMemory, c->dev, b->memory, 0, VK_WHOLE_SIZE, 0, &b->map);
    return 0;
}

static void free_buffer(const struct ctx *c, struct buffer *b)
{
    vkUnmapMemory(c->dev, b->memory);
    vkDestroyBuffer(c->dev, b->buffer, NULL);
    vkFreeMemory(c->dev, b->memory, NULL);
}

/* An optimal-tiling 2D image in device-local memory, with its view. */
static int device_image(const struct ctx *c, VkFormat format, uint32_t w, uint32_t h, VkImageUsageFlags usage,
                        VkImageAspectFlags aspect, VkImage *image, VkDeviceMemory *memory, VkImageView *view)
{
    VkImageCreateInfo ici = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO, .imageType = VK_IMAGE_TYPE_2D, .format = format,
        .extent = { w, h, 1 }, .mipLevels = 1, .arrayLayers = 1, .samples = VK_SAMPLE_COUNT_1_BIT,
        .tiling = VK_IMAGE_TILING_OPTIMAL, .usage = usage, .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
        .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
    };
    CHECK(vkCreateImage, c->dev, &ici, NULL, image);
    VkMemoryRequirements req;
    vkGetImageMemoryRequirements(c->dev, *image, &req);
    uint32_t type;
    if (memory_type(c, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, &type))
        return 1;
    VkMemoryAllocateInfo mai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                                 .memoryTypeIndex = type };
    CHECK(vkAllocateMemory, c->dev, &mai, NULL, memory);
    CHECK(vkBindImageMemory, c->dev, *image, *memory, 0);
    VkImageViewCreateInfo vci = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO, .image = *image, .viewType = VK_IMAGE_VIEW_TYPE_2D,
        .format = format, .subresourceRange = { aspect, 0, 1, 0, 1 },
    };
    CHECK(vkCreateImageView, c->dev, &vci, NULL, view);
    return 0;
}

static int shader(const struct ctx *c, const char *path, VkShaderModule *module)
{
    size_t size = 0;
    uint32_t *code = read_spirv(path, &size);
    if (!code)
        WRONG("cannot read SPIR-V from %s", path);
    VkShaderModuleCreateInfo smci = { .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = size, .pCode = code };
    CHECK(vkCreateShaderModule, c->dev, &smci, NULL, module);
    free(code);
    return 0;
}

static void image_barrier(VkCommandBuffer cb, VkImage image, VkImageLayout from, VkImageLayout to, VkAccessFlags src_access,
                          VkAccessFlags dst_access, VkPipelineStageFlags src_stage, VkPipelineStageFlags dst_stage)
{
    VkImageMemoryBarrier b = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER, .srcAccessMask = src_access, .dstAccessMask = dst_access,
        .oldLayout = from, .newLayout = to, .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
        .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED, .image = image,
        .subresourceRange = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1 },
    };
    vkCmdPipelineBarrier(cb, src_stage, dst_stage, 0, 0, NULL, 0, NULL, 1, &b);
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int write_ppm(const char *path, const uint8_t *rgba)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        WRONG("cannot write %s", path);
    fprintf(f, "P6\n%d %d\n255\n", WIDTH, HEIGHT);
    for (int i = 0; i < WIDTH * HEIGHT; i++)
        fwrite(rgba + 4 * i, 1, 3, f);
    fclose(f);
    return 0;
}

static int run(const char *vert_path, const char *frag_path, const char *ppm_path)
{
    struct ctx c = { 0 };
    VkInstance instance;
    VkPhysicalDeviceProperties props;
    if (first_device("venus-apps-render", &instance, &c.pd, &props))
        return 1;
    vkGetPhysicalDeviceMemoryProperties(c.pd, &c.mem);

    uint32_t qf_count = 16;
    VkQueueFamilyProperties qfs[16];
    vkGetPhysicalDeviceQueueFamilyProperties(c.pd, &qf_count, qfs);
    c.family = UINT32_MAX;
    for (uint32_t i = 0; i < qf_count && c.family == UINT32_MAX; i++)
        if (qfs[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)
            c.family = i;
    if (c.family == UINT32_MAX)
        WRONG("no graphics queue family");
    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = c.family,
                                    .queueCount = 1, .pQueuePriorities = &priority };
    VkDeviceCreateInfo dci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci };
    CHECK(vkCreateDevice, c.pd, &dci, NULL, &c.dev);
    vkGetDeviceQueue(c.dev, c.family, 0, &c.queue);

    /* Geometry: a quad (indexed, textured) and three triangles (not indexed, coloured). */
    static const struct vertex vertices[] = {
        { { -0.6f, -0.6f }, { 1.0f, 1.0f, 1.0f }, { 0.0f, 0.0f } },
        { { 0.6f, -0.6f }, { 1.0f, 0.9f, 0.8f }, { 1.0f, 0.0f } },
        { { 0.6f, 0.6f }, { 0.8f, 0.9f, 1.0f }, { 1.0f, 1.0f } },
        { { -0.6f, 0.6f }, { 0.9f, 1.0f, 0.9f }, { 0.0f, 1.0f } },
        { { -0.9f, -0.8f }, { 1.0f, 0.0f, 0.0f }, { 0 } },
        { { -0.1f, -0.8f }, { 1.0f, 1.0f, 0.0f }, { 0 } },
        { { -0.5f, 0.1f }, { 1.0f, 0.0f, 1.0f }, { 0 } },
        { { 0.0f, 0.2f }, { 0.0f, 1.0f, 0.0f }, { 0 } },
        { { 0.9f, 0.3f }, { 0.0f, 1.0f, 1.0f }, { 0 } },
        { { 0.3f, 0.9f }, { 0.0f, 0.3f, 0.0f }, { 0 } },
        { { -0.4f, 0.0f }, { 0.0f, 0.0f, 1.0f }, { 0 } },
        { { 0.5f, -0.5f }, { 0.5f, 0.5f, 1.0f }, { 0 } },
        { { 0.2f, 0.7f }, { 1.0f, 1.0f, 1.0f }, { 0 } },
    };
    static const uint16_t indices[] = { 0, 1, 2, 2, 3, 0 };
    const VkDeviceSize index_offset = sizeof vertices;

    struct buffer geometry, uniforms, staging, readback;
    if (host_buffer(&c, sizeof vertices + sizeof indices, VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_INDEX_BUFFER_BIT, &geometry) ||
        host_buffer(&c, sizeof(struct transform), VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, &uniforms) ||
        host_buffer(&c, TEX * TEX * 4, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &staging) ||
        host_buffer(&c, WIDTH * HEIGHT * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &readback))
        return 1;
    memcpy(geometry.map, vertices, sizeof vertices);
    memcpy((uint8_t *)geometry.map + index_offset, indices, sizeof indices);
    const struct transform transform = { { 0.9659258f, 0.2588190f, -0.2588190f, 0.9659258f }, { 2.0f, 1.5f, 0, 0 } };
    memcpy(uniforms.map, &transform, sizeof transform);
    uint8_t *texels = staging.map;
    for (int y = 0; y < TEX; y++)
        for (int x = 0; x < TEX; x++) {
            uint8_t *t = texels + 4 * (y * TEX + x);
            int check = ((x / 4) ^ (y / 4)) & 1;
            t[0] = (uint8_t)(check ? 255 : 16 * x);
            t[1] = (uint8_t)(check ? 16 * y : 64);
            t[2] = (uint8_t)(check ? 32 : 255 - 12 * x);
            t[3] = 255;
        }
    memset(readback.map, 0xa5, WIDTH * HEIGHT * 4);

    VkImage color, depth, texture;
    VkDeviceMemory color_mem, depth_mem, texture_mem;
    VkImageView color_view, depth_view, texture_view;
    if (device_image(&c, VK_FORMAT_R8G8B8A8_UNORM, WIDTH, HEIGHT,
                     VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT, VK_IMAGE_ASPECT_COLOR_BIT,
                     &color, &color_mem, &color_view) ||
        device_image(&c, VK_FORMAT_D16_UNORM, WIDTH, HEIGHT, VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT,
                     VK_IMAGE_ASPECT_DEPTH_BIT, &depth, &depth_mem, &depth_view) ||
        device_image(&c, VK_FORMAT_R8G8B8A8_UNORM, TEX, TEX, VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT,
                     VK_IMAGE_ASPECT_COLOR_BIT, &texture, &texture_mem, &texture_view))
        return 1;

    VkSamplerCreateInfo sci = {
        .sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO, .magFilter = VK_FILTER_LINEAR, .minFilter = VK_FILTER_LINEAR,
        .mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST, .addressModeU = VK_SAMPLER_ADDRESS_MODE_REPEAT,
        .addressModeV = VK_SAMPLER_ADDRESS_MODE_REPEAT, .addressModeW = VK_SAMPLER_ADDRESS_MODE_REPEAT, .maxLod = 0.0f,
    };
    VkSampler sampler;
    CHECK(vkCreateSampler, c.dev, &sci, NULL, &sampler);

    VkAttachmentDescription attachments[2] = {
        { .format = VK_FORMAT_R8G8B8A8_UNORM, .samples = VK_SAMPLE_COUNT_1_BIT, .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
          .storeOp = VK_ATTACHMENT_STORE_OP_STORE, .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
          .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE, .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
          .finalLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL },
        { .format = VK_FORMAT_D16_UNORM, .samples = VK_SAMPLE_COUNT_1_BIT, .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
          .storeOp = VK_ATTACHMENT_STORE_OP_DONT_CARE, .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
          .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE, .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
          .finalLayout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL },
    };
    VkAttachmentReference color_ref = { 0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL };
    VkAttachmentReference depth_ref = { 1, VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL };
    VkSubpassDescription subpass = { .pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS, .colorAttachmentCount = 1,
                                     .pColorAttachments = &color_ref, .pDepthStencilAttachment = &depth_ref };
    VkSubpassDependency deps[2] = {
        { .srcSubpass = VK_SUBPASS_EXTERNAL, .dstSubpass = 0,
          .srcStageMask = VK_PIPELINE_STAGE_TRANSFER_BIT,
          .dstStageMask = VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT | VK_PIPELINE_STAGE_EARLY_FRAGMENT_TESTS_BIT |
                          VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
          .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
          .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT |
                           VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT },
        { .srcSubpass = 0, .dstSubpass = VK_SUBPASS_EXTERNAL,
          .srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, .dstStageMask = VK_PIPELINE_STAGE_TRANSFER_BIT,
          .srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT, .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT },
    };
    VkRenderPassCreateInfo rpci = { .sType = VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO, .attachmentCount = 2,
                                    .pAttachments = attachments, .subpassCount = 1, .pSubpasses = &subpass,
                                    .dependencyCount = 2, .pDependencies = deps };
    VkRenderPass render_pass;
    CHECK(vkCreateRenderPass, c.dev, &rpci, NULL, &render_pass);
    VkImageView views[2] = { color_view, depth_view };
    VkFramebufferCreateInfo fbci = { .sType = VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO, .renderPass = render_pass,
                                     .attachmentCount = 2, .pAttachments = views, .width = WIDTH, .height = HEIGHT,
                                     .layers = 1 };
    VkFramebuffer framebuffer;
    CHECK(vkCreateFramebuffer, c.dev, &fbci, NULL, &framebuffer);

    VkDescriptorSetLayoutBinding bindings[2] = {
        { .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, .descriptorCount = 1,
          .stageFlags = VK_SHADER_STAGE_VERTEX_BIT },
        { .binding = 1, .descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, .descriptorCount = 1,
          .stageFlags = VK_SHADER_STAGE_FRAGMENT_BIT },
    };
    VkDescriptorSetLayoutCreateInfo dslci = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                              .bindingCount = 2, .pBindings = bindings };
    VkDescriptorSetLayout set_layout;
    CHECK(vkCreateDescriptorSetLayout, c.dev, &dslci, NULL, &set_layout);
    VkPushConstantRange range = { VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof(struct push) };
    VkPipelineLayoutCreateInfo plci = { .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1,
                                        .pSetLayouts = &set_layout, .pushConstantRangeCount = 1, .pPushConstantRanges = &range };
    VkPipelineLayout layout;
    CHECK(vkCreatePipelineLayout, c.dev, &plci, NULL, &layout);

    VkDescriptorPoolSize pool_sizes[2] = { { VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, 1 },
                                           { VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1 } };
    VkDescriptorPoolCreateInfo dpci = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 1,
                                        .poolSizeCount = 2, .pPoolSizes = pool_sizes };
    VkDescriptorPool pool;
    CHECK(vkCreateDescriptorPool, c.dev, &dpci, NULL, &pool);
    VkDescriptorSetAllocateInfo dsai = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = pool,
                                         .descriptorSetCount = 1, .pSetLayouts = &set_layout };
    VkDescriptorSet set;
    CHECK(vkAllocateDescriptorSets, c.dev, &dsai, &set);
    VkDescriptorBufferInfo ubo_info = { uniforms.buffer, 0, VK_WHOLE_SIZE };
    VkDescriptorImageInfo tex_info = { sampler, texture_view, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL };
    VkWriteDescriptorSet writes[2] = {
        { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set, .dstBinding = 0, .descriptorCount = 1,
          .descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, .pBufferInfo = &ubo_info },
        { .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set, .dstBinding = 1, .descriptorCount = 1,
          .descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, .pImageInfo = &tex_info },
    };
    vkUpdateDescriptorSets(c.dev, 2, writes, 0, NULL);

    VkShaderModule vert, frag;
    if (shader(&c, vert_path, &vert) || shader(&c, frag_path, &frag))
        return 1;
    VkPipelineShaderStageCreateInfo stages[2] = {
        { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_VERTEX_BIT, .module = vert, .pName = "main" },
        { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_FRAGMENT_BIT, .module = frag, .pName = "main" },
    };
    VkVertexInputBindingDescription vbind = { 0, sizeof(struct vertex), VK_VERTEX_INPUT_RATE_VERTEX };
    VkVertexInputAttributeDescription vattrs[3] = {
        { 0, 0, VK_FORMAT_R32G32_SFLOAT, offsetof(struct vertex, pos) },
        { 1, 0, VK_FORMAT_R32G32B32_SFLOAT, offsetof(struct vertex, color) },
        { 2, 0, VK_FORMAT_R32G32_SFLOAT, offsetof(struct vertex, uv) },
    };
    VkPipelineVertexInputStateCreateInfo vi = { .sType = VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO,
                                                .vertexBindingDescriptionCount = 1, .pVertexBindingDescriptions = &vbind,
                                                .vertexAttributeDescriptionCount = 3, .pVertexAttributeDescriptions = vattrs };
    VkPipelineInputAssemblyStateCreateInfo ia = { .sType = VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO,
                                                  .topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST };
    VkPipelineViewportStateCreateInfo vp = { .sType = VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO,
                                             .viewportCount = 1, .scissorCount = 1 };
    VkPipelineRasterizationStateCreateInfo rs = { .sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO,
                                                  .polygonMode = VK_POLYGON_MODE_FILL, .cullMode = VK_CULL_MODE_NONE,
                                                  .frontFace = VK_FRONT_FACE_COUNTER_CLOCKWISE, .lineWidth = 1.0f };
    VkPipelineMultisampleStateCreateInfo ms = { .sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO,
                                                .rasterizationSamples = VK_SAMPLE_COUNT_1_BIT };
    VkPipelineDepthStencilStateCreateInfo ds = { .sType = VK_STRUCTURE_TYPE_PIPELINE_DEPTH_STENCIL_STATE_CREATE_INFO,
                                                 .depthTestEnable = VK_TRUE, .depthWriteEnable = VK_TRUE,
                                                 .depthCompareOp = VK_COMPARE_OP_LESS };
    VkPipelineColorBlendAttachmentState blend = {
        .blendEnable = VK_TRUE, .srcColorBlendFactor = VK_BLEND_FACTOR_SRC_ALPHA,
        .dstColorBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA, .colorBlendOp = VK_BLEND_OP_ADD,
        .srcAlphaBlendFactor = VK_BLEND_FACTOR_ONE, .dstAlphaBlendFactor = VK_BLEND_FACTOR_ZERO, .alphaBlendOp = VK_BLEND_OP_ADD,
        .colorWriteMask = VK_COLOR_COMPONENT_R_BIT | VK_COLOR_COMPONENT_G_BIT | VK_COLOR_COMPONENT_B_BIT | VK_COLOR_COMPONENT_A_BIT,
    };
    VkPipelineColorBlendStateCreateInfo cb = { .sType = VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO,
                                               .attachmentCount = 1, .pAttachments = &blend };
    VkDynamicState dynamic[2] = { VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR };
    VkPipelineDynamicStateCreateInfo dyn = { .sType = VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO,
                                             .dynamicStateCount = 2, .pDynamicStates = dynamic };
    VkGraphicsPipelineCreateInfo gpci = {
        .sType = VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO, .stageCount = 2, .pStages = stages,
        .pVertexInputState = &vi, .pInputAssemblyState = &ia, .pViewportState = &vp, .pRasterizationState = &rs,
        .pMultisampleState = &ms, .pDepthStencilState = &ds, .pColorBlendState = &cb, .pDynamicState = &dyn,
        .layout = layout, .renderPass = render_pass, .subpass = 0,
    };
    VkPipeline pipeline;
    CHECK(vkCreateGraphicsPipelines, c.dev, VK_NULL_HANDLE, 1, &gpci, NULL, &pipeline);

    VkCommandPoolCreateInfo cpci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = c.family };
    VkCommandPool cmd_pool;
    CHECK(vkCreateCommandPool, c.dev, &cpci, NULL, &cmd_pool);
    VkCommandBufferAllocateInfo cbai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = cmd_pool,
                                         .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1 };
    VkCommandBuffer cmd;
    CHECK(vkAllocateCommandBuffers, c.dev, &cbai, &cmd);
    VkCommandBufferBeginInfo begin = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                       .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };
    CHECK(vkBeginCommandBuffer, cmd, &begin);

    /* The texture: staging buffer -> image, then shader-readable. */
    image_barrier(cmd, texture, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 0,
                  VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT);
    VkBufferImageCopy upload = { .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1 }, .imageExtent = { TEX, TEX, 1 } };
    vkCmdCopyBufferToImage(cmd, staging.buffer, texture, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &upload);
    image_barrier(cmd, texture, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
                  VK_ACCESS_TRANSFER_WRITE_BIT, VK_ACCESS_SHADER_READ_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                  VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT);

    VkClearValue clears[2] = { { .color = CLEAR }, { .depthStencil = { 1.0f, 0 } } };
    VkRenderPassBeginInfo rpbi = { .sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO, .renderPass = render_pass,
                                   .framebuffer = framebuffer, .renderArea = { { 0, 0 }, { WIDTH, HEIGHT } },
                                   .clearValueCount = 2, .pClearValues = clears };
    vkCmdBeginRenderPass(cmd, &rpbi, VK_SUBPASS_CONTENTS_INLINE);
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, pipeline);
    VkViewport viewport = { 0, 0, WIDTH, HEIGHT, 0.0f, 1.0f };
    VkRect2D scissor = { { 0, 0 }, { WIDTH, HEIGHT } };
    vkCmdSetViewport(cmd, 0, 1, &viewport);
    vkCmdSetScissor(cmd, 0, 1, &scissor);
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, layout, 0, 1, &set, 0, NULL);
    VkDeviceSize zero = 0;
    vkCmdBindVertexBuffers(cmd, 0, 1, &geometry.buffer, &zero);
    vkCmdBindIndexBuffer(cmd, geometry.buffer, index_offset, VK_INDEX_TYPE_UINT16);

    const struct push quad = { { 1.0f, 1.0f, 1.0f, 1.0f }, { 0.05f, 0.0f }, 0.5f, 1.0f };
    vkCmdPushConstants(cmd, layout, range.stageFlags, 0, sizeof quad, &quad);
    vkCmdDrawIndexed(cmd, 6, 1, 0, 0, 0);
    /* In front of the quad, behind it (partly hidden), and half transparent in front. */
    const struct push tris[3] = {
        { { 1.0f, 1.0f, 1.0f, 1.0f }, { 0.0f, 0.0f }, 0.3f, 0.0f },
        { { 1.0f, 0.8f, 0.6f, 1.0f }, { -0.1f, 0.1f }, 0.7f, 0.0f },
        { { 0.9f, 0.9f, 0.9f, 0.5f }, { 0.1f, -0.2f }, 0.2f, 0.0f },
    };
    for (uint32_t i = 0; i < 3; i++) {
        vkCmdPushConstants(cmd, layout, range.stageFlags, 0, sizeof tris[i], &tris[i]);
        vkCmdDraw(cmd, 3, 1, 4 + 3 * i, 0);
    }
    vkCmdEndRenderPass(cmd);

    /* The render pass left the colour image in TRANSFER_SRC_OPTIMAL. */
    VkBufferImageCopy download = { .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1 },
                                   .imageExtent = { WIDTH, HEIGHT, 1 } };
    vkCmdCopyImageToBuffer(cmd, color, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, readback.buffer, 1, &download);
    VkMemoryBarrier to_host = { .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                                .dstAccessMask = VK_ACCESS_HOST_READ_BIT };
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0, NULL, 0, NULL);
    CHECK(vkEndCommandBuffer, cmd);

    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    VkFence fence;
    CHECK(vkCreateFence, c.dev, &fci, NULL, &fence);
    VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd };
    CHECK(vkQueueSubmit, c.queue, 1, &si, fence);
    CHECK(vkWaitForFences, c.dev, 1, &fence, VK_TRUE, UINT64_MAX);

    /* FNV-1a 64 over the rows as the image holds them; a count of covered pixels and of colours. */
    const uint8_t *px = readback.map;
    uint64_t hash = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < (size_t)WIDTH * HEIGHT * 4; i++)
        hash = (hash ^ px[i]) * 0x100000001b3ull;
    uint32_t clear_px;
    memcpy(&clear_px, px, 4); /* the top-left corner is never drawn on */
    static uint32_t sorted[WIDTH * HEIGHT];
    uint32_t covered = 0, distinct = 0;
    memcpy(sorted, px, sizeof sorted);
    for (size_t i = 0; i < (size_t)WIDTH * HEIGHT; i++)
        covered += sorted[i] != clear_px;
    qsort(sorted, WIDTH * HEIGHT, sizeof sorted[0], compare_u32);
    for (size_t i = 0; i < (size_t)WIDTH * HEIGHT; i++)
        distinct += i == 0 || sorted[i] != sorted[i - 1];
    printf("render: %dx%d rgba8 fnv1a64=%016llx covered=%u distinct=%u\n", WIDTH, HEIGHT, (unsigned long long)hash,
           covered, distinct);
    if (ppm_path && write_ppm(ppm_path, px))
        return 1;

    vkDestroyFence(c.dev, fence, NULL);
    vkDestroyCommandPool(c.dev, cmd_pool, NULL);
    vkDestroyPipeline(c.dev, pipeline, NULL);
    vkDestroyShaderModule(c.dev, vert, NULL);
    vkDestroyShaderModule(c.dev, frag, NULL);
    vkDestroyDescriptorPool(c.dev, pool, NULL);
    vkDestroyPipelineLayout(c.dev, layout, NULL);
    vkDestroyDescriptorSetLayout(c.dev, set_layout, NULL);
    vkDestroyFramebuffer(c.dev, framebuffer, NULL);
    vkDestroyRenderPass(c.dev, render_pass, NULL);
    vkDestroySampler(c.dev, sampler, NULL);
    VkImageView all_views[3] = { color_view, depth_view, texture_view };
    VkImage all_images[3] = { color, depth, texture };
    VkDeviceMemory all_memory[3] = { color_mem, depth_mem, texture_mem };
    for (int i = 0; i < 3; i++) {
        vkDestroyImageView(c.dev, all_views[i], NULL);
        vkDestroyImage(c.dev, all_images[i], NULL);
        vkFreeMemory(c.dev, all_memory[i], NULL);
    }
    free_buffer(&c, &geometry);
    free_buffer(&c, &uniforms);
    free_buffer(&c, &staging);
    free_buffer(&c, &readback);
    vkDestroyDevice(c.dev, NULL);
    vkDestroyInstance(instance, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s VERT.spv FRAG.spv [OUT.ppm]\n", argv[0]);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    return run(argv[1], argv[2], argc > 3 ? argv[3] : NULL);
}
