/*
 * hostile: a guest program that attacks the Venus host through virtio-gpu, for the VM test
 * (tests/vm/init). It makes a Venus context (CONTEXT_INIT, capset 4) on /dev/dri/renderD128, sends
 * one EXECBUFFER of garbage (an unknown command type followed by 0xff bytes) with an out-fence, and
 * waits up to 10 s for that fence. The host must end this context only: QEMU and every other guest
 * context go on. Prints "hostile: sent N bytes" and how the fence ended; exits 0 when the kernel took
 * the ioctls, 1 otherwise.
 *
 *   hostile [BYTES]     (default 4096)
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <drm/virtgpu_drm.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    long size = argc > 1 ? strtol(argv[1], NULL, 10) : 4096;
    if (size < 8 || size > (1 << 20) || size % 4) {
        fprintf(stderr, "hostile: BYTES must be a multiple of 4 in 8..1048576\n");
        return 2;
    }
    int fd = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        printf("hostile: open /dev/dri/renderD128: %s\n", strerror(errno));
        return 1;
    }
    struct drm_virtgpu_context_set_param params[2] = {
        { VIRTGPU_CONTEXT_PARAM_CAPSET_ID, 4 },
        { VIRTGPU_CONTEXT_PARAM_NUM_RINGS, 64 },
    };
    struct drm_virtgpu_context_init init = { .num_params = 2, .ctx_set_params = (uintptr_t)params };
    if (ioctl(fd, DRM_IOCTL_VIRTGPU_CONTEXT_INIT, &init)) {
        printf("hostile: CONTEXT_INIT: %s\n", strerror(errno));
        return 1;
    }
    uint32_t *cmd = malloc(size);
    memset(cmd, 0xff, size);
    cmd[0] = 0x7fffffff; /* no such VkCommandTypeEXT */
    cmd[1] = 0;
    struct drm_virtgpu_execbuffer exec = {
        .flags = VIRTGPU_EXECBUF_FENCE_FD_OUT | VIRTGPU_EXECBUF_RING_IDX,
        .size = (uint32_t)size,
        .command = (uintptr_t)cmd,
        .fence_fd = -1,
        .ring_idx = 0,
    };
    if (ioctl(fd, DRM_IOCTL_VIRTGPU_EXECBUFFER, &exec)) {
        printf("hostile: EXECBUFFER: %s\n", strerror(errno));
        return 1;
    }
    printf("hostile: sent %ld bytes of garbage\n", size);
    double t0 = now_ms();
    struct pollfd p = { .fd = exec.fence_fd, .events = POLLIN };
    int r = poll(&p, 1, 10000);
    printf("hostile: the fence %s after %.0f ms\n", r == 1 ? "signalled" : "did not signal", now_ms() - t0);
    fflush(stdout);
    close(exec.fence_fd);
    close(fd);
    free(cmd);
    return 0;
}
