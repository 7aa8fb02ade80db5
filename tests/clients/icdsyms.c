/*
 * Checks that a Vulkan ICD library exports what the Vulkan loader looks up in it
 * (tests/Venus.GuestIcd.Tests): dlopen(LIBRARY, RTLD_NOW | RTLD_LOCAL), then dlsym of
 *
 *   vk_icdNegotiateLoaderICDInterfaceVersion, vk_icdGetInstanceProcAddr, vk_icdGetPhysicalDeviceProcAddr
 *
 * from that library's handle, and a call of the negotiation with the loader's version 7.
 *
 *   icdsyms LIBRARY
 *
 * Prints "found NAME" or "missing NAME" for each, then "negotiate: result=<VkResult> version=<N>",
 * then "all found" when all three are there.
 * Exit codes: 0 all three found and the negotiation returned VK_SUCCESS; 1 usage;
 * 2 dlopen failed ("dlopen failed: <dlerror>"); 4 an export is missing; 5 the negotiation failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <vulkan/vulkan.h>

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

typedef VkResult (*negotiate_fn)(uint32_t *version);

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        printf("dlopen failed: %s\n", dlerror());
        return 2;
    }
    static const char *const names[] = {
        "vk_icdNegotiateLoaderICDInterfaceVersion",
        "vk_icdGetInstanceProcAddr",
        "vk_icdGetPhysicalDeviceProcAddr",
    };
    void *found[3];
    int missing = 0;
    for (int i = 0; i < 3; i++) {
        dlerror();
        found[i] = dlsym(lib, names[i]);
        if (found[i]) {
            printf("found %s\n", names[i]);
        } else {
            printf("missing %s\n", names[i]);
            missing++;
        }
    }
    if (missing)
        return 4;
    negotiate_fn negotiate;
    *(void **)&negotiate = found[0];
    uint32_t version = 7;
    VkResult r = negotiate(&version);
    printf("negotiate: result=%d version=%u\n", (int)r, version);
    printf("all found\n");
    return r == VK_SUCCESS ? 0 : 5;
}
