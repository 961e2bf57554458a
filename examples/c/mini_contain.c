/*
 * mini_contain: a small `contain` written against the C API of containment.
 *
 *   mini_contain [--memory SIZE] [--chroot DIR] [--cpus LIST] [--timeout MS]
 *                [--hostname NAME] -- PROGRAM [ARGS...]
 *
 * Runs PROGRAM in a sandbox with the standard descriptors inherited, then prints
 * its outcome on stderr, one line:
 *
 *   outcome: exit_code=3 signal=0 oom_killed=0 timed_out=0 wall_ms=5 user_ms=0
 *            sys_ms=1 peak_memory=1773568
 *
 * Its exit code follows `contain`: the program's, 128+N when it died of signal N,
 * 125 when the sandbox could not be set up (with the reason on stderr), 126 when
 * the program is not executable, 127 when it is not found, 2 for bad usage.
 *
 * Build: cc mini_contain.c $(pkg-config --cflags --libs containment)
 */
#include <containment.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(const char *why) {
    fprintf(stderr,
            "mini_contain: %s\n"
            "usage: mini_contain [--memory SIZE] [--chroot DIR] [--cpus LIST] [--timeout MS]\n"
            "                    [--hostname NAME] -- PROGRAM [ARGS...]\n",
            why);
    return 2;
}

/* Prints the error and gives the exit code that goes with it. */
static int fail(const char *what, containment_status st, containment_error *err) {
    const char *msg = err != NULL ? containment_error_message(err) : containment_status_str((int)st);
    fprintf(stderr, "mini_contain: %s: %s\n", what, msg);
    const char *stage = containment_error_stage(err);
    const char *path = containment_error_path(err);
    if (stage != NULL || path != NULL)
        fprintf(stderr, "mini_contain: stage=%s path=%s errno=%d\n", stage ? stage : "-", path ? path : "-",
                containment_error_errno(err));
    containment_error_free(err);
    switch (st) {
    case CONTAINMENT_NOT_FOUND:
        return 127;
    case CONTAINMENT_NOT_EXECUTABLE:
        return 126;
    case CONTAINMENT_INVALID_VALUE:
    case CONTAINMENT_INVALID_CONFIG:
    case CONTAINMENT_NULL_ARGUMENT:
        return 2;
    default:
        return 125;
    }
}

int main(int argc, char **argv) {
    containment_sandbox *sb = containment_sandbox_new();
    containment_error *err = NULL;
    containment_status st = CONTAINMENT_OK;
    int i = 1;
    for (; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc) {
            containment_sandbox_free(sb);
            return usage("an option lacks its value, or `--` is missing");
        }
        const char *val = argv[++i];
        if (strcmp(opt, "--memory") == 0) {
            st = containment_sandbox_memory(sb, val, &err);
        } else if (strcmp(opt, "--chroot") == 0) {
            st = containment_sandbox_chroot(sb, val, &err);
        } else if (strcmp(opt, "--cpus") == 0) {
            st = containment_sandbox_cpus(sb, val, &err);
        } else if (strcmp(opt, "--hostname") == 0) {
            st = containment_sandbox_hostname(sb, val, &err);
        } else if (strcmp(opt, "--timeout") == 0) {
            char *end = NULL;
            unsigned long long ms = strtoull(val, &end, 10);
            if (*val == '\0' || *end != '\0') {
                containment_sandbox_free(sb);
                return usage("--timeout takes milliseconds");
            }
            st = containment_sandbox_timeout_ms(sb, ms, &err);
        } else {
            containment_sandbox_free(sb);
            return usage("unknown option");
        }
        if (st != CONTAINMENT_OK) {
            containment_sandbox_free(sb);
            return fail(opt, st, err);
        }
    }
    if (i >= argc) {
        containment_sandbox_free(sb);
        return usage("no program given");
    }

    /* argv is NULL-terminated at argv[argc], as containment_sandbox_spawn wants. */
    containment_child *child = NULL;
    st = containment_sandbox_spawn(sb, (const char *const *)&argv[i], &child, &err);
    containment_sandbox_free(sb);
    if (st != CONTAINMENT_OK)
        return fail("spawn", st, err);

    containment_outcome o;
    st = containment_child_wait(child, &o, &err);
    containment_child_free(child);
    if (st != CONTAINMENT_OK)
        return fail("wait", st, err);

    fprintf(stderr,
            "outcome: exit_code=%d signal=%d oom_killed=%d timed_out=%d wall_ms=%llu user_ms=%llu sys_ms=%llu "
            "peak_memory=%lld\n",
            o.exit_code, o.signal, (int)o.oom_killed, (int)o.timed_out,
            (unsigned long long)(o.usage.wall_us / 1000), (unsigned long long)(o.usage.user_us / 1000),
            (unsigned long long)(o.usage.system_us / 1000), (long long)o.usage.peak_memory_bytes);
    return o.signal != 0 ? 128 + o.signal : o.exit_code;
}
