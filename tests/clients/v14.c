/*
 * Vulkan 1.4 through a driver (tests/Venus.GuestIcd.Tests V14Tests):
 *
 *   v14 SHADER.spv
 *
 * SHADER is compute.comp (out[i] = in[i] * 3 + 7; storage buffers at set 0 bindings 0 and 1, n a
 * push constant). Needs a Vulkan 1.4 device; enables the 1.4 features it reports. Steps:
 *  1. features: prints maintenance5, maintenance6, pushDescriptor, dynamicRenderingLocalRead and
 *     hostImageCopy of VkPhysicalDeviceVulkan14Features;
 *  2. map2: vkMapMemory2 at an offset, a pattern written, vkUnmapMemory2, vkMapMemory2 of the whole
 *     memory: the pattern is at the offset;
 *  3. bind-status: vkBindBufferMemory2 of two buffers, each with a VkBindMemoryStatus whose
 *     result starts as VK_ERROR_UNKNOWN: both come back VK_SUCCESS;
 *  4. maintenance5: vkGetImageSubresourceLayout2 of a linear image equals
 *     vkGetDeviceImageSubresourceLayout of its create info (printed), and vkCmdBindIndexBuffer2
 *     records;
 *  5. push2: vkCmdPushDescriptorSet2 (garbage in the ignored fields) and vkCmdPushConstants2, then
 *     a dispatch; the output is checked;
 *  6. push-template2: vkCmdPushDescriptorSetWithTemplate2 with the buffers swapped; checked;
 *  7. host-copy (when hostImageCopy): vkTransitionImageLayout to GENERAL, vkCopyMemoryToImage of a
 *     pattern with a row pitch, vkCopyImageToImage into a second image, vkCopyImageToMemory back
 *     with a row pitch whose gaps must stay untouched; then a 2304x2048 RGBA round trip (18 MiB);
 *     prints the pattern's checksum.
 * Prints "v14: <step> ok" per step and "v14: all ok"; on failure "v14: <call> failed: ..." or
 * "v14: <step> wrong: ...", exit 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <vulkan/vulkan.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_NAME "v14"
#include "client_util.h"

enum { N = 4096, GROUP = 64 };

static VkDevice dev;
static VkPhysicalDevice pd;
static VkQueue queue;
static VkCommandBuffer cb;
static VkFence fence;

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

static int make_image(uint32_t w, uint32_t h, VkImage *image, VkDeviceMemory *mem)
{
    VkImageCreateInfo ici = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO, .imageType = VK_IMAGE_TYPE_2D, .format = VK_FORMAT_R8G8B8A8_UNORM,
        .extent = { w, h, 1 }, .mipLevels = 1, .arrayLayers = 1, .samples = VK_SAMPLE_COUNT_1_BIT, .tiling = VK_IMAGE_TILING_OPTIMAL,
        .usage = VK_IMAGE_USAGE_HOST_TRANSFER_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT,
    };
    CHECK(vkCreateImage, dev, &ici, NULL, image);
    VkMemoryRequirements req;
    vkGetImageMemoryRequirements(dev, *image, &req);
    VkMemoryAllocateInfo mai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = find_memory_type(pd, req.memoryTypeBits, 0) };
    CHECK(vkAllocateMemory, dev, &mai, NULL, mem);
    CHECK(vkBindImageMemory, dev, *image, *mem, 0);
    VkHostImageLayoutTransitionInfo t = {
        .sType = VK_STRUCTURE_TYPE_HOST_IMAGE_LAYOUT_TRANSITION_INFO, .image = *image,
        .oldLayout = VK_IMAGE_LAYOUT_UNDEFINED, .newLayout = VK_IMAGE_LAYOUT_GENERAL,
        .subresourceRange = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1 },
    };
    CHECK(vkTransitionImageLayout, dev, 1, &t);
    return 0;
}

static uint32_t texel(uint32_t x, uint32_t y, uint32_t seed) { return (x * 2654435761u) ^ (y * 40503u) ^ seed; }

/* Host copies: upload with a row pitch, image-to-image, download with a row pitch whose gaps stay untouched. */
static int host_copy(uint32_t w, uint32_t h, uint32_t pitch, uint32_t *sum)
{
    VkImage img[2];
    VkDeviceMemory mem[2];
    for (int i = 0; i < 2; i++)
        if (make_image(w, h, &img[i], &mem[i]))
            return 1;
    uint32_t *up = malloc((size_t)pitch * h * 4), *down = malloc((size_t)pitch * h * 4);
    if (!up || !down)
        WRONG("host-copy wrong: out of memory");
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < pitch; x++) {
            up[y * pitch + x] = x < w ? texel(x, y, w) : 0x11111111u;
            down[y * pitch + x] = 0xABABABABu;
        }
    VkMemoryToImageCopy mr = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_TO_IMAGE_COPY, .pHostPointer = up, .memoryRowLength = pitch,
        .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1 }, .imageExtent = { w, h, 1 },
    };
    VkCopyMemoryToImageInfo mi = { .sType = VK_STRUCTURE_TYPE_COPY_MEMORY_TO_IMAGE_INFO, .dstImage = img[0], .dstImageLayout = VK_IMAGE_LAYOUT_GENERAL, .regionCount = 1, .pRegions = &mr };
    CHECK(vkCopyMemoryToImage, dev, &mi);
    VkImageCopy2 ic = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_COPY_2, .srcSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1 },
        .dstSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1 }, .extent = { w, h, 1 },
    };
    VkCopyImageToImageInfo ii = {
        .sType = VK_STRUCTURE_TYPE_COPY_IMAGE_TO_IMAGE_INFO, .srcImage = img[0], .srcImageLayout = VK_IMAGE_LAYOUT_GENERAL,
        .dstImage = img[1], .dstImageLayout = VK_IMAGE_LAYOUT_GENERAL, .regionCount = 1, .pRegions = &ic,
    };
    CHECK(vkCopyImageToImage, dev, &ii);
    VkImageToMemoryCopy dr = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_TO_MEMORY_COPY, .pHostPointer = down, .memoryRowLength = pitch,
        .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1 }, .imageExtent = { w, h, 1 },
    };
    VkCopyImageToMemoryInfo di = { .sType = VK_STRUCTURE_TYPE_COPY_IMAGE_TO_MEMORY_INFO, .srcImage = img[1], .srcImageLayout = VK_IMAGE_LAYOUT_GENERAL, .regionCount = 1, .pRegions = &dr };
    CHECK(vkCopyImageToMemory, dev, &di);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < pitch; x++) {
            uint32_t want = x < w ? texel(x, y, w) : 0xABABABABu;
            if (down[y * pitch + x] != want)
                WRONG("host-copy wrong: %ux%u at (%u,%u): 0x%08x, expected 0x%08x", w, h, x, y, down[y * pitch + x], want);
            if (x < w)
                *sum = *sum * 31u + down[y * pitch + x];
        }
    free(up);
    free(down);
    for (int i = 0; i < 2; i++) {
        vkDestroyImage(dev, img[i], NULL);
        vkFreeMemory(dev, mem[i], NULL);
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: %s SHADER.spv\n", argv[0]);
        return 1;
    }
    size_t spv_size = 0;
    uint32_t *spv = read_spirv(argv[1], &spv_size);
    if (!spv)
        WRONG("cannot read %s", argv[1]);

    VkApplicationInfo app = { .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "venus-v14", .apiVersion = VK_API_VERSION_1_4 };
    VkInstanceCreateInfo inst_ci = { .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app };
    VkInstance instance;
    CHECK(vkCreateInstance, &inst_ci, NULL, &instance);
    uint32_t count = 1;
    VkResult er = vkEnumeratePhysicalDevices(instance, &count, &pd);
    if ((er != VK_SUCCESS && er != VK_INCOMPLETE) || count == 0)
        WRONG("no physical device (%d)", (int)er);
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(pd, &props);
    printf("v14: device=\"%s\" api=%u.%u.%u\n", props.deviceName, VK_API_VERSION_MAJOR(props.apiVersion),
           VK_API_VERSION_MINOR(props.apiVersion), VK_API_VERSION_PATCH(props.apiVersion));
    if (props.apiVersion < VK_API_VERSION_1_4)
        WRONG("api wrong: the device is below Vulkan 1.4");

    VkPhysicalDeviceVulkan14Features f14 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_4_FEATURES };
    VkPhysicalDeviceFeatures2 f2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f14 };
    vkGetPhysicalDeviceFeatures2(pd, &f2);
    printf("v14: features maintenance5=%u maintenance6=%u pushDescriptor=%u dynamicRenderingLocalRead=%u hostImageCopy=%u\n",
           f14.maintenance5, f14.maintenance6, f14.pushDescriptor, f14.dynamicRenderingLocalRead, f14.hostImageCopy);
    if (!f14.maintenance5 || !f14.maintenance6 || !f14.pushDescriptor || !f14.dynamicRenderingLocalRead)
        WRONG("features wrong: a feature Vulkan 1.4 requires is missing");
    printf("v14: features ok\n");
    VkPhysicalDeviceVulkan14Features enable14 = f14;
    enable14.pNext = NULL;
    VkPhysicalDeviceFeatures2 enable = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &enable14 };

    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = 0, .queueCount = 1, .pQueuePriorities = &priority };
    VkDeviceCreateInfo dci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &enable, .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci };
    CHECK(vkCreateDevice, pd, &dci, NULL, &dev);
    vkGetDeviceQueue(dev, 0, 0, &queue);

    /* map2 */
    const VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    VkBuffer buf[2];
    VkMemoryRequirements req[2];
    for (int i = 0; i < 2; i++) {
        VkBufferCreateInfo bci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = N * 4, .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_INDEX_BUFFER_BIT };
        CHECK(vkCreateBuffer, dev, &bci, NULL, &buf[i]);
        vkGetBufferMemoryRequirements(dev, buf[i], &req[i]);
    }
    VkDeviceSize half = (req[0].size + req[1].alignment - 1) / req[1].alignment * req[1].alignment;
    VkMemoryAllocateInfo mai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = half + req[1].size,
                                 .memoryTypeIndex = find_memory_type(pd, req[0].memoryTypeBits & req[1].memoryTypeBits, hv) };
    if (mai.memoryTypeIndex == UINT32_MAX)
        WRONG("map2 wrong: no host-visible memory type");
    VkDeviceMemory mem;
    CHECK(vkAllocateMemory, dev, &mai, NULL, &mem);
    VkMemoryMapInfo map_info = { .sType = VK_STRUCTURE_TYPE_MEMORY_MAP_INFO, .memory = mem, .offset = half, .size = VK_WHOLE_SIZE };
    uint32_t *second;
    CHECK(vkMapMemory2, dev, &map_info, (void **)&second);
    for (uint32_t i = 0; i < 16; i++)
        second[i] = 0xC0DE0000u + i;
    VkMemoryUnmapInfo unmap_info = { .sType = VK_STRUCTURE_TYPE_MEMORY_UNMAP_INFO, .memory = mem };
    CHECK(vkUnmapMemory2, dev, &unmap_info);
    map_info.offset = 0;
    uint32_t *whole;
    CHECK(vkMapMemory2, dev, &map_info, (void **)&whole);
    for (uint32_t i = 0; i < 16; i++)
        if (whole[half / 4 + i] != 0xC0DE0000u + i)
            WRONG("map2 wrong: word %u after the offset is 0x%08x", i, whole[half / 4 + i]);
    printf("v14: map2 ok\n");
    uint32_t *mapped[2] = { whole, whole + half / 4 };

    /* bind-status */
    VkResult status[2] = { VK_ERROR_UNKNOWN, VK_ERROR_UNKNOWN };
    VkBindMemoryStatus bms[2] = { { .sType = VK_STRUCTURE_TYPE_BIND_MEMORY_STATUS, .pResult = &status[0] },
                                  { .sType = VK_STRUCTURE_TYPE_BIND_MEMORY_STATUS, .pResult = &status[1] } };
    VkBindBufferMemoryInfo binds[2] = {
        { .sType = VK_STRUCTURE_TYPE_BIND_BUFFER_MEMORY_INFO, .pNext = &bms[0], .buffer = buf[0], .memory = mem, .memoryOffset = 0 },
        { .sType = VK_STRUCTURE_TYPE_BIND_BUFFER_MEMORY_INFO, .pNext = &bms[1], .buffer = buf[1], .memory = mem, .memoryOffset = half },
    };
    CHECK(vkBindBufferMemory2, dev, 2, binds);
    if (status[0] != VK_SUCCESS || status[1] != VK_SUCCESS)
        WRONG("bind-status wrong: results %d %d", (int)status[0], (int)status[1]);
    printf("v14: bind-status ok\n");

    /* maintenance5 */
    VkImageCreateInfo lin = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO, .imageType = VK_IMAGE_TYPE_2D, .format = VK_FORMAT_R8G8B8A8_UNORM,
        .extent = { 37, 19, 1 }, .mipLevels = 1, .arrayLayers = 1, .samples = VK_SAMPLE_COUNT_1_BIT, .tiling = VK_IMAGE_TILING_LINEAR,
        .usage = VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
    };
    VkImage lin_img;
    CHECK(vkCreateImage, dev, &lin, NULL, &lin_img);
    VkImageSubresource2 sub = { .sType = VK_STRUCTURE_TYPE_IMAGE_SUBRESOURCE_2, .imageSubresource = { VK_IMAGE_ASPECT_COLOR_BIT, 0, 0 } };
    VkSubresourceLayout2 l1 = { .sType = VK_STRUCTURE_TYPE_SUBRESOURCE_LAYOUT_2 }, l2 = { .sType = VK_STRUCTURE_TYPE_SUBRESOURCE_LAYOUT_2 };
    vkGetImageSubresourceLayout2(dev, lin_img, &sub, &l1);
    VkDeviceImageSubresourceInfo dsi = { .sType = VK_STRUCTURE_TYPE_DEVICE_IMAGE_SUBRESOURCE_INFO, .pCreateInfo = &lin, .pSubresource = &sub };
    vkGetDeviceImageSubresourceLayout(dev, &dsi, &l2);
    printf("v14: layout rowPitch=%llu size=%llu\n", (unsigned long long)l1.subresourceLayout.rowPitch, (unsigned long long)l1.subresourceLayout.size);
    if (l1.subresourceLayout.rowPitch < 37 * 4 || memcmp(&l1.subresourceLayout, &l2.subresourceLayout, sizeof l1.subresourceLayout) != 0)
        WRONG("maintenance5 wrong: image layout rowPitch %llu vs device query %llu", (unsigned long long)l1.subresourceLayout.rowPitch,
              (unsigned long long)l2.subresourceLayout.rowPitch);
    vkDestroyImage(dev, lin_img, NULL);

    /* pipeline for push2 / push-template2 */
    VkShaderModuleCreateInfo smci = { .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = spv_size, .pCode = spv };
    VkShaderModule shader;
    CHECK(vkCreateShaderModule, dev, &smci, NULL, &shader);
    VkDescriptorSetLayoutBinding bindings[2] = {
        { .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT },
        { .binding = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT },
    };
    VkDescriptorSetLayoutCreateInfo dslci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT,
        .bindingCount = 2, .pBindings = bindings,
    };
    VkDescriptorSetLayout dsl;
    CHECK(vkCreateDescriptorSetLayout, dev, &dslci, NULL, &dsl);
    VkPushConstantRange pcr = { .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = 4 };
    VkPipelineLayoutCreateInfo plci = { .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1, .pSetLayouts = &dsl, .pushConstantRangeCount = 1, .pPushConstantRanges = &pcr };
    VkPipelineLayout layout;
    CHECK(vkCreatePipelineLayout, dev, &plci, NULL, &layout);
    VkComputePipelineCreateInfo cpci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = shader, .pName = "main" },
        .layout = layout,
    };
    VkPipeline pipeline;
    CHECK(vkCreateComputePipelines, dev, VK_NULL_HANDLE, 1, &cpci, NULL, &pipeline);
    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    CHECK(vkCreateFence, dev, &fci, NULL, &fence);
    VkCommandPoolCreateInfo pci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT };
    VkCommandPool pool;
    CHECK(vkCreateCommandPool, dev, &pci, NULL, &pool);
    VkCommandBufferAllocateInfo cai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1 };
    CHECK(vkAllocateCommandBuffers, dev, &cai, &cb);
    VkCommandBufferBeginInfo begin = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };

    CHECK(vkBeginCommandBuffer, cb, &begin);
    vkCmdBindIndexBuffer2(cb, buf[0], 0, 64, VK_INDEX_TYPE_UINT32);
    if (submit())
        return 1;
    printf("v14: maintenance5 ok\n");

    for (int step = 0; step < 2; step++) {
        int in = step, out = 1 - step;
        for (uint32_t i = 0; i < N; i++) {
            mapped[in][i] = i * 5u + 11u * (uint32_t)(step + 1);
            mapped[out][i] = 0xDEADBEEFu;
        }
        CHECK(vkBeginCommandBuffer, cb, &begin);
        vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
        uint32_t n = N;
        VkPushConstantsInfo pc = { .sType = VK_STRUCTURE_TYPE_PUSH_CONSTANTS_INFO, .layout = layout, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = 4, .pValues = &n };
        vkCmdPushConstants2(cb, &pc);
        VkDescriptorBufferInfo bi[2] = { { buf[in], 0, VK_WHOLE_SIZE }, { buf[out], 0, VK_WHOLE_SIZE } };
        if (step == 0) {
            /* Garbage where the spec says the fields are ignored for storage buffers. */
            VkWriteDescriptorSet w[2];
            for (int b = 0; b < 2; b++)
                w[b] = (VkWriteDescriptorSet){
                    .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = (VkDescriptorSet)(uintptr_t)0x5151, .dstBinding = (uint32_t)b,
                    .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &bi[b],
                    .pImageInfo = (const VkDescriptorImageInfo *)(uintptr_t)0x10, .pTexelBufferView = (const VkBufferView *)(uintptr_t)0x20,
                };
            VkPushDescriptorSetInfo push = { .sType = VK_STRUCTURE_TYPE_PUSH_DESCRIPTOR_SET_INFO, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .layout = layout, .set = 0, .descriptorWriteCount = 2, .pDescriptorWrites = w };
            vkCmdPushDescriptorSet2(cb, &push);
        } else {
            VkDescriptorUpdateTemplateEntry e[2] = {
                { .dstBinding = 0, .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .offset = 0, .stride = sizeof bi[0] },
                { .dstBinding = 1, .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .offset = sizeof bi[0], .stride = sizeof bi[0] },
            };
            VkDescriptorUpdateTemplateCreateInfo tci = {
                .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_UPDATE_TEMPLATE_CREATE_INFO, .descriptorUpdateEntryCount = 2, .pDescriptorUpdateEntries = e,
                .templateType = VK_DESCRIPTOR_UPDATE_TEMPLATE_TYPE_PUSH_DESCRIPTORS, .pipelineBindPoint = VK_PIPELINE_BIND_POINT_COMPUTE,
                .pipelineLayout = layout, .set = 0,
            };
            VkDescriptorUpdateTemplate tmpl;
            CHECK(vkCreateDescriptorUpdateTemplate, dev, &tci, NULL, &tmpl);
            VkPushDescriptorSetWithTemplateInfo push = { .sType = VK_STRUCTURE_TYPE_PUSH_DESCRIPTOR_SET_WITH_TEMPLATE_INFO, .descriptorUpdateTemplate = tmpl, .layout = layout, .set = 0, .pData = bi };
            vkCmdPushDescriptorSetWithTemplate2(cb, &push);
        }
        vkCmdDispatch(cb, N / GROUP, 1, 1);
        if (submit())
            return 1;
        for (uint32_t i = 0; i < N; i++)
            if (mapped[out][i] != (i * 5u + 11u * (uint32_t)(step + 1)) * 3u + 7u)
                WRONG("%s wrong: out[%u] = 0x%08x", step ? "push-template2" : "push2", i, mapped[out][i]);
        printf("v14: %s ok\n", step ? "push-template2" : "push2");
    }

    if (f14.hostImageCopy) {
        uint32_t sum = 0;
        if (host_copy(61, 23, 67, &sum) || host_copy(2304, 2048, 2304, &sum))
            return 1;
        printf("v14: host-copy sum=%08x\n", sum);
        printf("v14: host-copy ok\n");
    } else {
        printf("v14: host-copy skipped (no hostImageCopy)\n");
    }
    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(instance, NULL);
    printf("v14: all ok\n");
    return 0;
}
