/*
 * icdbench: application-level costs of a Vulkan driver, for comparing guest ICDs (ours, Mesa's
 * venus) on a vtest host with the native driver (eng/bench-icd.sh runs it).
 *
 *   icdbench SHADER.spv [--cmds N] [--submits N] [--queries N] [--reps N] [--timeout S]
 *
 * SHADER.spv is bench/clients/icdbench.comp compiled with glslangValidator -V. Vulkan 1.1 API only,
 * one compute queue, no render pass, and no vkMapMemory anywhere (Mesa's guest on virglrenderer
 * 1.1.0 hangs in vkMapMemory on lavapipe: README.md). One line per result on stdout:
 *
 *   info device "<name>" api X.Y.Z driver <id>
 *   metric <name> <value>
 *   icdbench: ok
 *
 * Metrics (medians unless the name says otherwise):
 *   init_ms                       vkCreateInstance .. compute pipeline, descriptor sets and command buffers ready
 *   record_mix_ns_per_cmd         --cmds commands (default 100000) recorded into one command buffer between
 *                                 Begin and End, as a loop of vkCmdBindPipeline + vkCmdBindDescriptorSets
 *                                 (alternating two sets) + vkCmdPushConstants + vkCmdDispatch; only the
 *                                 recording calls are timed (CLOCK_MONOTONIC); median of --reps (default 5)
 *   record_dispatch_ns_per_cmd    the same with vkCmdDispatch alone (pipeline and set bound before the clock)
 *   record_query_ns_per_cmd       --cmds / 10 commands recorded as pairs of vkCmdResetQueryPool +
 *                                 vkCmdWriteTimestamp on a 64-query timestamp pool (never submitted)
 *   submit_wait_us_median/_p90    vkQueueSubmit of a pre-recorded command buffer (one 64-thread dispatch)
 *                                 with a fence + vkWaitForFences + vkResetFences, --submits times (default
 *                                 2000) after 50 warm-up iterations
 *   fence_status_ns               vkGetFenceStatus of a signalled fence (batches of 100): a round trip unless
 *                                 the driver reads a feedback slot (Mesa; ours unless VENUS_PERF=no_fence_feedback)
 *   query_subresource_layout_us   vkGetImageSubresourceLayout on 8 linear images in turn, --queries times
 *   query_dsl_support_us          vkGetDescriptorSetLayoutSupport with descriptorCount 1..64 in turn
 *   query_local_ns                vkGetBufferMemoryRequirements (batches of 1000): a query guest drivers
 *                                 can answer locally, the floor of a call through the loader and the ICD
 *   create_buffer_ns              vkCreateBuffer + vkDestroyBuffer of a small storage buffer (batches of 100):
 *                                 two round trips unless the driver creates without waiting (Mesa with its
 *                                 buffer requirements cache; ours unless VENUS_PERF=no_async_create)
 *   create_image_ns               vkCreateImage + vkDestroyImage of a 16x16 RGBA8 optimal sampled image (batches
 *                                 of 100): a round trip unless the driver creates without waiting (Mesa and ours
 *                                 with their image requirements caches, after the first image of that create info)
 *   empty_call_ns                 a driver function that does nothing (batches of 1000): only our ICD has one,
 *                                 vkVenusBenchEmpty from vkGetDeviceProcAddr, the floor of any call into it
 *                                 (NativeAOT's reverse P/Invoke transition); absent for other drivers
 *   event_status_ns               vkGetEventStatus of an unset event (batches of 100): a round trip unless
 *                                 the driver reads a feedback slot (Mesa; ours unless VENUS_PERF=no_event_feedback)
 *   query_results_ns              vkGetQueryPoolResults (64-bit, with availability) of one written timestamp query
 *                                 (batches of 100): a round trip unless the driver reads a feedback buffer (Mesa
 *                                 unless VN_PERF=no_query_feedback; ours unless VENUS_PERF=no_query_feedback)
 *   mt1_call_us, mt4_call_us      vkGetDescriptorSetLayoutSupport (a round trip, as query_dsl_support_us) from 1,
 *                                 then from 4 threads at once, --queries calls per thread: the median per-call
 *                                 latency over all calls. With one shared ring the 4 threads wait behind each
 *                                 other's round trips; with a ring per thread (ours with
 *                                 VENUS_PERF=thread_rings) the host answers them on separate threads
 *
 * Why these two synchronous queries: they must cost a host round trip on every call through Mesa
 * 25.0's venus too, so they measure the round trip and not a guest cache. In Mesa 25.0
 * (src/virtio/vulkan):
 *   - vn_GetImageSubresourceLayout always does vn_call_vkGetImageSubresourceLayout ("TODO local
 *     cache"; vn_image.c).
 *   - vn_GetDescriptorSetLayoutSupport always does vn_call_vkGetDescriptorSetLayoutSupport ("TODO
 *     per-device cache"; vn_descriptor_set.c).
 * Rejected:
 *   - vkGetBufferMemoryRequirements/vkGetImageMemoryRequirements: Mesa answers from requirements it
 *     fetched (or took from its cache) at vkCreateBuffer/vkCreateImage (vn_buffer.c, vn_image.c);
 *     that is why it serves as query_local_ns here.
 *   - vkGetPhysicalDeviceImageFormatProperties(2): Mesa keeps an LRU cache of the answers
 *     (vn_image_format_properties_cache, vn_physical_device.c); only cycling through more argument
 *     sets than the cache holds would force round trips, which measures the cache policy.
 *   - vkGetQueryPoolResults: query pools get a feedback buffer unless VN_PERF=no_query_feedback, and
 *     the results are read from it (vn_query_pool.c); the buffer is mapped memory, which also makes
 *     the call hang on virglrenderer here.
 *   - vkGetFenceStatus/vkWaitForFences: fences have feedback slots too; Mesa polls the slot
 *     (vn_relax: 255 thread yields, then sleeps of VN_RELAX_BASE_SLEEP_US, 160 us by default) and,
 *     once it is signalled, sends an asynchronous vkWaitForFences to the host (vn_queue.c). So
 *     submit_wait through Mesa measures that poll loop, not a round trip.
 *   - vkGetDeviceMemoryCommitment: only valid on LAZILY_ALLOCATED memory, which lavapipe lacks.
 * BENCH_VERIFY=1 bash eng/bench-icd.sh checks the choice on the wire: it records what venus-host
 * receives from a short icdbench run and counts the commands of each kind.
 *
 * Exit codes: 0 ok; 1 usage or file error; 2 a Vulkan call failed ("icdbench: <call> failed:
 * <VkResult>"); 3 the run took longer than --timeout S (default 120, 0 = none; "icdbench: timeout
 * after S s in <stage>"), e.g. because the driver hung. ICDBENCH_VERBOSE=1 prints each stage on stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include <vulkan/vulkan.h>

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *volatile g_stage = "start";
static unsigned g_timeout_s = 120;
static int g_verbose;

static void stage(const char *name)
{
    g_stage = name;
    if (g_verbose)
        fprintf(stderr, "icdbench: stage %s\n", name);
}

static void put(char *buf, int *len, const char *s)
{
    while (*s && *len < 250)
        buf[(*len)++] = *s++;
}

static void on_alarm(int sig)
{
    (void)sig;
    /* Async-signal-safe only. */
    char buf[256], digits[16];
    int len = 0, nd = 0;
    unsigned t = g_timeout_s;
    put(buf, &len, "icdbench: timeout after ");
    do { digits[nd++] = (char)('0' + t % 10); t /= 10; } while (t && nd < 15);
    while (nd) buf[len++] = digits[--nd];
    put(buf, &len, " s in ");
    put(buf, &len, g_stage);
    buf[len++] = '\n';
    ssize_t ignored = write(STDOUT_FILENO, buf, (size_t)len);
    (void)ignored;
    _exit(3);
}

