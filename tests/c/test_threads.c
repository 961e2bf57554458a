/*
 * Threads and fork: many C threads spawning at once (from one shared sandbox and
 * from their own), a kill from one thread while another waits, a sandbox that
 * outlives the thread that spawned it, and spawning in the child of a fork.
 * Needs root for the spawning parts; the handle checks from threads run anyway.
 */
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define THREADS 8
#define SPAWNS_PER_THREAD 4

struct worker {
    const containment_sandbox *shared; /* used by every thread at once (const use) */
    int index;
    int ok;  /* spawns whose exit code was right */
    int bad; /* anything else */
    char first_error[256];
};

static void *spawn_worker(void *arg) {
    struct worker *w = arg;
    containment_sandbox *own = containment_sandbox_new();
    for (int i = 0; i < SPAWNS_PER_THREAD; i++) {
        int want = (w->index * SPAWNS_PER_THREAD + i) % 256;
        char script[32];
        snprintf(script, sizeof script, "exit %d", want);
        const char *argv[] = {"/bin/sh", "-c", script, NULL};
        /* Alternate between the shared sandbox and this thread's own. */
        const containment_sandbox *sb = (i % 2 == 0) ? w->shared : own;
        containment_child *child = NULL;
        containment_error *err = NULL;
        containment_outcome o;
        if (containment_sandbox_spawn(sb, argv, &child, &err) != CONTAINMENT_OK ||
            containment_child_wait(child, &o, &err) != CONTAINMENT_OK) {
            if (w->bad++ == 0)
                snprintf(w->first_error, sizeof w->first_error, "%s", containment_error_message(err));
        } else if (o.exit_code == want) {
            w->ok++;
        } else {
            w->bad++;
        }
        containment_error_free(err);
        containment_child_free(child);
    }
    containment_sandbox_free(own);
    return NULL;
}

