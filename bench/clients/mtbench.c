/*
 * mtbench: how a Vulkan driver scales with an app's threads (eng/bench-mt.sh runs it natively,
 * through our ICD and through Mesa's venus guest side by side; eng/gpu.sh part mtbench on the GPU).
 *
 *   mtbench SHADER.spv [--threads LIST] [--seconds S] [--units N] [--elements N] [--rows LIST] [--timeout S]
 *
 * SHADER.spv is bench/clients/icdbench.comp compiled with glslangValidator -V (data[i] = data[i] * 3 + value).
 * One instance, one VkDevice and one compute queue shared by every thread; the queue is taken under
 * the app's own mutex, as ggml does. A pool of max(LIST) worker threads is made once; for each T in
 * LIST (default 1,2,4,8) the first T of them run each row at once, for S seconds (default 1) or,
 * with --units N, for N units per thread (then the run is a correctness check: every unit's
 * results are compared). Rows (--rows, default unit,rt,alloc):
 *
 *   unit   an app-like unit of work: vkCreateBuffer (N = --elements uints, default 4096, storage),
 *          vkGetBufferMemoryRequirements, vkAllocateMemory (host-visible, coherent), vkBindBufferMemory,
 *          vkMapMemory, the buffer written from the CPU, vkUpdateDescriptorSets of the thread's set,
 *          one dispatch recorded into the thread's command buffer (bind pipeline, bind set, push
 *          constant, dispatch, barrier to host reads), vkQueueSubmit under the queue mutex with the
 *          thread's fence, vkWaitForFences, vkResetFences, every element read back and checked,
 *          vkUnmapMemory, vkDestroyBuffer, vkFreeMemory
 *   rt     vkGetDescriptorSetLayoutSupport with a count varying per call: a host round trip in
 *          every Venus guest (Mesa 25.0 has no cache for it), so threads overlap only if the
 *          driver and host answer them in parallel
 *   alloc  vkAllocateMemory + vkFreeMemory of 64 KiB of host-visible memory
 *
 * Each thread does 2 untimed units (10 round trips, 2 allocations) before the clock starts. Output,
 * one line per result on stdout:
 *
 *   info device "<name>" api X.Y.Z driver <id>
 *   metric <row>_t<T>_per_s <all threads' completed units per second>
 *   metric <row>_scaling_t<T> <units/s at T divided by units/s at the first T of LIST>
 *   mtbench: ok
 *
 * and a readable table on stderr. Exit codes: 0 ok; 1 usage or file error; 2 a Vulkan call failed
 * or a result was wrong ("mtbench: ..."); 3 the run took longer than --timeout S (default 300, 0 =
 * none; "mtbench: timeout after S s in <stage>").
 */
/* link: -lpthread */
#define _POSIX_C_SOURCE 200809L
#include <vulkan/vulkan.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define MAX_TS 16

static const char *volatile g_stage = "start";
static unsigned g_timeout_s = 300;

static void put(char *buf, int *len, const char *s)
{
    while (*s && *len < 250)
        buf[(*len)++] = *s++;
}

static void on_alarm(int sig)
{
    (void)sig;
    char buf[256], digits[16];
    int len = 0, nd = 0;
    unsigned t = g_timeout_s;
    put(buf, &len, "mtbench: timeout after ");
    do { digits[nd++] = (char)('0' + t % 10); t /= 10; } while (t && nd < 15);
    while (nd) buf[len++] = digits[--nd];
    put(buf, &len, " s in ");
    put(buf, &len, g_stage);
    buf[len++] = '\n';
    ssize_t ignored = write(STDOUT_FILENO, buf, (size_t)len);
    (void)ignored;
    _exit(3);
}

static pthread_mutex_t g_fail_lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *fmt, const char *a, int n)
{
    pthread_mutex_lock(&g_fail_lock); /* one message; never unlocked */
    printf("mtbench: ");
    printf(fmt, a, n);
    printf("\n");
    fflush(stdout);
    exit(2);
}