static const char *result_name(VkResult r)
{
    switch (r) {
#define R(x) case x: return #x;
    R(VK_SUCCESS) R(VK_NOT_READY) R(VK_TIMEOUT) R(VK_EVENT_SET) R(VK_EVENT_RESET) R(VK_INCOMPLETE)
    R(VK_ERROR_OUT_OF_HOST_MEMORY) R(VK_ERROR_OUT_OF_DEVICE_MEMORY) R(VK_ERROR_INITIALIZATION_FAILED)
    R(VK_ERROR_DEVICE_LOST) R(VK_ERROR_MEMORY_MAP_FAILED) R(VK_ERROR_LAYER_NOT_PRESENT)
    R(VK_ERROR_EXTENSION_NOT_PRESENT) R(VK_ERROR_FEATURE_NOT_PRESENT) R(VK_ERROR_INCOMPATIBLE_DRIVER)
    R(VK_ERROR_TOO_MANY_OBJECTS) R(VK_ERROR_FORMAT_NOT_SUPPORTED) R(VK_ERROR_FRAGMENTED_POOL)
    R(VK_ERROR_UNKNOWN) R(VK_ERROR_OUT_OF_POOL_MEMORY) R(VK_ERROR_INVALID_EXTERNAL_HANDLE)
#undef R
    default: return "VkResult";
    }
}

