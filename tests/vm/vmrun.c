/*
 * vmrun: runs one step of the VM test (tests/vm/init) and frames it on the console, so the host can
 * read each step's output, exit status and wall time out of the serial log (eng/vm.sh).
 *
 *   vmrun NAME [-o FILE] [-e KEY=VALUE]... -- COMMAND [ARG]...
 *
 * Prints "@@venus-vm begin NAME", runs COMMAND (stdout and stderr to FILE with -o, else to the
 * console), then "@@venus-vm end NAME rc=RC ms=WALL" where RC is the exit status (128+N for
 * signal N) and WALL the wall time in milliseconds (CLOCK_MONOTONIC). Exits with RC.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: vmrun NAME [-o FILE] [-e KEY=VALUE]... -- COMMAND [ARG]...\n");
        return 2;
    }
    const char *name = argv[1];
    const char *out = NULL;
    int i = 2;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "-e") == 0 && i + 1 < argc) {
            if (putenv(argv[++i]) != 0) {
                perror("vmrun: putenv");
                return 2;
            }
        } else {
            fprintf(stderr, "vmrun: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (i + 1 >= argc) {
        fprintf(stderr, "vmrun: no command after --\n");
        return 2;
    }
    char **cmd = &argv[i + 1];

    printf("@@venus-vm begin %s\n", name);
    fflush(stdout);
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0) {
        perror("vmrun: fork");
        return 2;
    }
    if (pid == 0) {
        if (out) {
            int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0) {
                fprintf(stderr, "vmrun: cannot open %s: %s\n", out, strerror(errno));
                _exit(127);
            }
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execvp(cmd[0], cmd);
        fprintf(stderr, "vmrun: cannot run %s: %s\n", cmd[0], strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("vmrun: waitpid");
            return 2;
        }
    }
    double ms = now_ms() - t0;
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("@@venus-vm end %s rc=%d ms=%.1f\n", name, rc, ms);
    fflush(stdout);
    return rc;
}
