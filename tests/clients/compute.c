/*
 * A small Vulkan 1.1 compute client for interop tests (tests/Venus.Interop.Tests).
 *
 *   compute SHADER.spv [N [TIMEOUT_S]]
 *
 * Creates an instance (apiVersion 1.1), takes physical device 0 and a compute queue, allocates
 * HOST_VISIBLE|HOST_COHERENT memory for two storage buffers of N uint32 (default 1<<20), maps both,
 * fills the input with a pattern, runs SHADER (out[i] = in[i] * 3 + 7, compute.comp), submits with
 * a fence, waits, checks every output value and prints one summary line:
 *
 *   compute: N=1048576 ok wall_ms=12.3 init_ms=... submit_wait_us=... verify_us=...
 *
 * Exit codes: 0 all values match; 1 a value is wrong or a usage/file error; 2 a Vulkan call failed
 * ("compute: <call> failed: <VkResult number> (<VkResult name>)"); 3 the whole run took longer than
 * TIMEOUT_S (default 60; "compute: timeout after S s in <stage>"), e.g. because the driver hung.
 * TIMEOUT_S 0 = no guard. Progress lines ("compute: stage ...") go to stderr when COMPUTE_VERBOSE is set.
 *
 * COMPUTE_INVALID_USAGE=1 adds one deliberate valid-usage error before the job (a buffer created with
 * usage 0, then destroyed; drivers accept it): a validation layer must report it, which proves that a
 * run without reports really ran under the layer (tests/Venus.GuestIcd.Tests).
 */
#define _POSIX_C_SOURCE 200809L
#include <vulkan/vulkan.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_NAME "compute"
#include "client_util.h"

static const char *volatile g_stage = "start";
static unsigned g_timeout_s = 60;
static int g_verbose;

static void stage(const char *name)
{
    g_stage = name;
    if (g_verbose)
        fprintf(stderr, "compute: stage %s\n", name);
}