static void fail_vk(const char *call, VkResult r)
{
    printf("icdbench: %s failed: %s (%d)\n", call, result_name(r), (int)r);
    fflush(stdout);
    exit(2);
}

/* Calls NAME(...); any result but VK_SUCCESS ends the run with exit code 2. */
#define VK(name, ...)                                                                \
    do {                                                                             \
        stage(#name);                                                                \
        VkResult r_ = name(__VA_ARGS__);                                             \
        if (r_ != VK_SUCCESS)                                                        \
            fail_vk(#name, r_);                                                      \
    } while (0)

static void die(const char *msg)
{
    printf("icdbench: %s\n", msg);
    fflush(stdout);
    exit(2);
}

static inline double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Percentile p (0..100) of v[0..n), nearest rank; sorts v. */
static double percentile(double *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, cmp_double);
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint32_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (len <= 0 || len % 4) {
        fclose(f);
        return NULL;
    }
    uint32_t *data = malloc((size_t)len);
    if (data && fread(data, 1, (size_t)len, f) != (size_t)len) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *size = (size_t)len;
    return data;
}

/* mt*_call_us: one thread's share of the multi-threaded round trips. */
struct mt_job {
    VkDevice device;
    unsigned long calls;
    double *samples; /* calls entries, microseconds */
    unsigned long unsupported;
};

static void *mt_worker(void *arg)
{
    struct mt_job *job = arg;
    VkDescriptorSetLayoutBinding b = {
        .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
    VkDescriptorSetLayoutCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 1, .pBindings = &b,
    };
    for (unsigned long i = 0; i < 10 + job->calls; i++) {
        VkDescriptorSetLayoutSupport support = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_SUPPORT };
        b.descriptorCount = 1 + (uint32_t)(i % 64);
        double t0 = now_ns();
        vkGetDescriptorSetLayoutSupport(job->device, &ci, &support);
        double dt = now_ns() - t0;
        job->unsupported += !support.supported;
        if (i >= 10)
            job->samples[i - 10] = dt / 1e3;
    }
    return NULL;
}

/* Median per-call latency of `threads` threads doing `calls` round trips each, all at once. */
static double mt_round_trips(VkDevice device, int threads, unsigned long calls)
{
    struct mt_job jobs[8];
    pthread_t ids[8];
    double *all = calloc((size_t)threads * calls, sizeof(double));
    if (!all)
        die("out of memory");
    for (int t = 0; t < threads; t++) {
        jobs[t] = (struct mt_job){ .device = device, .calls = calls, .samples = all + (size_t)t * calls };
        if (pthread_create(&ids[t], NULL, mt_worker, &jobs[t]) != 0)
            die("pthread_create failed");
    }
    unsigned long unsupported = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(ids[t], NULL);
        unsupported += jobs[t].unsupported;
    }
    if (unsupported)
        die("vkGetDescriptorSetLayoutSupport said a 1..64 storage-buffer layout is unsupported (threads)");
    double m = median(all, (size_t)threads * calls);
    free(all);
    return m;
}

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s SHADER.spv [--cmds N] [--submits N] [--queries N] [--reps N] [--timeout S]\n", argv0);
    exit(1);
}

#define IMAGES 8

