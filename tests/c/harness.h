/*
 * A tiny test harness for the C tests of libcontainment: CHECK macros that count
 * and report, a skip rule for tests that need to spawn sandboxes, and a summary
 * line "NAME: N passed, N failed, N skipped". A test program exits 0 when nothing
 * failed.
 *
 * Skips: sandboxes start without root (in a user namespace of the caller's ids),
 * but cgroup limits, id ranges, bridge networks and named sandboxes need root.
 * Without it, those tests are skipped with a reason (after checking that they fail
 * with CONTAINMENT_NEEDS_PRIVILEGE), unless CONTAINMENT_MUST_WORK=1, which turns
 * the skip into a failure. Under
 * valgrind (run.sh sets CONTAINMENT_C_VALGRIND=1), a valgrind that lacks system
 * calls the sandbox needs (valgrind 3.19 has neither clone3 nor open_tree: it
 * answers ENOSYS) makes spawning fail: spawn tests are then skipped with that
 * reason whatever CONTAINMENT_MUST_WORK says, since they also run natively and
 * under ASan.
 */
#ifndef CTM_HARNESS_H
#define CTM_HARNESS_H

#define _GNU_SOURCE
#include <containment.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int h_passed, h_failed, h_skipped;

static inline void h_check(int ok, const char *what, const char *file, int line) {
    if (ok) {
        h_passed++;
    } else {
        h_failed++;
        fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
    }
}

/* Checks a condition. */
#define CHECK(cond) h_check(!!(cond), #cond, __FILE__, __LINE__)

