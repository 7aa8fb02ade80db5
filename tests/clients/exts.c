/*
 * Device extensions a Venus guest driver implements (partly) itself, checked through a driver
 * (tests/Venus.GuestIcd.Tests):
 *
 *   exts SHADER.spv [nomap]
 *
 * SHADER is compute.comp (out[i] = in[i] * 3 + 7 for i < n; storage buffers at set 0 bindings 0
 * and 1, n a push constant). Every extension below that the device offers is enabled; a step
 * whose extension is missing prints "exts: <step> skipped (no <extension>)". Steps:
 *  1. push: vkCmdPushDescriptorSetKHR (VK_KHR_push_descriptor) with garbage where the spec says
 *     fields are ignored (dstSet, pImageInfo, pTexelBufferView of storage-buffer writes), then a
 *     dispatch; the output is read back through mapped memory and checked;
 *  2. push-template: vkCmdPushDescriptorSetWithTemplateKHR with a template of type
 *     PUSH_DESCRIPTORS reading buffer infos from a struct at their offsets (the buffers swapped,
 *     so only this push can give the right output), checked the same way;
 *  3. device-group: vkCmdSetDeviceMaskKHR and vkCmdDispatchBaseKHR (VK_KHR_device_group, one
 *     device) over the second half of the work, after a template push; checked;
 *  4. calibrated: vkGetPhysicalDeviceCalibrateableTimeDomainsEXT offers DEVICE and
 *     CLOCK_MONOTONIC; vkGetCalibratedTimestampsEXT of both: the CLOCK_MONOTONIC value lies
 *     between this process's clock_gettime before and after, the deviation is > 0, the device
 *     value is not 0;
 *  5. tooling: vkGetPhysicalDeviceToolPropertiesEXT succeeds (0 tools without layers);
 *  6. memory-report: the VK_EXT_device_memory_report callback saw an ALLOCATE of device memory
 *     for each of the two memories and, after the frees, a FREE with the same memoryObjectId (a
 *     driver's own allocations may be reported too);
 *  7. drm: VkPhysicalDeviceDrmPropertiesEXT and VkPhysicalDevicePCIBusInfoPropertiesEXT, printed
 *     (only offered on a DRM device, e.g. virtio-gpu; "skipped" over vtest).
 * With "nomap" nothing is mapped or checked (for hosts that cannot share memory): the commands
 * still run. Prints "exts: has <extension>" for each offered one, "exts: <step> ok" per step and
 * "exts: all ok"; on failure "exts: <call> failed: <n> (<name>)" or "exts: <step> wrong: ...", exit 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <vulkan/vulkan.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLIENT_NAME "exts"
#include "client_util.h"

enum { N = 4096, GROUP = 64 };

static VkDevice dev;
static VkQueue queue;
static VkCommandBuffer cb;
static VkFence fence;
static VkBuffer buf[2];
static uint32_t *mapped[2];
static int map = 1;

/* VK_EXT_device_memory_report: what the callback saw (a driver may report its own allocations too). */
enum { EVENTS = 64 };
static struct {
    int count;
    struct { VkDeviceMemoryReportEventTypeEXT type; uint64_t id, handle; VkObjectType object; } e[EVENTS];
} report;

static void VKAPI_PTR on_report(const VkDeviceMemoryReportCallbackDataEXT *d, void *user)
{
    if (user != &report || report.count >= EVENTS)
        return;
    report.e[report.count].type = d->type;
    report.e[report.count].id = d->memoryObjectId;
    report.e[report.count].handle = d->objectHandle;
    report.e[report.count].object = d->objectType;
    report.count++;
}