int main(int argc, char **argv)
{
    const char *spv_path = NULL;
    unsigned long cmds = 100000, submits = 2000, queries = 2000, reps = 5;
    for (int i = 1; i < argc; i++) {
        unsigned long *dst = NULL;
        if (!strcmp(argv[i], "--cmds")) dst = &cmds;
        else if (!strcmp(argv[i], "--submits")) dst = &submits;
        else if (!strcmp(argv[i], "--queries")) dst = &queries;
        else if (!strcmp(argv[i], "--reps")) dst = &reps;
        else if (!strcmp(argv[i], "--timeout")) {
            if (++i >= argc) usage(argv[0]);
            g_timeout_s = (unsigned)strtoul(argv[i], NULL, 0);
            continue;
        } else if (argv[i][0] == '-' || spv_path) usage(argv[0]);
        else { spv_path = argv[i]; continue; }
        if (++i >= argc) usage(argv[0]);
        *dst = strtoul(argv[i], NULL, 0);
        if (*dst == 0) usage(argv[0]);
    }
    if (!spv_path)
        usage(argv[0]);
    if (cmds < 4)
        cmds = 4;
    g_verbose = getenv("ICDBENCH_VERBOSE") != NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_alarm);
    alarm(g_timeout_s);

    size_t spv_size = 0;
    uint32_t *spv = read_file(spv_path, &spv_size);
    if (!spv) {
        printf("icdbench: cannot read SPIR-V from %s\n", spv_path);
        return 1;
    }

    double t_start = now_ns();

    /* ---- instance, device, queue ---- */
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "icdbench",
        .applicationVersion = 1,
        .pEngineName = "none",
        .apiVersion = VK_API_VERSION_1_1,
    };
    VkInstanceCreateInfo ici = { .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app };
    VkInstance instance;
    VK(vkCreateInstance, &ici, NULL, &instance);

    uint32_t count = 0;
    VK(vkEnumeratePhysicalDevices, instance, &count, NULL);
    if (count == 0)
        die("no physical device");
    VkPhysicalDevice pds[16];
    if (count > 16)
        count = 16;
    stage("vkEnumeratePhysicalDevices");
    VkResult er = vkEnumeratePhysicalDevices(instance, &count, pds);
    if (er != VK_SUCCESS && er != VK_INCOMPLETE)
        fail_vk("vkEnumeratePhysicalDevices", er);
    VkPhysicalDevice pd = pds[0];

    stage("vkGetPhysicalDeviceProperties2");
    VkPhysicalDeviceDriverProperties driver = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES };
    VkPhysicalDeviceProperties2 props2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2 };
    vkGetPhysicalDeviceProperties(pd, &props2.properties);
    if (props2.properties.apiVersion >= VK_API_VERSION_1_2)
        props2.pNext = &driver;
    vkGetPhysicalDeviceProperties2(pd, &props2);
    const VkPhysicalDeviceProperties *props = &props2.properties;
    printf("info device \"%s\" api %u.%u.%u driver %d\n", props->deviceName, VK_API_VERSION_MAJOR(props->apiVersion),
           VK_API_VERSION_MINOR(props->apiVersion), VK_API_VERSION_PATCH(props->apiVersion),
           props2.pNext ? (int)driver.driverID : -1);

    stage("vkGetPhysicalDeviceQueueFamilyProperties");
    uint32_t qf_count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &qf_count, NULL);
    VkQueueFamilyProperties qfs[32];
    if (qf_count > 32)
        qf_count = 32;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &qf_count, qfs);
    uint32_t qf = UINT32_MAX;
    for (uint32_t i = 0; i < qf_count && qf == UINT32_MAX; i++)
        if (qfs[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
            qf = i;
    if (qf == UINT32_MAX)
        die("no compute queue family");

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

    /* ---- one small storage buffer (never mapped) ---- */
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = 4096,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkBuffer buffer;
    VK(vkCreateBuffer, device, &bci, NULL, &buffer);
    VkMemoryRequirements req;
    stage("vkGetBufferMemoryRequirements");
    vkGetBufferMemoryRequirements(device, buffer, &req);
    VkPhysicalDeviceMemoryProperties mem_props;
    stage("vkGetPhysicalDeviceMemoryProperties");
    vkGetPhysicalDeviceMemoryProperties(pd, &mem_props);
    uint32_t type = UINT32_MAX;
    for (uint32_t i = 0; i < mem_props.memoryTypeCount && type == UINT32_MAX; i++)
        if ((req.memoryTypeBits & (1u << i)) && (mem_props.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT))
            type = i;
    for (uint32_t i = 0; i < mem_props.memoryTypeCount && type == UINT32_MAX; i++)
        if (req.memoryTypeBits & (1u << i))
            type = i;
    if (type == UINT32_MAX)
        die("no memory type for the storage buffer");
    VkMemoryAllocateInfo mai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = type };
    VkDeviceMemory memory;
    VK(vkAllocateMemory, device, &mai, NULL, &memory);
    VK(vkBindBufferMemory, device, buffer, memory, 0);

    /* ---- compute pipeline, two descriptor sets ---- */
    VkShaderModuleCreateInfo smci = { .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = spv_size, .pCode = spv };
    VkShaderModule shader;
    VK(vkCreateShaderModule, device, &smci, NULL, &shader);
    VkDescriptorSetLayoutBinding binding = {
        .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1,
        .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
    VkDescriptorSetLayoutCreateInfo dslci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 1, .pBindings = &binding,
    };
    VkDescriptorSetLayout dsl;
    VK(vkCreateDescriptorSetLayout, device, &dslci, NULL, &dsl);
    VkPushConstantRange pcr = { .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = 4 };
    VkPipelineLayoutCreateInfo plci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1, .pSetLayouts = &dsl,
        .pushConstantRangeCount = 1, .pPushConstantRanges = &pcr,
    };
    VkPipelineLayout layout;
    VK(vkCreatePipelineLayout, device, &plci, NULL, &layout);
    VkComputePipelineCreateInfo cpci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
            .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = shader, .pName = "main",
        },
        .layout = layout,
    };
    VkPipeline pipeline;
    VK(vkCreateComputePipelines, device, VK_NULL_HANDLE, 1, &cpci, NULL, &pipeline);

    VkDescriptorPoolSize pool_size = { .type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 2 };
    VkDescriptorPoolCreateInfo dpci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 2, .poolSizeCount = 1, .pPoolSizes = &pool_size,
    };
    VkDescriptorPool dpool;
    VK(vkCreateDescriptorPool, device, &dpci, NULL, &dpool);
    VkDescriptorSetLayout dsls[2] = { dsl, dsl };
    VkDescriptorSetAllocateInfo dsai = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = dpool, .descriptorSetCount = 2, .pSetLayouts = dsls,
    };
    VkDescriptorSet sets[2];
    VK(vkAllocateDescriptorSets, device, &dsai, sets);
    VkDescriptorBufferInfo dbi[2] = {
        { .buffer = buffer, .offset = 0, .range = 2048 },
        { .buffer = buffer, .offset = 2048, .range = 2048 },
    };
    VkWriteDescriptorSet writes[2];
    for (int s = 0; s < 2; s++)
        writes[s] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = sets[s], .dstBinding = 0,
            .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &dbi[s],
        };
    stage("vkUpdateDescriptorSets");
    vkUpdateDescriptorSets(device, 2, writes, 0, NULL);

    /* ---- command buffers, fence ---- */
    VkCommandPoolCreateInfo cpoolci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = qf,
    };
    VkCommandPool cmd_pool;
    VK(vkCreateCommandPool, device, &cpoolci, NULL, &cmd_pool);
    VkCommandBufferAllocateInfo cbai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = cmd_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 2,
    };
    VkCommandBuffer cbs[2];
    VK(vkAllocateCommandBuffers, device, &cbai, cbs);
    VkCommandBuffer rec = cbs[0], small = cbs[1];
    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    VkFence fence;
    VK(vkCreateFence, device, &fci, NULL, &fence);
    VkCommandBufferBeginInfo cbbi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };

    printf("metric init_ms %.3f\n", (now_ns() - t_start) / 1e6);

    /* ---- recording ---- */
    double *rec_samples = calloc(reps, sizeof(double));
    uint32_t iters = (uint32_t)(cmds / 4);
    for (unsigned long r = 0; r < reps; r++) {
        VK(vkResetCommandBuffer, rec, 0);
        VK(vkBeginCommandBuffer, rec, &cbbi);
        stage("record mix");
        double t0 = now_ns();
        for (uint32_t i = 0; i < iters; i++) {
            vkCmdBindPipeline(rec, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
            vkCmdBindDescriptorSets(rec, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &sets[i & 1], 0, NULL);
            vkCmdPushConstants(rec, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, 4, &i);
            vkCmdDispatch(rec, 1 + (i & 3), 1, 1);
        }
        rec_samples[r] = (now_ns() - t0) / (4.0 * iters);
        VK(vkEndCommandBuffer, rec);
        /* Let the host finish the command buffer before the next sample (a host round trip in guests). */
        VK(vkDeviceWaitIdle, device);
    }
    printf("metric record_mix_ns_per_cmd %.2f\n", median(rec_samples, reps));

    uint32_t dispatches = (uint32_t)cmds;
    for (unsigned long r = 0; r < reps; r++) {
        VK(vkResetCommandBuffer, rec, 0);
        VK(vkBeginCommandBuffer, rec, &cbbi);
        vkCmdBindPipeline(rec, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
        vkCmdBindDescriptorSets(rec, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &sets[0], 0, NULL);
        stage("record dispatch");
        double t0 = now_ns();
        for (uint32_t i = 0; i < dispatches; i++)
            vkCmdDispatch(rec, 1 + (i & 3), 1, 1);
        rec_samples[r] = (now_ns() - t0) / dispatches;
        VK(vkEndCommandBuffer, rec);
        VK(vkDeviceWaitIdle, device);
    }
    printf("metric record_dispatch_ns_per_cmd %.2f\n", median(rec_samples, reps));
    VK(vkResetCommandBuffer, rec, 0);

    /* ---- submit + wait ---- */
    VK(vkBeginCommandBuffer, small, &cbbi);
    vkCmdBindPipeline(small, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
    vkCmdBindDescriptorSets(small, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &sets[0], 0, NULL);
    uint32_t seven = 7;
    vkCmdPushConstants(small, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, 4, &seven);
    vkCmdDispatch(small, 1, 1, 1);
    VK(vkEndCommandBuffer, small);
    VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &small };
    double *sub_samples = calloc(submits, sizeof(double));
    for (unsigned long i = 0; i < 50 + submits; i++) {
        double t0 = now_ns();
        VK(vkQueueSubmit, queue, 1, &si, fence);
        VK(vkWaitForFences, device, 1, &fence, VK_TRUE, UINT64_MAX);
        VK(vkResetFences, device, 1, &fence);
        if (i >= 50)
            sub_samples[i - 50] = (now_ns() - t0) / 1e3;
    }
    printf("metric submit_wait_us_median %.2f\n", percentile(sub_samples, submits, 50));
    printf("metric submit_wait_us_p90 %.2f\n", percentile(sub_samples, submits, 90));

    /* ---- fence status of a signalled fence ---- */
    stage("vkGetFenceStatus");
    VK(vkQueueSubmit, queue, 1, &si, fence);
    VK(vkWaitForFences, device, 1, &fence, VK_TRUE, UINT64_MAX);
    double fence_ns[21];
    for (int b = 0; b < 21; b++) {
        double t0 = now_ns();
        for (int i = 0; i < 100; i++)
            if (vkGetFenceStatus(device, fence) != VK_SUCCESS)
                die("vkGetFenceStatus of a signalled fence is not VK_SUCCESS");
        fence_ns[b] = (now_ns() - t0) / 100;
    }
    printf("metric fence_status_ns %.2f\n", median(fence_ns + 1, 20));
    VK(vkResetFences, device, 1, &fence);

    /* ---- synchronous queries (see the top of this file for the choice) ---- */
    VkImage images[IMAGES];
    for (int i = 0; i < IMAGES; i++) {
        VkImageCreateInfo imci = {
            .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
            .imageType = VK_IMAGE_TYPE_2D,
            .format = VK_FORMAT_R8G8B8A8_UNORM,
            .extent = { 16u + 8u * (uint32_t)i, 16u + 4u * (uint32_t)i, 1 },
            .mipLevels = 1,
            .arrayLayers = 1,
            .samples = VK_SAMPLE_COUNT_1_BIT,
            .tiling = VK_IMAGE_TILING_LINEAR,
            .usage = VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT,
            .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
            .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
        };
        VK(vkCreateImage, device, &imci, NULL, &images[i]);
    }
    double *q_samples = calloc(queries, sizeof(double));
    VkImageSubresource sub = { .aspectMask = VK_IMAGE_ASPECT_COLOR_BIT, .mipLevel = 0, .arrayLayer = 0 };
    VkDeviceSize row_pitch_sum = 0;
    stage("vkGetImageSubresourceLayout");
    for (unsigned long i = 0; i < 20 + queries; i++) {
        VkSubresourceLayout sl;
        double t0 = now_ns();
        vkGetImageSubresourceLayout(device, images[i % IMAGES], &sub, &sl);
        double dt = now_ns() - t0;
        row_pitch_sum += sl.rowPitch;
        if (i >= 20)
            q_samples[i - 20] = dt / 1e3;
    }
    if (row_pitch_sum == 0)
        die("vkGetImageSubresourceLayout returned rowPitch 0");
    printf("metric query_subresource_layout_us %.2f\n", median(q_samples, queries));

    VkDescriptorSetLayoutBinding qb = {
        .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
    VkDescriptorSetLayoutCreateInfo qdslci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 1, .pBindings = &qb,
    };
    unsigned long unsupported = 0;
    stage("vkGetDescriptorSetLayoutSupport");
    for (unsigned long i = 0; i < 20 + queries; i++) {
        VkDescriptorSetLayoutSupport support = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_SUPPORT };
        qb.descriptorCount = 1 + (uint32_t)(i % 64);
        double t0 = now_ns();
        vkGetDescriptorSetLayoutSupport(device, &qdslci, &support);
        double dt = now_ns() - t0;
        unsupported += !support.supported;
        if (i >= 20)
            q_samples[i - 20] = dt / 1e3;
    }
    if (unsupported)
        die("vkGetDescriptorSetLayoutSupport said a 1..64 storage-buffer layout is unsupported");
    printf("metric query_dsl_support_us %.2f\n", median(q_samples, queries));

    stage("vkGetBufferMemoryRequirements");
    double local[21];
    VkDeviceSize size_sum = 0;
    for (int b = 0; b < 21; b++) {
        double t0 = now_ns();
        for (int i = 0; i < 1000; i++) {
            VkMemoryRequirements mr;
            vkGetBufferMemoryRequirements(device, buffer, &mr);
            size_sum += mr.size;
        }
        local[b] = (now_ns() - t0) / 1000;
    }
    if (size_sum != 21000 * req.size)
        die("vkGetBufferMemoryRequirements answers changed between calls");
    printf("metric query_local_ns %.2f\n", median(local + 1, 20));

    stage("vkCreateBuffer + vkDestroyBuffer");
    double create_ns[21];
    for (int b = 0; b < 21; b++) {
        double t0 = now_ns();
        for (int i = 0; i < 100; i++) {
            VkBuffer scratch;
            VK(vkCreateBuffer, device, &bci, NULL, &scratch);
            vkDestroyBuffer(device, scratch, NULL);
        }
        create_ns[b] = (now_ns() - t0) / 100;
    }
    printf("metric create_buffer_ns %.2f\n", median(create_ns + 1, 20));

    stage("vkCreateImage + vkDestroyImage");
    VkImageCreateInfo scratch_ici = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO, .imageType = VK_IMAGE_TYPE_2D, .format = VK_FORMAT_R8G8B8A8_UNORM,
        .extent = { 16, 16, 1 }, .mipLevels = 1, .arrayLayers = 1, .samples = VK_SAMPLE_COUNT_1_BIT,
        .tiling = VK_IMAGE_TILING_OPTIMAL, .usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE, .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
    };
    double image_ns[21];
    for (int b = 0; b < 21; b++) {
        double t0 = now_ns();
        for (int i = 0; i < 100; i++) {
            VkImage scratch;
            VK(vkCreateImage, device, &scratch_ici, NULL, &scratch);
            vkDestroyImage(device, scratch, NULL);
        }
        image_ns[b] = (now_ns() - t0) / 100;
    }
    printf("metric create_image_ns %.2f\n", median(image_ns + 1, 20));

    stage("empty driver call");
    typedef VkResult (VKAPI_PTR *PFN_benchEmpty)(VkDevice);
    PFN_benchEmpty empty = (PFN_benchEmpty)vkGetDeviceProcAddr(device, "vkVenusBenchEmpty");
    if (empty) {
        double empty_ns[21];
        for (int b = 0; b < 21; b++) {
            double t0 = now_ns();
            for (int i = 0; i < 1000; i++)
                if (empty(device) != VK_SUCCESS)
                    die("vkVenusBenchEmpty did not return VK_SUCCESS");
            empty_ns[b] = (now_ns() - t0) / 1000;
        }
        printf("metric empty_call_ns %.2f\n", median(empty_ns + 1, 20));
    }

    stage("vkGetEventStatus");
    VkEventCreateInfo evci = { .sType = VK_STRUCTURE_TYPE_EVENT_CREATE_INFO };
    VkEvent event;
    VK(vkCreateEvent, device, &evci, NULL, &event);
    double event_ns[21];
    for (int b = 0; b < 21; b++) {
        double t0 = now_ns();
        for (int i = 0; i < 100; i++)
            if (vkGetEventStatus(device, event) != VK_EVENT_RESET)
                die("vkGetEventStatus of a new event is not VK_EVENT_RESET");
        event_ns[b] = (now_ns() - t0) / 100;
    }
    printf("metric event_status_ns %.2f\n", median(event_ns + 1, 20));
    vkDestroyEvent(device, event, NULL);

    stage("vkGetQueryPoolResults");
    VkQueryPoolCreateInfo qpci = { .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO, .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = 1 };
    VkQueryPool qpool;
    VK(vkCreateQueryPool, device, &qpci, NULL, &qpool);
    VK(vkBeginCommandBuffer, rec, &cbbi);
    vkCmdResetQueryPool(rec, qpool, 0, 1);
    vkCmdWriteTimestamp(rec, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, qpool, 0);
    VK(vkEndCommandBuffer, rec);
    VkSubmitInfo qsi = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &rec };
    VK(vkQueueSubmit, queue, 1, &qsi, fence);
    VK(vkWaitForFences, device, 1, &fence, VK_TRUE, UINT64_MAX);
    VK(vkResetFences, device, 1, &fence);
    double qr_ns[21];
    for (int b = 0; b < 21; b++) {
        double t0 = now_ns();
        for (int i = 0; i < 100; i++) {
            uint64_t r[2] = { 0, 0 };
            VkResult qr = vkGetQueryPoolResults(device, qpool, 0, 1, sizeof r, r, sizeof r,
                                                VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WITH_AVAILABILITY_BIT);
            if (qr != VK_SUCCESS || r[1] == 0)
                die("vkGetQueryPoolResults of a written timestamp is not available");
        }
        qr_ns[b] = (now_ns() - t0) / 100;
    }
    printf("metric query_results_ns %.2f\n", median(qr_ns + 1, 20));
    vkDestroyQueryPool(device, qpool, NULL);

    /* Recording query commands: guests with query feedback note each one on the command buffer
       (the copy into the feedback buffer is added at vkEndCommandBuffer), so they cost more than a
       plain vkCmd*. Never submitted; cmds / 10 commands per sample. */
    stage("record queries");
    VkQueryPoolCreateInfo rqpci = { .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO, .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = 64 };
    VkQueryPool rqpool;
    VK(vkCreateQueryPool, device, &rqpci, NULL, &rqpool);
    uint32_t query_pairs = (uint32_t)(cmds / 20) > 0 ? (uint32_t)(cmds / 20) : 1;
    for (unsigned long r = 0; r < reps; r++) {
        VK(vkResetCommandBuffer, rec, 0);
        VK(vkBeginCommandBuffer, rec, &cbbi);
        double t0 = now_ns();
        for (uint32_t i = 0; i < query_pairs; i++) {
            vkCmdResetQueryPool(rec, rqpool, i & 63, 1);
            vkCmdWriteTimestamp(rec, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, rqpool, i & 63);
        }
        rec_samples[r] = (now_ns() - t0) / (2.0 * query_pairs);
        VK(vkEndCommandBuffer, rec);
        VK(vkDeviceWaitIdle, device);
    }
    printf("metric record_query_ns_per_cmd %.2f\n", median(rec_samples, reps));
    VK(vkResetCommandBuffer, rec, 0);
    vkDestroyQueryPool(device, rqpool, NULL);

    stage("round trips from 1 and 4 threads");
    unsigned long mt_calls = queries / 2 > 100 ? queries / 2 : 100;
    printf("metric mt1_call_us %.2f\n", mt_round_trips(device, 1, mt_calls));
    printf("metric mt4_call_us %.2f\n", mt_round_trips(device, 4, mt_calls));

    /* ---- teardown ---- */
    stage("teardown");
    VK(vkDeviceWaitIdle, device);
    for (int i = 0; i < IMAGES; i++)
        vkDestroyImage(device, images[i], NULL);
    vkDestroyFence(device, fence, NULL);
    vkFreeCommandBuffers(device, cmd_pool, 2, cbs);
    vkDestroyCommandPool(device, cmd_pool, NULL);
    vkDestroyDescriptorPool(device, dpool, NULL);
    vkDestroyPipeline(device, pipeline, NULL);
    vkDestroyPipelineLayout(device, layout, NULL);
    vkDestroyDescriptorSetLayout(device, dsl, NULL);
    vkDestroyShaderModule(device, shader, NULL);
    vkDestroyBuffer(device, buffer, NULL);
    vkFreeMemory(device, memory, NULL);
    vkDestroyDevice(device, NULL);
    vkDestroyInstance(instance, NULL);
    free(rec_samples);
    free(sub_samples);
    free(q_samples);
    free(spv);
    printf("icdbench: ok\n");
    return 0;
}
