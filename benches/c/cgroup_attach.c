// cgroup_attach.c - what a v1 cgroup migration costs a process that moves itself,
// through `cgroup.procs` (the whole thread group: the kernel takes its global
// cgroup_threadgroup_rwsem for writing) or through `tasks` (the calling thread
// only: no global lock), with an idle pause before each move.
//
// Build: gcc -O2 -Wall -o cgroup_attach benches/c/cgroup_attach.c
// Run (as root): cgroup_attach FILE N HIERARCHY PAUSE_US
//   e.g. cgroup_attach cgroup.procs 100 pids 20000; cgroup_attach tasks 100 pids 20000
// On cgroup v2 (HIERARCHY ""), FILE `clone3` starts the child in the group with
// clone3(CLONE_INTO_CGROUP) instead of moving it; the time is then taken in the
// parent from before the clone to the child's first word (for `cgroup.procs` the
// same span, fork + move, is printed as "fork+move").

// Each round makes /sys/fs/cgroup/HIERARCHY/containment/attach-PID, forks a child
// that writes "0" to FILE of that group (timed in the child), removes the group,
// then sleeps PAUSE_US. The project's parent `containment` is made if missing and
// then removed again. Prints: HIERARCHY FILE: mean, max, rounds over 1 ms.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s cgroup.procs|tasks N HIERARCHY PAUSE_US\n", argv[0]);
        return 2;
    }
    const char *file = argv[1], *hier = argv[3];
    int n = atoi(argv[2]), pause_us = atoi(argv[4]);
    char parent[256], dir[320], path[400];
    snprintf(parent, sizeof parent, "/sys/fs/cgroup/%s/containment", hier);
    int made_parent = mkdir(parent, 0755) == 0;
    if (!made_parent && errno != EEXIST) die(parent);
    if (made_parent && strcmp(hier, "cpuset") == 0) die("cpuset needs a filled parent; use pids or memory");
    snprintf(dir, sizeof dir, "%s/attach-%d", parent, getpid());
    int into = strcmp(file, "clone3") == 0;
    snprintf(path, sizeof path, "%s/%s", dir, into ? "" : file);
    double total = 0, max = 0, span = 0;
    int slow = 0;
    for (int i = 0; i < n; i++) {
        if (mkdir(dir, 0755) < 0) die(dir);
        int fd = open(path, into ? O_RDONLY | O_DIRECTORY | O_CLOEXEC : O_WRONLY | O_CLOEXEC);
        if (fd < 0) die(path);
        int p[2];
        if (pipe(p) < 0) die("pipe");
        double start = now_ms();
        pid_t c;
        if (into) {
            struct clone_args args = {0};
            args.flags = CLONE_INTO_CGROUP;
            args.exit_signal = SIGCHLD;
            args.cgroup = (unsigned long long)fd;
            c = (pid_t)syscall(SYS_clone3, &args, sizeof args);
        } else {
            c = fork();
        }
        if (c < 0) die("fork");
        if (c == 0) {
            double t0 = now_ms();
            if (!into && write(fd, "0", 1) != 1) _exit(1);
            double d = now_ms() - t0;
            _exit(write(p[1], &d, sizeof d) == sizeof d ? 0 : 1);
        }
        double d = 0;
        if (read(p[0], &d, sizeof d) != sizeof d) die("the child's move failed");
        if (into) d = now_ms() - start;
        span += now_ms() - start;
        close(p[0]);
        close(p[1]);
        close(fd);
        waitpid(c, NULL, 0);
        total += d;
        if (d > max) max = d;
        if (d > 1) slow++;
        while (rmdir(dir) != 0) usleep(100);
        usleep(pause_us);
    }
    if (made_parent) rmdir(parent);
    printf("%s %s: pause %d us, mean %.3f ms, max %.3f ms, over 1 ms: %d of %d; fork+move %.3f ms\n", hier, file,
           pause_us, total / n, max, slow, n, span / n);
    return 0;
}
