/*
 * The longest feature chain through a driver (tests/Venus.GuestIcd.Tests; issue 17: a driver with
 * 238 extensions gets vulkaninfo to chain more feature structs than a fixed cap of 64):
 *
 *   featurechain STYPE:SIZE...
 *
 * Each argument names one struct of VkPhysicalDeviceFeatures2's chain: its VkStructureType and its
 * size in bytes (the test passes every feature struct the protocol knows). They are chained, zeroed,
 * in that order to VkPhysicalDeviceFeatures2 for one vkGetPhysicalDeviceFeatures2, and printed as
 * 32-bit words after the sType/pNext header:
 *   "featurechain: features <words>"          VkPhysicalDeviceFeatures
 *   "featurechain: struct <sType> <words>"    each chained struct
 * Then a device is created with every device extension the driver offers and the same chain, so
 * every feature the driver reported is requested, without VkPhysicalDeviceVulkan1{1,2,3,4}Features
 * (the spec forbids them next to the structs they contain):
 *   "featurechain: device with <n> chained structs ok"
 * and "featurechain: all ok". On failure "featurechain: <call> failed: <n> (<name>)" or
 * "featurechain: <what>", exit 1.
 */
#include <vulkan/vulkan.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_NAME "featurechain"
#include "client_util.h"

static void print_words(const char *prefix, const void *p, size_t bytes)
{
    const uint32_t *w = p;
    printf(CLIENT_NAME ": %s", prefix);
    for (size_t i = 0; i < bytes / 4; i++)
        printf(" %x", w[i]);
    printf("\n");
}

int main(int argc, char **argv)
{
    int n = argc - 1;
    if (n <= 0)
        WRONG("usage: featurechain STYPE:SIZE...");
    VkBaseOutStructure **chain = calloc((size_t)n, sizeof *chain);
    size_t *sizes = calloc((size_t)n, sizeof *sizes);
    if (!chain || !sizes)
        WRONG("out of memory");
    for (int i = 0; i < n; i++) {
        unsigned long st, size;
        if (sscanf(argv[i + 1], "%lu:%lu", &st, &size) != 2 || size < sizeof(VkBaseOutStructure) || size % 8)
            WRONG("bad argument '%s'", argv[i + 1]);
        chain[i] = calloc(1, size);
        if (!chain[i])
            WRONG("out of memory");
        chain[i]->sType = (VkStructureType)st;
        sizes[i] = size;
    }

    VkInstance instance;
    VkPhysicalDevice pd;
    VkPhysicalDeviceProperties props;
    if (first_device("featurechain", &instance, &pd, &props))
        return 1;

    VkPhysicalDeviceFeatures2 features2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2 };
    VkBaseOutStructure *prev = (VkBaseOutStructure *)&features2;
    for (int i = 0; i < n; i++) {
        prev->pNext = chain[i];
        prev = chain[i];
    }
    vkGetPhysicalDeviceFeatures2(pd, &features2);
    print_words("features", &features2.features, sizeof features2.features);
    prev = (VkBaseOutStructure *)&features2;
    for (int i = 0; i < n; i++) {
        if (prev->pNext != chain[i])
            WRONG("the driver changed the chain at struct %d (sType %d)", i, (int)chain[i]->sType);
        char prefix[32];
        snprintf(prefix, sizeof prefix, "struct %d", (int)chain[i]->sType);
        print_words(prefix, (const char *)chain[i] + sizeof(VkBaseOutStructure), sizes[i] - sizeof(VkBaseOutStructure));
        prev = chain[i];
    }
    if (prev->pNext != NULL)
        WRONG("the driver added to the end of the chain");

    // The device: every offered extension, the answered chain without the Vulkan 1.x structs.
    uint32_t count = 0;
    CHECK(vkEnumerateDeviceExtensionProperties, pd, NULL, &count, NULL);
    VkExtensionProperties *exts = calloc(count ? count : 1, sizeof *exts);
    const char **names = calloc(count ? count : 1, sizeof *names);
    if (!exts || !names)
        WRONG("out of memory");
    CHECK(vkEnumerateDeviceExtensionProperties, pd, NULL, &count, exts);
    for (uint32_t i = 0; i < count; i++)
        names[i] = exts[i].extensionName;
    prev = (VkBaseOutStructure *)&features2;
    int chained = 0;
    for (int i = 0; i < n; i++) {
        VkStructureType st = chain[i]->sType;
        if (st == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES || st == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES ||
            st == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES || st == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_4_FEATURES)
            continue;
        prev->pNext = chain[i];
        prev = chain[i];
        chained++;
    }
    prev->pNext = NULL;
    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = 0,
                                    .queueCount = 1, .pQueuePriorities = &priority };
    VkDeviceCreateInfo dci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &features2, .queueCreateInfoCount = 1,
                               .pQueueCreateInfos = &qci, .enabledExtensionCount = count, .ppEnabledExtensionNames = names };
    VkDevice dev;
    CHECK(vkCreateDevice, pd, &dci, NULL, &dev);
    CHECK(vkDeviceWaitIdle, dev);
    vkDestroyDevice(dev, NULL);
    printf(CLIENT_NAME ": device with %d chained structs ok\n", chained + 1);

    vkDestroyInstance(instance, NULL);
    printf(CLIENT_NAME ": all ok\n");
    return 0;
}