static void test_many_threads_spawning(void) {
    containment_sandbox *shared = containment_sandbox_new();
    containment_error *err = NULL;
    if (geteuid() == 0) /* cgroup limits need root */
        CHECK_OK(containment_sandbox_pids(shared, 32, &err), err);
    int fds_before = h_count_fds();
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (struct worker){.shared = shared, .index = t, .ok = 0, .bad = 0, .first_error = ""};
        CHECK(pthread_create(&threads[t], NULL, spawn_worker, &workers[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++) {
        CHECK(pthread_join(threads[t], NULL) == 0);
        CHECKF(workers[t].ok == SPAWNS_PER_THREAD && workers[t].bad == 0, "thread %d: %d ok, %d bad (%s)", t,
               workers[t].ok, workers[t].bad, workers[t].first_error);
    }
    CHECKF(h_count_fds() == fds_before, "descriptors before %d, after %d", fds_before, h_count_fds());
    containment_sandbox_free(shared);
}

struct waiter {
    containment_child *child;
    containment_status status;
    containment_outcome outcome;
};

static void *wait_worker(void *arg) {
    struct waiter *w = arg;
    w->status = containment_child_wait(w->child, &w->outcome, NULL);
    return NULL;
}

/* One thread waits; another kills; a third waiter gets ALREADY_WAITED. */
static void test_kill_while_another_thread_waits(void) {
    containment_sandbox *sb = containment_sandbox_new();
    containment_error *err = NULL;
    const char *argv[] = {"/bin/sleep", "60", NULL};
    containment_child *child = NULL;
    CHECK_OK(containment_sandbox_spawn(sb, argv, &child, &err), err);
    if (child != NULL) {
        struct waiter w1 = {child, CONTAINMENT_PANIC, {0, 0, false, false, {0, 0, 0, 0}}};
        struct waiter w2 = w1;
        pthread_t t1, t2;
        CHECK(pthread_create(&t1, NULL, wait_worker, &w1) == 0);
        CHECK(pthread_create(&t2, NULL, wait_worker, &w2) == 0);
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
        /* pid and kill do not wait for the waiters' lock. */
        CHECK(containment_child_pid(child) > 0);
        CHECK_OK(containment_child_kill(child, &err), err);
        CHECK(pthread_join(t1, NULL) == 0);
        CHECK(pthread_join(t2, NULL) == 0);
        /* Exactly one waiter got the outcome. */
        struct waiter *got = w1.status == CONTAINMENT_OK ? &w1 : &w2;
        struct waiter *other = got == &w1 ? &w2 : &w1;
        CHECKF(got->status == CONTAINMENT_OK && other->status == CONTAINMENT_ALREADY_WAITED, "statuses %d and %d",
               (int)w1.status, (int)w2.status);
        CHECK(got->outcome.signal == SIGKILL);
        containment_child_free(child);
    }
    containment_sandbox_free(sb);
}

static void *spawn_and_return(void *arg) {
    const containment_sandbox *sb = arg;
    const char *argv[] = {"/bin/sh", "-c", "sleep 0.3; exit 5", NULL};
    containment_child *child = NULL;
    containment_sandbox_spawn(sb, argv, &child, NULL);
    return child;
}

/* The sandbox does not die with the thread that spawned it. */
static void test_sandbox_outlives_its_thread(void) {
    containment_sandbox *sb = containment_sandbox_new();
    pthread_t t;
    void *child = NULL;
    CHECK(pthread_create(&t, NULL, spawn_and_return, sb) == 0);
    CHECK(pthread_join(t, &child) == 0);
    CHECK(child != NULL);
    containment_outcome o;
    containment_error *err = NULL;
    CHECK_OK(containment_child_wait(child, &o, &err), err);
    CHECKF(o.exit_code == 5 && o.signal == 0, "exit_code %d signal %d", o.exit_code, o.signal);
    containment_child_free(child);
    containment_sandbox_free(sb);
}

/* In the child of a fork of this (single-threaded) process, new handles work. */
static void test_spawn_after_fork(void) {
    containment_sandbox *before = containment_sandbox_new();
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        /* Handles from before the fork are not used here (see the header). */
        containment_sandbox *sb = containment_sandbox_new();
        const char *argv[] = {"/bin/sh", "-c", "exit 9", NULL};
        containment_child *child = NULL;
        containment_outcome o = {0, 0, false, false, {0, 0, 0, 0}};
        int code = 100;
        if (containment_sandbox_spawn(sb, argv, &child, NULL) == CONTAINMENT_OK &&
            containment_child_wait(child, &o, NULL) == CONTAINMENT_OK)
            code = o.exit_code;
        containment_child_free(child);
        containment_sandbox_free(sb);
        containment_sandbox_free(before);
        _exit(code);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 9, "fork child status %d", status);
    containment_sandbox_free(before);
}

/* Handle checks from many threads at once (no root needed). */
static void *handle_worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 200; i++) {
        /* (Use after free is not checked here: another thread may get the freed
         * address for a new handle at once, which no check can tell apart.) */
        containment_sandbox *sb = containment_sandbox_new();
        containment_sandbox *copy = NULL;
        containment_error *err = NULL;
        if (containment_sandbox_memory(sb, "64M", NULL) != CONTAINMENT_OK ||
            containment_sandbox_clone(sb, &copy, NULL) != CONTAINMENT_OK ||
            containment_sandbox_cpus(copy, "3-1", &err) != CONTAINMENT_INVALID_VALUE ||
            strstr(containment_error_message(err), "3-1") == NULL)
            return (void *)1;
        containment_error_free(err);
        containment_sandbox_free(sb);
        containment_sandbox_free(copy);
    }
    return NULL;
}

static void test_handles_from_threads(void) {
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_create(&threads[t], NULL, handle_worker, NULL) == 0);
    for (int t = 0; t < THREADS; t++) {
        void *r = (void *)1;
        CHECK(pthread_join(threads[t], &r) == 0);
        CHECK(r == NULL);
    }
}

int main(void) {
    test_handles_from_threads();
    if (h_require_spawn("test_threads (spawning)")) {
        test_spawn_after_fork();
        test_many_threads_spawning();
        test_kill_while_another_thread_waits();
        test_sandbox_outlives_its_thread();
    }
    return h_summary("test_threads");
}