#define VK(name, ...)                                                     \
    do {                                                                  \
        VkResult r_ = name(__VA_ARGS__);                                  \
        if (r_ != VK_SUCCESS)                                             \
            fail("%s failed: VkResult %d", #name, (int)r_);               \
    } while (0)

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- what every thread shares ---- */
static VkPhysicalDevice g_pd;
static VkDevice g_dev;
static VkQueue g_queue;
static pthread_mutex_t g_queue_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t g_queue_family;
static VkPipeline g_pipeline;
static VkPipelineLayout g_layout;
static VkDescriptorSetLayout g_dsl;
static uint32_t g_host_type = UINT32_MAX;
static uint32_t g_elements = 4096;

enum row { ROW_UNIT, ROW_RT, ROW_ALLOC, ROW_COUNT };
static const char *const row_names[ROW_COUNT] = { "unit", "rt", "alloc" };

/* ---- the worker pool: a generation counter starts a round, each worker reports when done ---- */
struct worker {
    int index;
    pthread_t id;
    VkCommandPool pool;
    VkCommandBuffer cb;
    VkFence fence;
    VkDescriptorPool dpool;
    VkDescriptorSet set;
    uint32_t seed;
    unsigned long done; /* units this round */
};

static struct worker g_workers[MAX_THREADS];
static pthread_mutex_t g_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_pool_cond = PTHREAD_COND_INITIALIZER;
static unsigned long g_generation;
static int g_active;         /* workers taking part in this round */
static enum row g_row;
static int g_ready;          /* workers past their warm-up this round */
static int g_finished;       /* workers done this round */
static int g_quit;
static atomic_int g_go;      /* the clock has started */
static atomic_int g_stop;    /* time is up */
static unsigned long g_units; /* --units: fixed count per thread (0: timed) */

static void unit(struct worker *w)
{
    VkDeviceSize bytes = (VkDeviceSize)g_elements * 4;
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = bytes,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkBuffer buf;
    VK(vkCreateBuffer, g_dev, &bci, NULL, &buf);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(g_dev, buf, &req);
    if (!(req.memoryTypeBits & (1u << g_host_type)))
        fail("%s: the storage buffer cannot live in the host-visible coherent type (%d)", "vkGetBufferMemoryRequirements", (int)g_host_type);
    VkMemoryAllocateInfo mai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = g_host_type };
    VkDeviceMemory mem;
    VK(vkAllocateMemory, g_dev, &mai, NULL, &mem);
    VK(vkBindBufferMemory, g_dev, buf, mem, 0);
    uint32_t *data;
    VK(vkMapMemory, g_dev, mem, 0, VK_WHOLE_SIZE, 0, (void **)&data);
    uint32_t seed = w->seed++ * 7919u + (uint32_t)w->index * 104729u;
    for (uint32_t i = 0; i < g_elements; i++)
        data[i] = seed + i;

    VkDescriptorBufferInfo dbi = { .buffer = buf, .offset = 0, .range = bytes };
    VkWriteDescriptorSet wr = {
        .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = w->set, .dstBinding = 0, .descriptorCount = 1,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &dbi,
    };
    vkUpdateDescriptorSets(g_dev, 1, &wr, 0, NULL);

    VK(vkResetCommandPool, g_dev, w->pool, 0);
    VkCommandBufferBeginInfo cbbi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };
    VK(vkBeginCommandBuffer, w->cb, &cbbi);
    vkCmdBindPipeline(w->cb, VK_PIPELINE_BIND_POINT_COMPUTE, g_pipeline);
    vkCmdBindDescriptorSets(w->cb, VK_PIPELINE_BIND_POINT_COMPUTE, g_layout, 0, 1, &w->set, 0, NULL);
    uint32_t value = seed ^ 0x5a5a5a5au;
    vkCmdPushConstants(w->cb, g_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, 4, &value);
    vkCmdDispatch(w->cb, (g_elements + 63) / 64, 1, 1);
    VkMemoryBarrier mb = { .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT, .dstAccessMask = VK_ACCESS_HOST_READ_BIT };
    vkCmdPipelineBarrier(w->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    VK(vkEndCommandBuffer, w->cb);

    VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &w->cb };
    pthread_mutex_lock(&g_queue_lock);
    VkResult sr = vkQueueSubmit(g_queue, 1, &si, w->fence);
    pthread_mutex_unlock(&g_queue_lock);
    if (sr != VK_SUCCESS)
        fail("%s failed: VkResult %d", "vkQueueSubmit", (int)sr);
    VK(vkWaitForFences, g_dev, 1, &w->fence, VK_TRUE, UINT64_MAX);
    VK(vkResetFences, g_dev, 1, &w->fence);
    for (uint32_t i = 0; i < g_elements; i++) {
        uint32_t want = (seed + i) * 3u + value;
        if (data[i] != want) {
            char what[160];
            snprintf(what, sizeof what, "thread %d: element %u reads 0x%08x after the dispatch, expected 0x%08x",
                     w->index, i, data[i], want);
            fail("%s (unit %d)", what, (int)w->seed);
        }
    }
    vkUnmapMemory(g_dev, mem);
    vkDestroyBuffer(g_dev, buf, NULL);
    vkFreeMemory(g_dev, mem, NULL);
}

