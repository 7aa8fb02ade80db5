/*
 * What the C test clients share (the .c files in tests/clients). Define CLIENT_NAME ("sync", "exts", ...)
 * before including it; every message starts with it.
 *
 *   CHECK(vkFoo, args...)   calls vkFoo; on a result other than VK_SUCCESS prints
 *                           "NAME: vkFoo failed: <n> (<VK_...>)" and returns CLIENT_VK_FAILED
 *                           (default 1) from the caller
 *   WRONG(fmt, ...)         prints "NAME: <message>" and returns 1 from the caller
 *   read_spirv(path, &size) the whole file, or NULL when it is missing, empty or not whole words
 *   first_device(...)       a Vulkan 1.3 instance and its first physical device, whose name and
 *                           apiVersion it prints as "NAME: device="..." api=X.Y.Z"; 1 on failure
 */
#ifndef VENUS_CLIENT_UTIL_H
#define VENUS_CLIENT_UTIL_H

#include <vulkan/vulkan.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "vk_result_name.h"

#ifndef CLIENT_NAME
#error "define CLIENT_NAME before including client_util.h"
#endif

/* What CHECK returns from the caller when a Vulkan call fails (a client may define its own first). */
#ifndef CLIENT_VK_FAILED
#define CLIENT_VK_FAILED 1
#endif

#define CHECK(name, ...)                                                                        \
    do {                                                                                        \
        VkResult r_ = name(__VA_ARGS__);                                                        \
        if (r_ != VK_SUCCESS) {                                                                 \
            printf(CLIENT_NAME ": %s failed: %d (%s)\n", #name, (int)r_, vk_result_name(r_));   \
            return CLIENT_VK_FAILED;                                                            \
        }                                                                                       \
    } while (0)

#define WRONG(...)                          \
    do {                                    \
        printf(CLIENT_NAME ": " __VA_ARGS__); \
        printf("\n");                       \
        return 1;                           \
    } while (0)

/* The first memory type among `bits` that has every flag of `want`; UINT32_MAX when none has. */
static inline uint32_t find_memory_type(VkPhysicalDevice pd, uint32_t bits, VkMemoryPropertyFlags want)
{
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    for (uint32_t i = 0; i < mp.memoryTypeCount; i++)
        if ((bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & want) == want)
            return i;
    return UINT32_MAX;
}

static inline uint32_t *read_spirv(const char *path, size_t *size)
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

static inline int first_device(const char *app_name, VkInstance *instance, VkPhysicalDevice *pd,
                               VkPhysicalDeviceProperties *props)
{
    VkApplicationInfo app = { .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = app_name, .apiVersion = VK_API_VERSION_1_3 };
    VkInstanceCreateInfo ici = { .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app };
    CHECK(vkCreateInstance, &ici, NULL, instance);
    uint32_t count = 1;
    VkResult er = vkEnumeratePhysicalDevices(*instance, &count, pd);
    if ((er != VK_SUCCESS && er != VK_INCOMPLETE) || count == 0)
        WRONG("no physical device (%d)", (int)er);
    vkGetPhysicalDeviceProperties(*pd, props);
    printf(CLIENT_NAME ": device=\"%s\" api=%u.%u.%u\n", props->deviceName, VK_API_VERSION_MAJOR(props->apiVersion),
           VK_API_VERSION_MINOR(props->apiVersion), VK_API_VERSION_PATCH(props->apiVersion));
    return 0;
}

#endif