/* Checks a condition, printing a formatted explanation when it fails. */
#define CHECKF(cond, ...)                                                               \
    do {                                                                                \
        int ok_ = !!(cond);                                                             \
        h_check(ok_, #cond, __FILE__, __LINE__);                                        \
        if (!ok_) {                                                                     \
            fprintf(stderr, "     ");                                                   \
            fprintf(stderr, __VA_ARGS__);                                               \
            fprintf(stderr, "\n");                                                      \
        }                                                                               \
    } while (0)

static inline void h_check_status(containment_status got, containment_status want, const char *expr,
                           const char *file, int line) {
    h_check(got == want, expr, file, line);
    if (got != want)
        fprintf(stderr, "     got %d (%s), want %d (%s)\n", (int)got, containment_status_str((int)got),
                (int)want, containment_status_str((int)want));
}

/* Checks that an expression gives the wanted status. */
#define CHECK_ST(expr, want) h_check_status((expr), (want), #expr, __FILE__, __LINE__)

/* Whether `haystack` is not NULL and contains `needle` (any text when NULL). */
static inline int h_contains(const char *haystack, const char *needle) {
    return haystack != NULL && (needle == NULL || strstr(haystack, needle) != NULL);
}

/*
 * Checks that `expr` (a call whose error out-parameter is &err) fails with `want`
 * and a message containing `needle` (when not NULL), then frees the error.
 */
#define CHECK_ERR(expr, err, want, needle)                                              \
    do {                                                                                \
        containment_status st_ = (expr);                                                \
        h_check_status(st_, (want), #expr, __FILE__, __LINE__);                         \
        h_check((err) != NULL, "error object is set: " #expr, __FILE__, __LINE__);      \
        if ((err) != NULL) {                                                            \
            const char *m_ = containment_error_message(err);                            \
            h_check(containment_error_status(err) == st_, "error status matches",      \
                    __FILE__, __LINE__);                                                \
            int has_ = h_contains(m_, (needle));                                        \
            h_check(has_, "message mentions " #needle, __FILE__, __LINE__);             \
            if (!has_)                                                                  \
                fprintf(stderr, "     message: %s\n", m_ ? m_ : "(null)");              \
            containment_error_free(err);                                                \
            (err) = NULL;                                                               \
        }                                                                               \
    } while (0)

/* Checks that `expr` succeeds; on failure prints the error message. */
#define CHECK_OK(expr, err)                                                             \
    do {                                                                                \
        containment_status st_ = (expr);                                                \
        h_check_status(st_, CONTAINMENT_OK, #expr, __FILE__, __LINE__);                 \
        if (st_ != CONTAINMENT_OK && (err) != NULL)                                     \
            fprintf(stderr, "     error: %s\n", containment_error_message(err));         \
        containment_error_free(err);                                                    \
        (err) = NULL;                                                                   \
    } while (0)

static inline int h_env_is(const char *name, const char *value) {
    const char *v = getenv(name);
    return v != NULL && strcmp(v, value) == 0;
}

static inline void h_skip(const char *what, const char *reason) {
    if (h_env_is("CONTAINMENT_MUST_WORK", "1")) {
        h_failed++;
        fprintf(stderr, "FAIL %s: cannot run: %s (CONTAINMENT_MUST_WORK=1 forbids skipping)\n", what, reason);
    } else {
        h_skipped++;
        printf("skipped: %s: %s\n", what, reason);
    }
}

/* 1 when sandboxes can be spawned here, 0 when not (decided once, by a probe). */
static int h_spawn_state = -1;
static int h_spawn_enosys; /* the probe failed for a missing system call */
static char h_spawn_reason[512];

static inline int h_can_spawn(void) {
    if (h_spawn_state >= 0)
        return h_spawn_state;
    containment_sandbox *sb = containment_sandbox_new();
    const char *argv[] = {"/bin/true", NULL};
    containment_child *child = NULL;
    containment_error *err = NULL;
    containment_status st = containment_sandbox_spawn(sb, argv, &child, &err);
    if (st == CONTAINMENT_OK) {
        containment_outcome o;
        containment_child_wait(child, &o, NULL);
        containment_child_free(child);
        h_spawn_state = 1;
    } else {
        snprintf(h_spawn_reason, sizeof h_spawn_reason, "%s", containment_error_message(err));
        h_spawn_enosys = containment_error_errno(err) == ENOSYS || strstr(h_spawn_reason, "clone3") != NULL;
        h_spawn_state = 0;
    }
    containment_error_free(err);
    containment_sandbox_free(sb);
    return h_spawn_state;
}

/*
 * Whether a test that spawns sandboxes can run. When not, records a skip (or, with
 * CONTAINMENT_MUST_WORK=1 and not because of valgrind, a failure) and returns 0.
 */
static inline int h_require_spawn(const char *what) {
    if (h_can_spawn())
        return 1;
    if (h_env_is("CONTAINMENT_C_VALGRIND", "1") && h_spawn_enosys) {
        /* Not a skip: this part is outside the valgrind leg by design (valgrind 3.19
         * implements neither clone3 nor open_tree); run.sh runs it natively and
         * under ASan. */
        printf("not under valgrind: %s (%s)\n", what, h_spawn_reason);
        return 0;
    }
    if (geteuid() != 0) {
        h_skip(what, "needs root (CAP_SYS_ADMIN) to create namespaces; run the tests as root");
        return 0;
    }
    h_failed++;
    fprintf(stderr, "FAIL %s: cannot spawn a sandbox as root: %s\n", what, h_spawn_reason);
    return 0;
}

/*
 * Whether a test that needs root (cgroup limits, id ranges, no user namespace,
 * bridge networks, /run/containment) can run. When not, records a skip (a failure
 * with CONTAINMENT_MUST_WORK=1) and returns 0.
 */
static inline int h_require_root(const char *what) {
    if (geteuid() == 0)
        return 1;
    h_skip(what, "needs root (cgroup limits, id ranges and named sandboxes need privileges); run the tests as root");
    return 0;
}

/* Prints the summary line and gives the exit code. */
static inline int h_summary(const char *name) {
    printf("%s: %d passed, %d failed, %d skipped\n", name, h_passed, h_failed, h_skipped);
    return h_failed == 0 ? 0 : 1;
}

/* Reads everything from `fd` into `buf` (NUL-terminated); returns the length or -1. */
static inline ssize_t h_read_all(int fd, char *buf, size_t size) {
    size_t got = 0;
    while (got + 1 < size) {
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

/* How many descriptors this process has open. */
static inline int h_count_fds(void) {
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    return n;
}

#endif /* CTM_HARNESS_H */