static void round_trip(struct worker *w)
{
    VkDescriptorSetLayoutBinding b = {
        .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .descriptorCount = 1 + (w->seed++ % 64), .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
    VkDescriptorSetLayoutCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 1, .pBindings = &b };
    VkDescriptorSetLayoutSupport support = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_SUPPORT };
    vkGetDescriptorSetLayoutSupport(g_dev, &ci, &support);
    if (!support.supported)
        fail("%s: a storage-buffer layout of %d descriptors is unsupported", "vkGetDescriptorSetLayoutSupport", (int)b.descriptorCount);
}

static void alloc_free(struct worker *w)
{
    (void)w;
    VkMemoryAllocateInfo mai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = 65536, .memoryTypeIndex = g_host_type };
    VkDeviceMemory mem;
    VK(vkAllocateMemory, g_dev, &mai, NULL, &mem);
    vkFreeMemory(g_dev, mem, NULL);
}

static void run_one(struct worker *w, enum row r)
{
    switch (r) {
    case ROW_UNIT: unit(w); break;
    case ROW_RT: round_trip(w); break;
    case ROW_ALLOC: alloc_free(w); break;
    default: break;
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    unsigned long seen = 0;
    for (;;) {
        pthread_mutex_lock(&g_pool_lock);
        while (!g_quit && (g_generation == seen || w->index >= g_active))
        {
            if (g_generation != seen)
                seen = g_generation; /* a round without this worker */
            else
                pthread_cond_wait(&g_pool_cond, &g_pool_lock);
        }
        if (g_quit) {
            pthread_mutex_unlock(&g_pool_lock);
            return NULL;
        }
        seen = g_generation;
        enum row r = g_row;
        pthread_mutex_unlock(&g_pool_lock);

        int warmups = r == ROW_RT ? 10 : 2;
        for (int i = 0; i < warmups; i++)
            run_one(w, r);
        pthread_mutex_lock(&g_pool_lock);
        g_ready++;
        pthread_cond_broadcast(&g_pool_cond);
        pthread_mutex_unlock(&g_pool_lock);
        while (!atomic_load(&g_go))
            sched_yield();

        unsigned long n = 0;
        if (g_units) {
            for (; n < g_units; n++)
                run_one(w, r);
        } else {
            while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
                run_one(w, r);
                n++;
            }
        }
        pthread_mutex_lock(&g_pool_lock);
        w->done = n;
        g_finished++;
        pthread_cond_broadcast(&g_pool_cond);
        pthread_mutex_unlock(&g_pool_lock);
    }
}

/* One row with T threads; returns completed units per second. */
static double run_round(enum row r, int threads, double seconds)
{
    pthread_mutex_lock(&g_pool_lock);
    atomic_store(&g_go, 0);
    atomic_store(&g_stop, 0);
    g_row = r;
    g_active = threads;
    g_ready = 0;
    g_finished = 0;
    g_generation++;
    pthread_cond_broadcast(&g_pool_cond);
    while (g_ready < threads)
        pthread_cond_wait(&g_pool_cond, &g_pool_lock);
    pthread_mutex_unlock(&g_pool_lock);

    double t0 = now_s();
    atomic_store(&g_go, 1);
    if (!g_units) {
        struct timespec ts = { .tv_sec = (time_t)seconds, .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9) };
        while (nanosleep(&ts, &ts) != 0) {
        }
        atomic_store(&g_stop, 1);
    }
    pthread_mutex_lock(&g_pool_lock);
    while (g_finished < threads)
        pthread_cond_wait(&g_pool_cond, &g_pool_lock);
    pthread_mutex_unlock(&g_pool_lock);
    double elapsed = now_s() - t0;
    unsigned long total = 0;
    for (int t = 0; t < threads; t++)
        total += g_workers[t].done;
    return (double)total / elapsed;
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

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s SHADER.spv [--threads 1,2,4,8] [--seconds S] [--units N] [--elements N] [--rows unit,rt,alloc] [--timeout S]\n", argv0);
    exit(1);
}