/* ALLOCATE events of device memory followed by a FREE with the same memoryObjectId. */
static int allocated_and_freed(void)
{
    int n = 0;
    for (int a = 0; a < report.count; a++) {
        if (report.e[a].type != VK_DEVICE_MEMORY_REPORT_EVENT_TYPE_ALLOCATE_EXT || report.e[a].object != VK_OBJECT_TYPE_DEVICE_MEMORY)
            continue;
        for (int f = a + 1; f < report.count; f++)
            if (report.e[f].type == VK_DEVICE_MEMORY_REPORT_EVENT_TYPE_FREE_EXT && report.e[f].id == report.e[a].id) {
                n++;
                break;
            }
    }
    return n;
}

static uint64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Input pattern for a step: in[i] = i * 5 + seed (in the buffer that is the input this time). */
static void fill(int in, uint32_t seed)
{
    for (uint32_t i = 0; map && i < N; i++) {
        mapped[in][i] = i * 5u + seed;
        mapped[1 - in][i] = 0xDEADBEEFu;
    }
}

/* out[i] == in[i] * 3 + 7 for i in [from, to); the rest untouched (0xDEADBEEF). */
static int verify(const char *step, int in, uint32_t seed, uint32_t from, uint32_t to)
{
    for (uint32_t i = 0; map && i < N; i++) {
        uint32_t want = i >= from && i < to ? (i * 5u + seed) * 3u + 7u : 0xDEADBEEFu;
        if (mapped[1 - in][i] != want)
            WRONG("%s wrong: out[%u] = 0x%08x, expected 0x%08x", step, i, mapped[1 - in][i], want);
    }
    return 0;
}

