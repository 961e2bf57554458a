/* spawn_loop.c - spawn-to-outcome of /bin/true through the C API, in-process, in a
 * loop: the C entry point's counterpart of the criterion bench `spawn/default`
 * (and of `layers/6-netns-full-default` with `limits`).
 *
 * Build: cc -O2 -I include -o spawn_loop benches/c/spawn_loop.c \
 *            -L target/release -Wl,-rpath,$PWD/target/release -lcontainment
 * Run (as root): spawn_loop N [limits]
 *   N       iterations measured (after N/10 warm-up ones)
 *   limits  memory 64M, cpuset 0, pids 64, as the bench's `limits` group
 * Prints one line in the C floor's format, times in microseconds:
 *   RESULT|c-api:spawn[+limits]|n|mean_us|sd_us|min_us|median_us|p99_us
 * Exits 1 with the library's message when a spawn fails. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "containment.h"

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void fail(const char *what, containment_status st, containment_error *err) {
    fprintf(stderr, "spawn_loop: %s: %s: %s\n", what, containment_status_str(st),
            err ? containment_error_message(err) : "");
    containment_error_free(err);
    exit(1);
}

/* One sandbox: a command made from `sb`, stdio null, run to its outcome. */
static void run_true(const containment_sandbox *sb) {
    containment_error *err = NULL;
    containment_command *cmd = NULL;
    containment_outcome o;
    containment_status st = containment_command_new(sb, "/bin/true", &cmd, &err);
    if (st != CONTAINMENT_OK)
        fail("command_new", st, err);
    if ((st = containment_command_stdin(cmd, CONTAINMENT_STDIO_NULL, -1, &err)) != CONTAINMENT_OK ||
        (st = containment_command_stdout(cmd, CONTAINMENT_STDIO_NULL, -1, &err)) != CONTAINMENT_OK ||
        (st = containment_command_stderr(cmd, CONTAINMENT_STDIO_NULL, -1, &err)) != CONTAINMENT_OK)
        fail("stdio", st, err);
    if ((st = containment_command_status(cmd, &o, &err)) != CONTAINMENT_OK)
        fail("status", st, err);
    if (o.exit_code != 0) {
        fprintf(stderr, "spawn_loop: /bin/true exited %d (signal %d)\n", o.exit_code, o.signal);
        exit(1);
    }
    containment_command_free(cmd);
}

int main(int argc, char **argv) {
    if (argc < 2 || atoi(argv[1]) < 2) {
        fprintf(stderr, "usage: spawn_loop N [limits]   (N >= 2)\n");
        return 2;
    }
    int n = atoi(argv[1]);
    int limits = argc > 2 && strcmp(argv[2], "limits") == 0;
    containment_error *err = NULL;
    containment_status st;
    containment_sandbox *sb = containment_sandbox_new();
    if (limits && ((st = containment_sandbox_memory(sb, "64M", &err)) != CONTAINMENT_OK ||
                   (st = containment_sandbox_cpus(sb, "0", &err)) != CONTAINMENT_OK ||
                   (st = containment_sandbox_pids(sb, 64, &err)) != CONTAINMENT_OK))
        fail("limits", st, err);
    for (int i = 0; i < n / 10; i++)
        run_true(sb);
    double *t = malloc(sizeof *t * (size_t)n);
    if (t == NULL)
        return 1;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double a = now_us();
        run_true(sb);
        t[i] = now_us() - a;
        sum += t[i];
    }
    containment_sandbox_free(sb);
    double mean = sum / n, var = 0;
    for (int i = 0; i < n; i++)
        var += (t[i] - mean) * (t[i] - mean);
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    printf("RESULT|c-api:spawn%s|%d|%.1f|%.1f|%.1f|%.1f|%.1f\n", limits ? "+limits" : "", n, mean,
           sqrt(var / (n - 1)), t[0], t[n / 2], t[(int)(n * 0.99)]);
    free(t);
    return 0;
}