int main(int argc, char **argv)
{
    const char *spv_path = NULL, *thread_list = "1,2,4,8", *row_list = "unit,rt,alloc";
    double seconds = 1.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') {
            if (spv_path)
                usage(argv[0]);
            spv_path = a;
            continue;
        }
        if (++i >= argc)
            usage(argv[0]);
        if (!strcmp(a, "--threads")) thread_list = argv[i];
        else if (!strcmp(a, "--rows")) row_list = argv[i];
        else if (!strcmp(a, "--seconds")) seconds = strtod(argv[i], NULL);
        else if (!strcmp(a, "--units")) g_units = strtoul(argv[i], NULL, 0);
        else if (!strcmp(a, "--elements")) g_elements = (uint32_t)strtoul(argv[i], NULL, 0);
        else if (!strcmp(a, "--timeout")) g_timeout_s = (unsigned)strtoul(argv[i], NULL, 0);
        else usage(argv[0]);
    }
    if (!spv_path || seconds <= 0 || g_elements == 0 || g_elements > (1u << 24))
        usage(argv[0]);

    int ts[MAX_TS], nts = 0, max_t = 0;
    for (const char *p = thread_list; *p;) {
        char *end;
        long t = strtol(p, &end, 10);
        if (end == p || t < 1 || t > MAX_THREADS || nts == MAX_TS)
            usage(argv[0]);
        ts[nts++] = (int)t;
        if (t > max_t)
            max_t = (int)t;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            usage(argv[0]);
    }
    int rows[ROW_COUNT], nrows = 0;
    for (const char *p = row_list; *p;) {
        size_t len = strcspn(p, ",");
        int found = -1;
        for (int r = 0; r < ROW_COUNT; r++)
            if (strlen(row_names[r]) == len && !strncmp(p, row_names[r], len))
                found = r;
        if (found < 0 || nrows == ROW_COUNT)
            usage(argv[0]);
        rows[nrows++] = found;
        p += len;
        if (*p == ',')
            p++;
    }

    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_alarm);
    alarm(g_timeout_s);

    size_t spv_size = 0;
    uint32_t *spv = read_file(spv_path, &spv_size);
    if (!spv) {
        printf("mtbench: cannot read SPIR-V from %s\n", spv_path);
        return 1;
    }

    g_stage = "init";
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "mtbench", .applicationVersion = 1,
        .pEngineName = "none", .apiVersion = VK_API_VERSION_1_1,
    };
    VkInstanceCreateInfo ici = { .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app };
    VkInstance instance;
    VK(vkCreateInstance, &ici, NULL, &instance);
    uint32_t count = 1;
    VkResult er = vkEnumeratePhysicalDevices(instance, &count, &g_pd);
    if ((er != VK_SUCCESS && er != VK_INCOMPLETE) || count == 0)
        fail("%s: no physical device (VkResult %d)", "vkEnumeratePhysicalDevices", (int)er);
    VkPhysicalDeviceDriverProperties driver = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES };
    VkPhysicalDeviceProperties2 props2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2 };
    vkGetPhysicalDeviceProperties(g_pd, &props2.properties);
    if (props2.properties.apiVersion >= VK_API_VERSION_1_2)
        props2.pNext = &driver;
    vkGetPhysicalDeviceProperties2(g_pd, &props2);
    printf("info device \"%s\" api %u.%u.%u driver %d\n", props2.properties.deviceName,
           VK_API_VERSION_MAJOR(props2.properties.apiVersion), VK_API_VERSION_MINOR(props2.properties.apiVersion),
           VK_API_VERSION_PATCH(props2.properties.apiVersion), props2.pNext ? (int)driver.driverID : -1);

    uint32_t qf_count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(g_pd, &qf_count, NULL);
    VkQueueFamilyProperties qfs[32];
    if (qf_count > 32)
        qf_count = 32;
    vkGetPhysicalDeviceQueueFamilyProperties(g_pd, &qf_count, qfs);
    g_queue_family = UINT32_MAX;
    for (uint32_t i = 0; i < qf_count && g_queue_family == UINT32_MAX; i++)
        if (qfs[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
            g_queue_family = i;
    if (g_queue_family == UINT32_MAX)
        fail("%s: no compute queue family (%d)", "vkGetPhysicalDeviceQueueFamilyProperties", 0);
    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = g_queue_family, .queueCount = 1, .pQueuePriorities = &priority,
    };
    VkDeviceCreateInfo dci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci };
    VK(vkCreateDevice, g_pd, &dci, NULL, &g_dev);
    vkGetDeviceQueue(g_dev, g_queue_family, 0, &g_queue);

    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(g_pd, &mp);
    VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    for (uint32_t i = 0; i < mp.memoryTypeCount && g_host_type == UINT32_MAX; i++)
        if ((mp.memoryTypes[i].propertyFlags & want) == want)
            g_host_type = i;
    if (g_host_type == UINT32_MAX)
        fail("%s: no host-visible coherent memory type (%d)", "vkGetPhysicalDeviceMemoryProperties", 0);

    VkShaderModuleCreateInfo smci = { .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = spv_size, .pCode = spv };
    VkShaderModule shader;
    VK(vkCreateShaderModule, g_dev, &smci, NULL, &shader);
    VkDescriptorSetLayoutBinding binding = {
        .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
    VkDescriptorSetLayoutCreateInfo dslci = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 1, .pBindings = &binding };
    VK(vkCreateDescriptorSetLayout, g_dev, &dslci, NULL, &g_dsl);
    VkPushConstantRange pcr = { .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = 4 };
    VkPipelineLayoutCreateInfo plci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1, .pSetLayouts = &g_dsl,
        .pushConstantRangeCount = 1, .pPushConstantRanges = &pcr,
    };
    VK(vkCreatePipelineLayout, g_dev, &plci, NULL, &g_layout);
    VkComputePipelineCreateInfo cpci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = shader, .pName = "main" },
        .layout = g_layout,
    };
    VK(vkCreateComputePipelines, g_dev, VK_NULL_HANDLE, 1, &cpci, NULL, &g_pipeline);

    /* Per-thread objects, made by the main thread before any worker runs. */
    for (int t = 0; t < max_t; t++) {
        struct worker *w = &g_workers[t];
        w->index = t;
        VkCommandPoolCreateInfo cpoolci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = g_queue_family };
        VK(vkCreateCommandPool, g_dev, &cpoolci, NULL, &w->pool);
        VkCommandBufferAllocateInfo cbai = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = w->pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1,
        };
        VK(vkAllocateCommandBuffers, g_dev, &cbai, &w->cb);
        VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
        VK(vkCreateFence, g_dev, &fci, NULL, &w->fence);
        VkDescriptorPoolSize ps = { .type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1 };
        VkDescriptorPoolCreateInfo dpci = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 1, .poolSizeCount = 1, .pPoolSizes = &ps };
        VK(vkCreateDescriptorPool, g_dev, &dpci, NULL, &w->dpool);
        VkDescriptorSetAllocateInfo dsai = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = w->dpool, .descriptorSetCount = 1, .pSetLayouts = &g_dsl,
        };
        VK(vkAllocateDescriptorSets, g_dev, &dsai, &w->set);
    }
    for (int t = 0; t < max_t; t++)
        if (pthread_create(&g_workers[t].id, NULL, worker_main, &g_workers[t]) != 0)
            fail("%s failed (thread %d)", "pthread_create", t);

    double rate[ROW_COUNT][MAX_TS];
    for (int ri = 0; ri < nrows; ri++) {
        enum row r = (enum row)rows[ri];
        for (int k = 0; k < nts; k++) {
            char st[64];
            snprintf(st, sizeof st, "%s with %d threads", row_names[r], ts[k]);
            g_stage = strdup(st);
            rate[r][k] = run_round(r, ts[k], seconds);
            printf("metric %s_t%d_per_s %.1f\n", row_names[r], ts[k], rate[r][k]);
        }
        for (int k = 0; k < nts; k++)
            printf("metric %s_scaling_t%d %.3f\n", row_names[r], ts[k], rate[r][0] > 0 ? rate[r][k] / rate[r][0] : 0.0);
    }

    g_stage = "teardown";
    pthread_mutex_lock(&g_pool_lock);
    g_quit = 1;
    pthread_cond_broadcast(&g_pool_cond);
    pthread_mutex_unlock(&g_pool_lock);
    for (int t = 0; t < max_t; t++)
        pthread_join(g_workers[t].id, NULL);
    VK(vkDeviceWaitIdle, g_dev);
    for (int t = 0; t < max_t; t++) {
        vkDestroyFence(g_dev, g_workers[t].fence, NULL);
        vkDestroyCommandPool(g_dev, g_workers[t].pool, NULL);
        vkDestroyDescriptorPool(g_dev, g_workers[t].dpool, NULL);
    }
    vkDestroyPipeline(g_dev, g_pipeline, NULL);
    vkDestroyPipelineLayout(g_dev, g_layout, NULL);
    vkDestroyDescriptorSetLayout(g_dev, g_dsl, NULL);
    vkDestroyShaderModule(g_dev, shader, NULL);
    vkDestroyDevice(g_dev, NULL);
    vkDestroyInstance(instance, NULL);
    free(spv);

    for (int ri = 0; ri < nrows; ri++) {
        enum row r = (enum row)rows[ri];
        fprintf(stderr, "%-6s", row_names[r]);
        for (int k = 0; k < nts; k++)
            fprintf(stderr, " T=%d %7.0f/s (%.2fx)", ts[k], rate[r][k], rate[r][0] > 0 ? rate[r][k] / rate[r][0] : 0.0);
        fprintf(stderr, "\n");
    }
    printf("mtbench: ok\n");
    return 0;
}