static void on_alarm(int sig)
{
    (void)sig;
    /* Only async-signal-safe calls here. */
    char buf[256];
    const char *s = g_stage;
    int len = 0;
    const char *head = "compute: timeout after ";
    while (*head && len < 200) buf[len++] = *head++;
    char digits[16];
    int nd = 0;
    unsigned t = g_timeout_s;
    do { digits[nd++] = (char)('0' + t % 10); t /= 10; } while (t && nd < 15);
    while (nd) buf[len++] = digits[--nd];
    const char *mid = " s in ";
    while (*mid) buf[len++] = *mid++;
    while (*s && len < 250) buf[len++] = *s++;
    buf[len++] = '\n';
    ssize_t ignored = write(STDOUT_FILENO, buf, (size_t)len);
    (void)ignored;
    _exit(3);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Calls NAME(...); on any result but VK_SUCCESS prints "compute: NAME failed: <VkResult> (<name>)", exit 2. */
#define VK(name, ...)                                                                \
    do {                                                                             \
        stage(#name);                                                                \
        VkResult r_ = name(__VA_ARGS__);                                             \
        if (r_ != VK_SUCCESS) {                                                      \
            printf("compute: %s failed: %d (%s)\n", #name, (int)r_, vk_result_name(r_)); \
            fflush(stdout);                                                          \
            exit(2);                                                                 \
        }                                                                            \
    } while (0)

static uint32_t pick_memory_type(const VkPhysicalDeviceMemoryProperties *props, uint32_t bits,
                                 VkMemoryPropertyFlags want)
{
    for (uint32_t i = 0; i < props->memoryTypeCount; i++)
        if ((bits & (1u << i)) && (props->memoryTypes[i].propertyFlags & want) == want)
            return i;
    return UINT32_MAX;
}

static uint32_t pattern(uint32_t i) { return i * 2654435761u ^ 0x5bd1e995u; }

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s SHADER.spv [N [TIMEOUT_S]]\n", argv[0]);
        return 1;
    }
    uint32_t n = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : (1u << 20);
    if (argc > 3)
        g_timeout_s = (unsigned)strtoul(argv[3], NULL, 0);
    if (n == 0) {
        fprintf(stderr, "compute: N must be > 0\n");
        return 1;
    }
    g_verbose = getenv("COMPUTE_VERBOSE") != NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_alarm);
    alarm(g_timeout_s);

    size_t spv_size = 0;
    uint32_t *spv = read_spirv(argv[1], &spv_size);
    if (!spv) {
        printf("compute: cannot read SPIR-V from %s\n", argv[1]);
        return 1;
    }

    double t0 = now_us();

    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "venus-interop-compute",
        .applicationVersion = 1,
        .pEngineName = "none",
        .apiVersion = VK_API_VERSION_1_1,
    };
    VkInstanceCreateInfo ici = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pApplicationInfo = &app,
    };
    VkInstance instance;
    VK(vkCreateInstance, &ici, NULL, &instance);

    uint32_t count = 0;
    VK(vkEnumeratePhysicalDevices, instance, &count, NULL);
    if (count == 0) {
        printf("compute: no physical device\n");
        return 2;
    }
    VkPhysicalDevice pds[16];
    if (count > 16)
        count = 16;
    stage("vkEnumeratePhysicalDevices");
    VkResult er = vkEnumeratePhysicalDevices(instance, &count, pds);
    if (er != VK_SUCCESS && er != VK_INCOMPLETE) {
        printf("compute: vkEnumeratePhysicalDevices failed: %d (%s)\n", (int)er, vk_result_name(er));
        return 2;
    }
    VkPhysicalDevice pd = pds[0];

    stage("vkGetPhysicalDeviceProperties");
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(pd, &props);
    printf("compute: device=\"%s\" api=%u.%u.%u\n", props.deviceName, VK_API_VERSION_MAJOR(props.apiVersion),
           VK_API_VERSION_MINOR(props.apiVersion), VK_API_VERSION_PATCH(props.apiVersion));

    stage("vkGetPhysicalDeviceQueueFamilyProperties");
    uint32_t qf_count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &qf_count, NULL);
    VkQueueFamilyProperties qfs[32];
    if (qf_count > 32)
        qf_count = 32;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &qf_count, qfs);
    uint32_t qf = UINT32_MAX;
    for (uint32_t i = 0; i < qf_count; i++)
        if (qfs[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
            qf = i;
            break;
        }
    if (qf == UINT32_MAX) {
        printf("compute: no compute queue family\n");
        return 2;
    }

    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = qf,
        .queueCount = 1,
        .pQueuePriorities = &priority,
    };
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
    };
    VkDevice device;
    VK(vkCreateDevice, pd, &dci, NULL, &device);
    VkQueue queue;
    stage("vkGetDeviceQueue");
    vkGetDeviceQueue(device, qf, 0, &queue);

    if (getenv("COMPUTE_INVALID_USAGE")) {
        /* VUID-VkBufferCreateInfo-None-09500 (usage must not be 0): the decoy for validation runs. */
        VkBufferCreateInfo bad = {
            .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
            .size = 256,
            .usage = 0,
            .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
        };
        VkBuffer decoy;
        stage("vkCreateBuffer (deliberately invalid: usage 0)");
        if (vkCreateBuffer(device, &bad, NULL, &decoy) == VK_SUCCESS)
            vkDestroyBuffer(device, decoy, NULL);
        printf("compute: made one deliberate valid-usage error (vkCreateBuffer with usage 0)\n");
    }

    /* Two storage buffers, each in its own HOST_VISIBLE|HOST_COHERENT allocation. */
    VkDeviceSize bytes = (VkDeviceSize)n * sizeof(uint32_t);
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = bytes,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkBuffer buffers[2];
    VkDeviceMemory memories[2];
    uint32_t *maps[2];
    VkPhysicalDeviceMemoryProperties mem_props;
    stage("vkGetPhysicalDeviceMemoryProperties");
    vkGetPhysicalDeviceMemoryProperties(pd, &mem_props);
    for (int b = 0; b < 2; b++) {
        VK(vkCreateBuffer, device, &bci, NULL, &buffers[b]);
        VkMemoryRequirements req;
        stage("vkGetBufferMemoryRequirements");
        vkGetBufferMemoryRequirements(device, buffers[b], &req);
        uint32_t type = pick_memory_type(&mem_props, req.memoryTypeBits,
                                         VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
        if (type == UINT32_MAX) {
            printf("compute: no HOST_VISIBLE|HOST_COHERENT memory type in bits 0x%x\n", req.memoryTypeBits);
            return 2;
        }
        VkMemoryAllocateInfo mai = {
            .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
            .allocationSize = req.size,
            .memoryTypeIndex = type,
        };
        VK(vkAllocateMemory, device, &mai, NULL, &memories[b]);
        VK(vkBindBufferMemory, device, buffers[b], memories[b], 0);
        void *p;
        VK(vkMapMemory, device, memories[b], 0, VK_WHOLE_SIZE, 0, &p);
        maps[b] = p;
    }

    stage("fill input");
    for (uint32_t i = 0; i < n; i++) {
        maps[0][i] = pattern(i);
        maps[1][i] = 0xdeadbeefu;
    }

    VkShaderModuleCreateInfo smci = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = spv_size,
        .pCode = spv,
    };
    VkShaderModule shader;
    VK(vkCreateShaderModule, device, &smci, NULL, &shader);

    VkDescriptorSetLayoutBinding bindings[2] = {
        { .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1,
          .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT },
        { .binding = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1,
          .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT },
    };
    VkDescriptorSetLayoutCreateInfo dslci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = 2,
        .pBindings = bindings,
    };
    VkDescriptorSetLayout dsl;
    VK(vkCreateDescriptorSetLayout, device, &dslci, NULL, &dsl);

    VkPushConstantRange pcr = { .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = 4 };
    VkPipelineLayoutCreateInfo plci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &dsl,
        .pushConstantRangeCount = 1,
        .pPushConstantRanges = &pcr,
    };
    VkPipelineLayout layout;
    VK(vkCreatePipelineLayout, device, &plci, NULL, &layout);

    VkComputePipelineCreateInfo cpci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
            .stage = VK_SHADER_STAGE_COMPUTE_BIT,
            .module = shader,
            .pName = "main",
        },
        .layout = layout,
    };
    VkPipeline pipeline;
    VK(vkCreateComputePipelines, device, VK_NULL_HANDLE, 1, &cpci, NULL, &pipeline);

    VkDescriptorPoolSize pool_size = { .type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 2 };
    VkDescriptorPoolCreateInfo dpci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = 1,
        .poolSizeCount = 1,
        .pPoolSizes = &pool_size,
    };
    VkDescriptorPool pool;
    VK(vkCreateDescriptorPool, device, &dpci, NULL, &pool);
    VkDescriptorSetAllocateInfo dsai = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
        .descriptorPool = pool,
        .descriptorSetCount = 1,
        .pSetLayouts = &dsl,
    };
    VkDescriptorSet set;
    VK(vkAllocateDescriptorSets, device, &dsai, &set);
    VkDescriptorBufferInfo dbi[2] = {
        { .buffer = buffers[0], .offset = 0, .range = VK_WHOLE_SIZE },
        { .buffer = buffers[1], .offset = 0, .range = VK_WHOLE_SIZE },
    };
    VkWriteDescriptorSet writes[2];
    for (int b = 0; b < 2; b++)
        writes[b] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = set,
            .dstBinding = (uint32_t)b,
            .descriptorCount = 1,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .pBufferInfo = &dbi[b],
        };
    stage("vkUpdateDescriptorSets");
    vkUpdateDescriptorSets(device, 2, writes, 0, NULL);

    VkCommandPoolCreateInfo cpoolci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .queueFamilyIndex = qf,
    };
    VkCommandPool cmd_pool;
    VK(vkCreateCommandPool, device, &cpoolci, NULL, &cmd_pool);
    VkCommandBufferAllocateInfo cbai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = cmd_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    VkCommandBuffer cmd;
    VK(vkAllocateCommandBuffers, device, &cbai, &cmd);

    VkCommandBufferBeginInfo cbbi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    VK(vkBeginCommandBuffer, cmd, &cbbi);
    stage("record");
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, NULL);
    vkCmdPushConstants(cmd, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, 4, &n);
    vkCmdDispatch(cmd, (n + 63) / 64, 1, 1);
    VkMemoryBarrier barrier = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
    };
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier, 0,
                         NULL, 0, NULL);
    VK(vkEndCommandBuffer, cmd);

    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    VkFence fence;
    VK(vkCreateFence, device, &fci, NULL, &fence);

    double t_init = now_us();
    VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &cmd,
    };
    VK(vkQueueSubmit, queue, 1, &si, fence);
    VK(vkWaitForFences, device, 1, &fence, VK_TRUE, UINT64_MAX);
    double t_done = now_us();

    stage("verify");
    uint32_t bad = 0, first_bad = UINT32_MAX, first_got = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (maps[1][i] != pattern(i) * 3u + 7u) {
            if (first_bad == UINT32_MAX) {
                first_bad = i;
                first_got = maps[1][i];
            }
            bad++;
        }
    }
    double t_verify = now_us();

    stage("teardown");
    vkDestroyFence(device, fence, NULL);
    vkFreeCommandBuffers(device, cmd_pool, 1, &cmd);
    vkDestroyCommandPool(device, cmd_pool, NULL);
    vkDestroyDescriptorPool(device, pool, NULL);
    vkDestroyPipeline(device, pipeline, NULL);
    vkDestroyPipelineLayout(device, layout, NULL);
    vkDestroyDescriptorSetLayout(device, dsl, NULL);
    vkDestroyShaderModule(device, shader, NULL);
    for (int b = 0; b < 2; b++) {
        vkUnmapMemory(device, memories[b]);
        vkDestroyBuffer(device, buffers[b], NULL);
        vkFreeMemory(device, memories[b], NULL);
    }
    stage("vkDestroyDevice");
    vkDestroyDevice(device, NULL);
    stage("vkDestroyInstance");
    vkDestroyInstance(instance, NULL);
    double t_end = now_us();
    alarm(0);
    free(spv);

    if (bad) {
        printf("compute: N=%u MISMATCH %u values, first at i=%u (got 0x%08x, expected 0x%08x) wall_ms=%.1f\n", n, bad,
               first_bad, first_got, pattern(first_bad) * 3u + 7u, (t_end - t0) / 1e3);
        return 1;
    }
    printf("compute: N=%u ok wall_ms=%.1f init_ms=%.1f submit_wait_us=%.0f verify_us=%.0f teardown_ms=%.1f\n", n,
           (t_end - t0) / 1e3, (t_init - t0) / 1e3, t_done - t_init, t_verify - t_done, (t_end - t_verify) / 1e3);
    return 0;
}