static int run(void)
{
    CHECK(vkEndCommandBuffer, cb);
    VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb };
    CHECK(vkQueueSubmit, queue, 1, &si, fence);
    CHECK(vkWaitForFences, dev, 1, &fence, VK_TRUE, UINT64_MAX);
    CHECK(vkResetFences, dev, 1, &fence);
    CHECK(vkResetCommandBuffer, cb, 0);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: %s SHADER.spv [nomap]\n", argv[0]);
        return 1;
    }
    map = !(argc > 2 && strcmp(argv[2], "nomap") == 0);
    size_t spv_size = 0;
    uint32_t *spv = read_spirv(argv[1], &spv_size);
    if (!spv)
        WRONG("cannot read %s", argv[1]);

    VkInstance instance;
    VkPhysicalDevice pd;
    VkPhysicalDeviceProperties props;
    if (first_device("venus-exts", &instance, &pd, &props))
        return 1;
    if (props.apiVersion < VK_API_VERSION_1_1)
        WRONG("device api below 1.1");

    /* What the device offers of the extensions under test. */
    static const char *wanted[] = {
        "VK_KHR_push_descriptor", "VK_KHR_descriptor_update_template", "VK_KHR_device_group",
        "VK_EXT_calibrated_timestamps", "VK_EXT_tooling_info", "VK_EXT_device_memory_report",
        "VK_EXT_physical_device_drm", "VK_EXT_pci_bus_info", "VK_EXT_extended_dynamic_state3",
    };
    enum { PUSH, TEMPLATE, GROUP_EXT, CALIBRATED, TOOLING, REPORT, DRM, PCI, EDS3, WANTED };
    int has[WANTED] = { 0 };
    uint32_t n_ext = 0;
    CHECK(vkEnumerateDeviceExtensionProperties, pd, NULL, &n_ext, NULL);
    VkExtensionProperties *exts = calloc(n_ext ? n_ext : 1, sizeof *exts);
    CHECK(vkEnumerateDeviceExtensionProperties, pd, NULL, &n_ext, exts);
    const char *enable[WANTED];
    uint32_t n_enable = 0;
    for (int w = 0; w < WANTED; w++)
        for (uint32_t i = 0; i < n_ext; i++)
            if (strcmp(exts[i].extensionName, wanted[w]) == 0) {
                has[w] = 1;
                enable[n_enable++] = wanted[w];
                printf("exts: has %s\n", wanted[w]);
            }

    VkPhysicalDeviceDeviceMemoryReportFeaturesEXT report_features = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DEVICE_MEMORY_REPORT_FEATURES_EXT,
    };
    if (has[REPORT]) {
        VkPhysicalDeviceFeatures2 f2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &report_features };
        vkGetPhysicalDeviceFeatures2(pd, &f2);
        if (!report_features.deviceMemoryReport)
            WRONG("memory-report wrong: deviceMemoryReport is not supported although the extension is offered");
    }
    VkDeviceDeviceMemoryReportCreateInfoEXT report_info = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_DEVICE_MEMORY_REPORT_CREATE_INFO_EXT, .pfnUserCallback = on_report, .pUserData = &report,
    };
    report_features.pNext = &report_info;

    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = 0, .queueCount = 1, .pQueuePriorities = &priority };
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = has[REPORT] ? &report_features : NULL,
        .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci, .enabledExtensionCount = n_enable, .ppEnabledExtensionNames = enable,
    };
    CHECK(vkCreateDevice, pd, &dci, NULL, &dev);
    vkGetDeviceQueue(dev, 0, 0, &queue);

    VkDeviceMemory mem[2];
    for (int i = 0; i < 2; i++) {
        VkBufferCreateInfo bci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = N * 4, .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT };
        CHECK(vkCreateBuffer, dev, &bci, NULL, &buf[i]);
        VkMemoryRequirements req;
        vkGetBufferMemoryRequirements(dev, buf[i], &req);
        VkMemoryPropertyFlags want = map ? (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) : 0;
        uint32_t type = find_memory_type(pd, req.memoryTypeBits, want);
        if (type == UINT32_MAX)
            WRONG("no memory type for buffer %d", i);
        VkMemoryAllocateInfo mai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = type };
        CHECK(vkAllocateMemory, dev, &mai, NULL, &mem[i]);
        CHECK(vkBindBufferMemory, dev, buf[i], mem[i], 0);
        if (map)
            CHECK(vkMapMemory, dev, mem[i], 0, VK_WHOLE_SIZE, 0, (void **)&mapped[i]);
    }

    VkShaderModuleCreateInfo smci = { .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = spv_size, .pCode = spv };
    VkShaderModule shader;
    CHECK(vkCreateShaderModule, dev, &smci, NULL, &shader);
    VkDescriptorSetLayoutBinding bindings[2] = {
        { .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT },
        { .binding = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT },
    };
    VkDescriptorSetLayoutCreateInfo dslci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .flags = has[PUSH] ? VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR : 0,
        .bindingCount = 2, .pBindings = bindings,
    };
    VkDescriptorSetLayout dsl;
    CHECK(vkCreateDescriptorSetLayout, dev, &dslci, NULL, &dsl);
    VkPushConstantRange pcr = { .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = 4 };
    VkPipelineLayoutCreateInfo plci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1, .pSetLayouts = &dsl,
        .pushConstantRangeCount = 1, .pPushConstantRanges = &pcr,
    };
    VkPipelineLayout layout;
    CHECK(vkCreatePipelineLayout, dev, &plci, NULL, &layout);
    VkComputePipelineCreateInfo cpci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .flags = has[GROUP_EXT] ? VK_PIPELINE_CREATE_DISPATCH_BASE_BIT : 0,
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
    VkCommandBufferBeginInfo begin = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };
    uint32_t n = N;

    /* 1. push: buf[0] in, buf[1] out; ignored fields hold garbage */
    PFN_vkCmdPushDescriptorSetKHR push = (PFN_vkCmdPushDescriptorSetKHR)vkGetDeviceProcAddr(dev, "vkCmdPushDescriptorSetKHR");
    if (!has[PUSH])
        printf("exts: push skipped (no VK_KHR_push_descriptor)\n");
    else if (!push)
        WRONG("push wrong: vkGetDeviceProcAddr(vkCmdPushDescriptorSetKHR) is NULL");
    else {
        fill(0, 11);
        VkDescriptorBufferInfo infos[2] = { { buf[0], 0, VK_WHOLE_SIZE }, { buf[1], 0, VK_WHOLE_SIZE } };
        VkWriteDescriptorSet writes[2];
        for (int i = 0; i < 2; i++)
            writes[i] = (VkWriteDescriptorSet){
                .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = (VkDescriptorSet)(uintptr_t)0x5151515151ull,
                .dstBinding = (uint32_t)i, .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                .pImageInfo = (const VkDescriptorImageInfo *)(uintptr_t)0x10, .pBufferInfo = &infos[i],
                .pTexelBufferView = (const VkBufferView *)(uintptr_t)0x20,
            };
        CHECK(vkBeginCommandBuffer, cb, &begin);
        vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
        push(cb, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 2, writes);
        vkCmdPushConstants(cb, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, 4, &n);
        vkCmdDispatch(cb, N / GROUP, 1, 1);
        if (run() || verify("push", 0, 11, 0, N))
            return 1;
        printf("exts: push ok\n");
    }

    /* 2. push-template: buf[1] in, buf[0] out, read from a struct at the entries' offsets */
    PFN_vkCmdPushDescriptorSetWithTemplateKHR push_template =
        (PFN_vkCmdPushDescriptorSetWithTemplateKHR)vkGetDeviceProcAddr(dev, "vkCmdPushDescriptorSetWithTemplateKHR");
    VkDescriptorUpdateTemplate tmpl = VK_NULL_HANDLE;
    struct { uint64_t pad; VkDescriptorBufferInfo out; uint32_t pad2[3]; VkDescriptorBufferInfo in; } data = {
        .pad = 0x7777, .out = { buf[0], 0, VK_WHOLE_SIZE }, .in = { buf[1], 0, VK_WHOLE_SIZE },
    };
    if (!has[PUSH])
        printf("exts: push-template skipped (no VK_KHR_push_descriptor)\n");
    else if (!push_template)
        WRONG("push-template wrong: vkGetDeviceProcAddr(vkCmdPushDescriptorSetWithTemplateKHR) is NULL");
    else {
        VkDescriptorUpdateTemplateEntry entries[2] = {
            { .dstBinding = 1, .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
              .offset = offsetof(__typeof__(data), out), .stride = sizeof(VkDescriptorBufferInfo) },
            { .dstBinding = 0, .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
              .offset = offsetof(__typeof__(data), in), .stride = 0 },
        };
        VkDescriptorUpdateTemplateCreateInfo tci = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_UPDATE_TEMPLATE_CREATE_INFO, .descriptorUpdateEntryCount = 2,
            .pDescriptorUpdateEntries = entries, .templateType = VK_DESCRIPTOR_UPDATE_TEMPLATE_TYPE_PUSH_DESCRIPTORS_KHR,
            .descriptorSetLayout = dsl, .pipelineBindPoint = VK_PIPELINE_BIND_POINT_COMPUTE, .pipelineLayout = layout, .set = 0,
        };
        CHECK(vkCreateDescriptorUpdateTemplate, dev, &tci, NULL, &tmpl);
        fill(1, 23);
        CHECK(vkBeginCommandBuffer, cb, &begin);
        vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
        push_template(cb, tmpl, layout, 0, &data);
        vkCmdPushConstants(cb, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, 4, &n);
        vkCmdDispatch(cb, N / GROUP, 1, 1);
        if (run() || verify("push-template", 1, 23, 0, N))
            return 1;
        printf("exts: push-template ok\n");
    }

    /* 3. device-group: the second half of the work through a dispatch base, device mask 1 */
    PFN_vkCmdSetDeviceMaskKHR set_mask = (PFN_vkCmdSetDeviceMaskKHR)vkGetDeviceProcAddr(dev, "vkCmdSetDeviceMaskKHR");
    PFN_vkCmdDispatchBaseKHR dispatch_base = (PFN_vkCmdDispatchBaseKHR)vkGetDeviceProcAddr(dev, "vkCmdDispatchBaseKHR");
    if (!has[GROUP_EXT] || !has[PUSH])
        printf("exts: device-group skipped (no VK_KHR_device_group or VK_KHR_push_descriptor)\n");
    else if (!set_mask || !dispatch_base)
        WRONG("device-group wrong: vkGetDeviceProcAddr of vkCmdSetDeviceMaskKHR/vkCmdDispatchBaseKHR is NULL");
    else {
        fill(1, 37);
        CHECK(vkBeginCommandBuffer, cb, &begin);
        set_mask(cb, 1);
        vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
        push_template(cb, tmpl, layout, 0, &data);
        vkCmdPushConstants(cb, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, 4, &n);
        dispatch_base(cb, N / GROUP / 2, 0, 0, N / GROUP / 2, 1, 1);
        if (run() || verify("device-group", 1, 37, N / 2, N))
            return 1;
        printf("exts: device-group ok\n");
    }

    /* 4. calibrated timestamps */
    PFN_vkGetPhysicalDeviceCalibrateableTimeDomainsEXT domains_fn =
        (PFN_vkGetPhysicalDeviceCalibrateableTimeDomainsEXT)vkGetInstanceProcAddr(instance, "vkGetPhysicalDeviceCalibrateableTimeDomainsEXT");
    PFN_vkGetCalibratedTimestampsEXT stamps_fn = (PFN_vkGetCalibratedTimestampsEXT)vkGetDeviceProcAddr(dev, "vkGetCalibratedTimestampsEXT");
    if (!has[CALIBRATED])
        printf("exts: calibrated skipped (no VK_EXT_calibrated_timestamps)\n");
    else if (!domains_fn || !stamps_fn)
        WRONG("calibrated wrong: a command of VK_EXT_calibrated_timestamps is NULL");
    else {
        uint32_t n_dom = 0;
        CHECK(domains_fn, pd, &n_dom, NULL);
        VkTimeDomainEXT doms[8];
        if (n_dom > 8)
            n_dom = 8;
        VkResult dr = domains_fn(pd, &n_dom, doms);
        if (dr != VK_SUCCESS && dr != VK_INCOMPLETE)
            WRONG("calibrated wrong: vkGetPhysicalDeviceCalibrateableTimeDomainsEXT gave %d", (int)dr);
        int has_device = 0, has_mono = 0;
        for (uint32_t i = 0; i < n_dom; i++) {
            printf("exts: time domain %d\n", (int)doms[i]);
            has_device |= doms[i] == VK_TIME_DOMAIN_DEVICE_EXT;
            has_mono |= doms[i] == VK_TIME_DOMAIN_CLOCK_MONOTONIC_EXT;
        }
        if (!has_device || !has_mono)
            WRONG("calibrated wrong: DEVICE (%d) or CLOCK_MONOTONIC (%d) missing", has_device, has_mono);
        VkCalibratedTimestampInfoEXT infos[2] = {
            { .sType = VK_STRUCTURE_TYPE_CALIBRATED_TIMESTAMP_INFO_EXT, .timeDomain = VK_TIME_DOMAIN_DEVICE_EXT },
            { .sType = VK_STRUCTURE_TYPE_CALIBRATED_TIMESTAMP_INFO_EXT, .timeDomain = VK_TIME_DOMAIN_CLOCK_MONOTONIC_EXT },
        };
        uint64_t stamps[2] = { 0, 0 }, deviation = 0;
        uint64_t before = clock_ns();
        CHECK(stamps_fn, dev, 2, infos, stamps, &deviation);
        uint64_t after = clock_ns();
        printf("exts: calibrated device=%llu monotonic=%llu deviation=%llu ns (call took %llu ns)\n",
               (unsigned long long)stamps[0], (unsigned long long)stamps[1], (unsigned long long)deviation,
               (unsigned long long)(after - before));
        if (stamps[0] == 0 || deviation == 0 || stamps[1] < before || stamps[1] > after)
            WRONG("calibrated wrong: device %llu, monotonic %llu outside [%llu, %llu] or deviation %llu",
                  (unsigned long long)stamps[0], (unsigned long long)stamps[1], (unsigned long long)before,
                  (unsigned long long)after, (unsigned long long)deviation);
        printf("exts: calibrated ok\n");
    }

    /* 5. tooling */
    PFN_vkGetPhysicalDeviceToolPropertiesEXT tools_fn =
        (PFN_vkGetPhysicalDeviceToolPropertiesEXT)vkGetInstanceProcAddr(instance, "vkGetPhysicalDeviceToolPropertiesEXT");
    if (!has[TOOLING])
        printf("exts: tooling skipped (no VK_EXT_tooling_info)\n");
    else if (!tools_fn)
        WRONG("tooling wrong: vkGetPhysicalDeviceToolPropertiesEXT is NULL");
    else {
        uint32_t n_tools = 99;
        CHECK(tools_fn, pd, &n_tools, NULL);
        printf("exts: tooling %u tool(s)\n", n_tools);
        printf("exts: tooling ok\n");
    }

    /* 7. drm and pci bus info (before the teardown of step 6) */
    if (!has[DRM])
        printf("exts: drm skipped (no VK_EXT_physical_device_drm)\n");
    else {
        VkPhysicalDevicePCIBusInfoPropertiesEXT pci_info = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PCI_BUS_INFO_PROPERTIES_EXT };
        VkPhysicalDeviceDrmPropertiesEXT drm = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRM_PROPERTIES_EXT, .pNext = has[PCI] ? &pci_info : NULL,
        };
        VkPhysicalDeviceProperties2 p2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &drm };
        vkGetPhysicalDeviceProperties2(pd, &p2);
        printf("exts: drm primary=%u %lld:%lld render=%u %lld:%lld\n", drm.hasPrimary, (long long)drm.primaryMajor,
               (long long)drm.primaryMinor, drm.hasRender, (long long)drm.renderMajor, (long long)drm.renderMinor);
        if (has[PCI])
            printf("exts: pci %04x:%02x:%02x.%x\n", pci_info.pciDomain, pci_info.pciBus, pci_info.pciDevice, pci_info.pciFunction);
        if (!drm.hasRender)
            WRONG("drm wrong: no render node");
        printf("exts: drm ok\n");
    }

    if (tmpl)
        vkDestroyDescriptorUpdateTemplate(dev, tmpl, NULL);
    vkDestroyCommandPool(dev, pool, NULL);
    vkDestroyFence(dev, fence, NULL);
    vkDestroyPipeline(dev, pipeline, NULL);
    vkDestroyPipelineLayout(dev, layout, NULL);
    vkDestroyDescriptorSetLayout(dev, dsl, NULL);
    vkDestroyShaderModule(dev, shader, NULL);
    for (int i = 0; i < 2; i++) {
        vkDestroyBuffer(dev, buf[i], NULL);
        vkFreeMemory(dev, mem[i], NULL);
    }

    /* 6. memory-report: our two memories allocated, then freed (by memoryObjectId; the handles a
     * layer shows the app may differ from the driver's, and a driver may report its own memory) */
    if (!has[REPORT])
        printf("exts: memory-report skipped (no VK_EXT_device_memory_report)\n");
    else {
        int pairs = allocated_and_freed();
        if (pairs < 2)
            WRONG("memory-report wrong: %d allocations reported with their frees, expected at least 2 (%d events)", pairs, report.count);
        printf("exts: memory-report ok (%d events)\n", report.count);
    }

    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(instance, NULL);
    free(exts);
    free(spv);
    printf("exts: all ok\n");
    return 0;
}
