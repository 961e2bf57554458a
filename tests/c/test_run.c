/*
 * Spawning through the C API: exit codes and signals, waiting (twice, with a
 * timeout, polling), OOM and timeouts in the outcome, standard descriptors,
 * non-UTF-8 bytes, the environment, spawn errors with stage, errno and path, and
 * every sandbox option in a real sandbox. Needs root; skips without it.
 */
#include "harness.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static char tmpdir[64];

/* Runs `sh -c script` in `sb` to its end, its stdout piped into `out` (may be NULL). */
static containment_status run_sh(containment_sandbox *sb, const char *script, containment_outcome *o, char *out,
                                 size_t out_size, containment_error **err) {
    containment_command *cmd = NULL;
    containment_status st = containment_command_new(sb, "/bin/sh", &cmd, err);
    if (st != CONTAINMENT_OK)
        return st;
    const char *args[] = {"-c", script, NULL};
    containment_command_args(cmd, args, NULL);
    containment_buffer so = {NULL, 0}, se = {NULL, 0};
    st = containment_command_output(cmd, o, &so, &se, err);
    if (st == CONTAINMENT_OK) {
        if (out != NULL) {
            snprintf(out, out_size, "%s", (const char *)so.data);
        }
        if (se.len > 0)
            fprintf(stderr, "     (stderr of `%s`: %s)\n", script, (const char *)se.data);
        containment_buffer_free(&so);
        containment_buffer_free(&se);
    }
    containment_command_free(cmd);
    return st;
}

/* Runs `script` in a default sandbox and returns its outcome (exit_code -2 on failure). */
static containment_outcome outcome_of(const char *script) {
    containment_outcome o = {-2, 0, false, false, {0, 0, 0, 0}};
    containment_error *err = NULL;
    containment_sandbox *sb = containment_sandbox_new();
    CHECK_OK(run_sh(sb, script, &o, NULL, 0, &err), err);
    containment_sandbox_free(sb);
    return o;
}

static void test_exit_codes_and_signals(void) {
    int codes[] = {0, 1, 42, 255};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        char script[64];
        snprintf(script, sizeof script, "exit %d", codes[i]);
        containment_outcome o = outcome_of(script);
        CHECKF(o.exit_code == codes[i] && o.signal == 0, "%s: exit_code %d signal %d", script, o.exit_code,
               o.signal);
        CHECK(!o.oom_killed && !o.timed_out);
        CHECK(o.usage.wall_us > 0);
    }
    int sigs[] = {SIGKILL, SIGSEGV, SIGTERM};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        char script[64];
        snprintf(script, sizeof script, "kill -%d $$", sigs[i]);
        containment_outcome o = outcome_of(script);
        CHECKF(o.exit_code == -1 && o.signal == sigs[i], "%s: exit_code %d signal %d", script, o.exit_code,
               o.signal);
    }
}

static void test_wait_rules(void) {
    containment_error *err = NULL;
    containment_sandbox *sb = containment_sandbox_new();
    const char *argv[] = {"/bin/sh", "-c", "exit 3", NULL};
    containment_child *child = NULL;
    CHECK_OK(containment_sandbox_spawn(sb, argv, &child, &err), err);
    if (child == NULL)
        goto out;
    CHECK(containment_child_pid(child) > 0);
    CHECK(containment_child_pidfd(child) >= 0);
    CHECK(containment_child_stdin_fd(child) == -1);
    CHECK(containment_child_stdout_fd(child) == -1);
    containment_outcome o;
    CHECK_ERR(containment_child_wait(child, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`outcome`");
    CHECK_OK(containment_child_wait(child, &o, &err), err);
    CHECK(o.exit_code == 3);
    /* Waiting again, in any way, is refused. */
    containment_outcome again = {77, 77, true, true, {0, 0, 0, 0}};
    bool finished = false;
    CHECK_ERR(containment_child_wait(child, &again, &err), err, CONTAINMENT_ALREADY_WAITED, "already waited");
    CHECK_ERR(containment_child_try_wait(child, &again, &finished, &err), err, CONTAINMENT_ALREADY_WAITED, NULL);
    CHECK_ERR(containment_child_wait_timeout(child, 10, &again, &finished, &err), err, CONTAINMENT_ALREADY_WAITED,
              NULL);
    CHECK(again.exit_code == 77 && !finished); /* outputs untouched on failure */
    /* Signals to an ended sandbox do nothing. */
    CHECK_OK(containment_child_kill(child, &err), err);
    CHECK_OK(containment_child_signal(child, SIGTERM, &err), err);
    containment_child_free(child);
    containment_child_free(child); /* double free: ignored */
    CHECK_ERR(containment_child_wait(child, &o, &err), err, CONTAINMENT_INVALID_HANDLE, "`child`");
    CHECK(containment_child_pid(child) == -1);
out:
    containment_sandbox_free(sb);
}

static void test_wait_timeout_try_wait_kill(void) {
    containment_error *err = NULL;
    containment_sandbox *sb = containment_sandbox_new();
    const char *argv[] = {"/bin/sleep", "60", NULL};
    containment_child *child = NULL;
    CHECK_OK(containment_sandbox_spawn(sb, argv, &child, &err), err);
    if (child == NULL)
        goto out;
    containment_outcome o = {77, 77, false, false, {0, 0, 0, 0}};
    bool finished = true;
    CHECK_OK(containment_child_try_wait(child, &o, &finished, &err), err);
    CHECK(!finished && o.exit_code == 77);
    finished = true;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_OK(containment_child_wait_timeout(child, 150, &o, &finished, &err), err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECKF(!finished && ms >= 140, "finished %d after %ld ms", finished, ms);
    CHECK_ERR(containment_child_wait_timeout(child, 10, &o, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`finished`");
    /* An invalid signal is refused by the kernel. */
    CHECK_ST(containment_child_signal(child, 99999, &err), CONTAINMENT_OS_ERROR);
    CHECK(containment_error_errno(err) == EINVAL);
    containment_error_free(err);
    err = NULL;
    CHECK_OK(containment_child_signal(child, 0, &err), err);
    CHECK_OK(containment_child_kill(child, &err), err);
    CHECK_OK(containment_child_wait_timeout(child, 10000, &o, &finished, &err), err);
    CHECK(finished && o.exit_code == -1 && o.signal == SIGKILL && !o.timed_out);
    containment_child_free(child);

    /* SIGTERM goes to the program through the init. */
    child = NULL;
    CHECK_OK(containment_sandbox_spawn(sb, argv, &child, &err), err);
    CHECK_OK(containment_child_signal(child, SIGTERM, &err), err);
    CHECK_OK(containment_child_wait(child, &o, &err), err);
    CHECK(o.signal == SIGTERM);
    containment_child_free(child);

    /* Freeing a running child kills and reaps its sandbox. */
    child = NULL;
    CHECK_OK(containment_sandbox_spawn(sb, argv, &child, &err), err);
    int pid = containment_child_pid(child);
    CHECK(pid > 0 && kill(pid, 0) == 0);
    containment_child_free(child);
    CHECK(kill(pid, 0) == -1 && errno == ESRCH);
out:
    containment_sandbox_free(sb);
}

/* OOM through the outcome (needs root: cgroup limits). */
static void test_oom(void) {
    containment_error *err = NULL;
    containment_outcome o;
    containment_sandbox *sb = containment_sandbox_new();
    CHECK_OK(containment_sandbox_memory(sb, "32M", &err), err);
    CHECK_OK(run_sh(sb, "x=$(head -c 100M /dev/zero | tr \"\\0\" a)", &o, NULL, 0, &err), err);
    CHECKF(o.oom_killed, "oom_killed false: exit_code %d signal %d", o.exit_code, o.signal);
    CHECKF(o.usage.peak_memory_bytes > 0 && o.usage.peak_memory_bytes <= (int64_t)40 << 20, "peak %lld",
           (long long)o.usage.peak_memory_bytes);
    /* The same sandbox, a program within the limit. */
    CHECK_OK(run_sh(sb, "exit 0", &o, NULL, 0, &err), err);
    CHECK(o.exit_code == 0 && !o.oom_killed);
    containment_sandbox_free(sb);

    sb = containment_sandbox_new();
    CHECK_OK(containment_sandbox_memory_bytes(sb, 32u << 20, &err), err);
    CHECK_OK(run_sh(sb, "x=$(head -c 100M /dev/zero | tr \"\\0\" a)", &o, NULL, 0, &err), err);
    CHECK(o.oom_killed);
    containment_sandbox_free(sb);
}

static void test_timeout_and_cpu_time(void) {
    containment_error *err = NULL;
    containment_outcome o;
    containment_sandbox *sb = containment_sandbox_new();
    CHECK_OK(containment_sandbox_timeout_ms(sb, 300, &err), err);
    CHECK_OK(run_sh(sb, "sleep 30", &o, NULL, 0, &err), err);
    CHECK(o.timed_out && o.signal == SIGKILL && !o.oom_killed);
    CHECK(o.usage.wall_us >= 300000 && o.usage.wall_us < 10000000);
    containment_sandbox_free(sb);

    /* CPU time is reported. */
    o = outcome_of("i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done");
    CHECKF(o.usage.user_us + o.usage.system_us > 0, "user %llu sys %llu", (unsigned long long)o.usage.user_us,
           (unsigned long long)o.usage.system_us);
}

static void test_stdio(void) {
    containment_error *err = NULL;
    containment_sandbox *sb = containment_sandbox_new();
    containment_command *cmd = NULL;
    char buf[4096];

    /* Piped stdin and stdout: cat echoes what we write. */
    CHECK_OK(containment_command_new(sb, "/bin/cat", &cmd, &err), err);
    CHECK_OK(containment_command_stdin(cmd, CONTAINMENT_STDIO_PIPED, -1, &err), err);
    CHECK_OK(containment_command_stdout(cmd, CONTAINMENT_STDIO_PIPED, -1, &err), err);
    containment_child *child = NULL;
    CHECK_OK(containment_command_spawn(cmd, &child, &err), err);
    if (child != NULL) {
        int in = containment_child_stdin_fd(child), out = containment_child_stdout_fd(child);
        CHECK(in >= 0 && out >= 0 && containment_child_stderr_fd(child) == -1);
        CHECK(write(in, "ping\n", 5) == 5);
        CHECK_OK(containment_child_close_stdin(child, &err), err);
        CHECK(containment_child_stdin_fd(child) == -1);
        CHECK_OK(containment_child_close_stdin(child, &err), err); /* twice: nothing */
        CHECK(h_read_all(out, buf, sizeof buf) == 5 && strcmp(buf, "ping\n") == 0);
        containment_outcome o;
        CHECK_OK(containment_child_wait(child, &o, &err), err);
        CHECK(o.exit_code == 0);
        CHECK(containment_child_stdout_fd(child) == out); /* open until free */
        containment_child_free(child);
    }
    /* The command can be spawned again; waiting closes a piped stdin. */
    child = NULL;
    CHECK_OK(containment_command_spawn(cmd, &child, &err), err);
    if (child != NULL) {
        containment_outcome o;
        CHECK_OK(containment_child_wait(child, &o, &err), err);
        CHECK(o.exit_code == 0 && containment_child_stdin_fd(child) == -1);
        containment_child_free(child);
    }
    containment_command_free(cmd);

    /* stdout to a descriptor we give (and may close at once), stderr to null. */
    char path[256];
    snprintf(path, sizeof path, "%s/out.txt", tmpdir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    CHECK_OK(containment_command_new(sb, "/bin/sh", &cmd, &err), err);
    const char *args[] = {"-c", "echo to-file; echo to-null >&2", NULL};
    CHECK_OK(containment_command_args(cmd, args, &err), err);
    CHECK_OK(containment_command_stdout(cmd, CONTAINMENT_STDIO_FD, fd, &err), err);
    close(fd);
    CHECK_OK(containment_command_stderr(cmd, CONTAINMENT_STDIO_NULL, -1, &err), err);
    containment_outcome o;
    CHECK_OK(containment_command_status(cmd, &o, &err), err);
    CHECK(o.exit_code == 0);
    containment_command_free(cmd);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0 && h_read_all(fd, buf, sizeof buf) >= 0 && strcmp(buf, "to-file\n") == 0);
    close(fd);

    /* output() collects both streams, NUL-terminated. */
    CHECK_OK(containment_command_new(sb, "/bin/sh", &cmd, &err), err);
    const char *args2[] = {"-c", "printf out; printf err >&2; exit 4", NULL};
    CHECK_OK(containment_command_args(cmd, args2, &err), err);
    containment_buffer so = {NULL, 0}, se = {NULL, 0};
    CHECK_OK(containment_command_output(cmd, &o, &so, &se, &err), err);
    CHECK(o.exit_code == 4);
    CHECK(so.len == 3 && memcmp(so.data, "out", 4) == 0);
    CHECK(se.len == 3 && memcmp(se.data, "err", 4) == 0);
    containment_buffer_free(&so);
    containment_buffer_free(&se);
    containment_buffer_free(&se); /* twice: nothing */
    CHECK(so.data == NULL && so.len == 0);
    containment_command_free(cmd);
    containment_sandbox_free(sb);
}

/* Arguments, environment values and paths that are not UTF-8 pass byte for byte. */
static void test_non_utf8(void) {
    containment_error *err = NULL;
    const char *bytes = "a\xff\xfe\x80z";
    char dir[256], file[512];
    snprintf(dir, sizeof dir, "%s/d\xff", tmpdir);
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(file, sizeof file, "%s/f", dir);
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(fd >= 0 && write(fd, "content", 7) == 7);
    close(fd);

    containment_sandbox *sb = containment_sandbox_new();
    CHECK_OK(containment_sandbox_bind_ro(sb, dir, "/in\xfe", &err), err);
    containment_command *cmd = NULL;
    CHECK_OK(containment_command_new(sb, "/bin/sh", &cmd, &err), err);
    const char *args[] = {"-c", "printf '%s|%s|' \"$1\" \"$V\"; cat \"/in$(printf '\\376')/f\"", "sh", bytes, NULL};
    CHECK_OK(containment_command_args(cmd, args, &err), err);
    CHECK_OK(containment_command_env(cmd, "V", bytes, &err), err);
    containment_outcome o;
    containment_buffer so = {NULL, 0}, se = {NULL, 0};
    CHECK_OK(containment_command_output(cmd, &o, &so, &se, &err), err);
    char want[64];
    snprintf(want, sizeof want, "%s|%s|content", bytes, bytes);
    CHECKF(o.exit_code == 0 && so.len == strlen(want) && memcmp(so.data, want, so.len) == 0, "got %s / %s",
           so.data ? (char *)so.data : "", se.data ? (char *)se.data : "");
    containment_buffer_free(&so);
    containment_buffer_free(&se);
    containment_command_free(cmd);
    containment_sandbox_free(sb);
    unlink(file);
    rmdir(dir);
}

static void test_environment_and_cwd(void) {
    containment_error *err = NULL;
    containment_sandbox *sb = containment_sandbox_new();
    containment_command *cmd = NULL;
    containment_outcome o;
    containment_buffer so = {NULL, 0}, se = {NULL, 0};
    const char *show[] = {"-c", "echo \"$PATH|$HOME|$FOO|$CTM_C_SECRET|$(pwd)\"", NULL};
    setenv("CTM_C_SECRET", "host-value", 1);

    /* The default: PATH and HOME only, nothing of the host, cwd /. */
    CHECK_OK(containment_command_new(sb, "/bin/sh", &cmd, &err), err);
    CHECK_OK(containment_command_args(cmd, show, &err), err);
    CHECK_OK(containment_command_output(cmd, &o, &so, &se, &err), err);
    CHECKF(so.data && strcmp((char *)so.data, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|/|||/\n") == 0,
           "got %s", so.data ? (char *)so.data : "");
    containment_buffer_free(&so);
    containment_buffer_free(&se);

    /* env, env_remove, current_dir. */
    CHECK_OK(containment_command_env(cmd, "FOO", "bar", &err), err);
    CHECK_OK(containment_command_env_remove(cmd, "HOME", &err), err);
    CHECK_OK(containment_command_current_dir(cmd, "/tmp", &err), err);
    CHECK_OK(containment_command_output(cmd, &o, &so, &se, &err), err);
    CHECKF(so.data && strstr((char *)so.data, "||bar||/tmp\n") != NULL, "got %s", so.data ? (char *)so.data : "");
    containment_buffer_free(&so);
    containment_buffer_free(&se);

    /* inherit_env passes the host's variables. */
    CHECK_OK(containment_command_inherit_env(cmd, &err), err);
    CHECK_OK(containment_command_output(cmd, &o, &so, &se, &err), err);
    CHECKF(so.data && strstr((char *)so.data, "|bar|host-value|/tmp") != NULL, "got %s",
           so.data ? (char *)so.data : "");
    containment_buffer_free(&so);
    containment_buffer_free(&se);
    containment_command_free(cmd);

    /* env_clear: not even PATH (so the program needs a full path). */
    CHECK_OK(containment_command_new(sb, "/bin/sh", &cmd, &err), err);
    const char *count[] = {"-c", "echo \"[$FOO]\"; exit 0", NULL};
    CHECK_OK(containment_command_args(cmd, count, &err), err);
    CHECK_OK(containment_command_env(cmd, "FOO", "x", &err), err);
    CHECK_OK(containment_command_env_clear(cmd, &err), err);
    CHECK_OK(containment_command_output(cmd, &o, &so, &se, &err), err);
    CHECKF(so.data && strcmp((char *)so.data, "[]\n") == 0, "got %s", so.data ? (char *)so.data : "");
    containment_buffer_free(&so);
    containment_buffer_free(&se);
    containment_command_free(cmd);

    /* arg0 is what the program sees as argv[0]. */
    CHECK_OK(containment_command_new(sb, "/bin/cat", &cmd, &err), err);
    CHECK_OK(containment_command_arg0(cmd, "my-cat", &err), err);
    CHECK_OK(containment_command_arg(cmd, "/proc/self/cmdline", &err), err);
    CHECK_OK(containment_command_output(cmd, &o, &so, &se, &err), err);
    CHECK(so.len == sizeof "my-cat\0/proc/self/cmdline" &&
          memcmp(so.data, "my-cat\0/proc/self/cmdline", so.len) == 0);
    containment_buffer_free(&so);
    containment_buffer_free(&se);
    containment_command_free(cmd);
    containment_sandbox_free(sb);
    unsetenv("CTM_C_SECRET");
}

static void test_spawn_errors(void) {
    containment_error *err = NULL;
    containment_sandbox *sb = containment_sandbox_new();
    containment_child *child = NULL;

    const char *missing[] = {"/nonexistent/prog", NULL};
    CHECK_ST(containment_sandbox_spawn(sb, missing, &child, &err), CONTAINMENT_NOT_FOUND);
    CHECK(containment_error_errno(err) == ENOENT);
    CHECK(h_contains(containment_error_stage(err), "exec"));
    CHECK(h_contains(containment_error_path(err), "/nonexistent/prog"));
    CHECK(h_contains(containment_error_message(err), "not found"));
    containment_error_free(err);
    err = NULL;

    /* A file without the execute bit. */
    char file[256];
    snprintf(file, sizeof file, "%s/noexec", tmpdir);
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(fd >= 0 && write(fd, "#!/bin/sh\n", 10) == 10);
    close(fd);
    containment_sandbox *sb2 = NULL;
    CHECK_OK(containment_sandbox_clone(sb, &sb2, &err), err);
    CHECK_OK(containment_sandbox_bind_ro(sb2, file, "/noexec", &err), err);
    const char *noexec[] = {"/noexec", NULL};
    CHECK_ST(containment_sandbox_spawn(sb2, noexec, &child, &err), CONTAINMENT_NOT_EXECUTABLE);
    CHECK(containment_error_errno(err) == EACCES);
    CHECK(h_contains(containment_error_path(err), "/noexec"));
    containment_error_free(err);
    err = NULL;
    containment_sandbox_free(sb2);

    /* A working directory that does not exist inside: setup fails at chdir. */
    containment_command *cmd = NULL;
    CHECK_OK(containment_command_new(sb, "/bin/true", &cmd, &err), err);
    CHECK_OK(containment_command_current_dir(cmd, "/no/such/dir", &err), err);
    CHECK_ST(containment_command_spawn(cmd, &child, &err), CONTAINMENT_SETUP_FAILED);
    CHECK(h_contains(containment_error_stage(err), "chdir"));
    CHECK(containment_error_errno(err) == ENOENT);
    containment_error_free(err);
    err = NULL;
    containment_command_free(cmd);

    /* A bind source that does not exist: the error names the path. */
    sb2 = containment_sandbox_new();
    CHECK_OK(containment_sandbox_bind_ro(sb2, "/nonexistent/src", "/x", &err), err);
    const char *t[] = {"/bin/true", NULL};
    containment_status st = containment_sandbox_spawn(sb2, t, &child, &err);
    CHECKF(st != CONTAINMENT_OK && h_contains(containment_error_message(err), "/nonexistent/src"),
           "status %d: %s", (int)st, containment_error_message(err));
    containment_error_free(err);
    err = NULL;
    containment_sandbox_free(sb2);

    /* A chroot directory that does not exist. */
    sb2 = containment_sandbox_new();
    CHECK_OK(containment_sandbox_chroot(sb2, "/nonexistent/root", &err), err);
    st = containment_sandbox_spawn(sb2, t, &child, &err);
    CHECKF(st != CONTAINMENT_OK && h_contains(containment_error_message(err), "/nonexistent/root"), "status %d: %s",
           (int)st, containment_error_message(err));
    containment_error_free(err);
    err = NULL;
    containment_sandbox_free(sb2);

    /* Values checked at spawn: a bad host name, zero pids, a negative quota. */
    sb2 = containment_sandbox_new();
    CHECK_OK(containment_sandbox_hostname(sb2, "bad name!", &err), err);
    CHECK_ERR(containment_sandbox_spawn(sb2, t, &child, &err), err, CONTAINMENT_INVALID_VALUE, "host name");
    containment_sandbox_free(sb2);
    sb2 = containment_sandbox_new();
    CHECK_OK(containment_sandbox_cpu_quota(sb2, -1.0, &err), err);
    CHECK_ERR(containment_sandbox_spawn(sb2, t, &child, &err), err, CONTAINMENT_INVALID_VALUE, NULL);
    containment_sandbox_free(sb2);
    sb2 = containment_sandbox_new();
    CHECK_OK(containment_sandbox_memory_bytes(sb2, CONTAINMENT_MIN_MEMORY - 1, &err), err);
    CHECK_ERR(containment_sandbox_spawn(sb2, t, &child, &err), err, CONTAINMENT_INVALID_VALUE, NULL);
    containment_sandbox_free(sb2);
    sb2 = containment_sandbox_new();
    CHECK_OK(containment_sandbox_bind_ro(sb2, "/bin", "/x", &err), err);
    CHECK_OK(containment_sandbox_bind_ro(sb2, "/usr", "/x", &err), err);
    CHECK_ERR(containment_sandbox_spawn(sb2, t, &child, &err), err, CONTAINMENT_INVALID_CONFIG, NULL);
    containment_sandbox_free(sb2);
    sb2 = containment_sandbox_new();
    CHECK_OK(containment_sandbox_cgroup_parent(sb2, "ctmtest-c-no-such-parent/deeper", &err), err);
    CHECK_OK(containment_sandbox_pids(sb2, 8, &err), err);
    st = containment_sandbox_spawn(sb2, t, &child, &err);
    CHECKF(st == CONTAINMENT_CGROUP_PARENT, "status %d: %s", (int)st, containment_error_message(err));
    CHECK(h_contains(containment_error_path(err), "ctmtest-c-no-such-parent"));
    containment_error_free(err);
    err = NULL;
    containment_sandbox_free(sb2);
    CHECK(child == NULL);
    containment_sandbox_free(sb);
}

/* Every option, in a real sandbox. */
static void test_options(void) {
    containment_error *err = NULL;
    containment_outcome o;
    char out[4096];
    containment_sandbox *sb = containment_sandbox_new();
    CHECK_OK(containment_sandbox_hostname(sb, "job-17", &err), err);
    CHECK_OK(containment_sandbox_pids(sb, 16, &err), err);
    CHECK_OK(containment_sandbox_cpus(sb, "0", &err), err);
    CHECK_OK(containment_sandbox_cpu_quota(sb, 0.5, &err), err);
    CHECK_OK(containment_sandbox_cpu_weight(sb, 200, &err), err);
    CHECK_OK(containment_sandbox_memory(sb, "128M", &err), err);
    CHECK_OK(containment_sandbox_rlimit(sb, CONTAINMENT_RLIMIT_NOFILE, 64, &err), err);
    CHECK_OK(containment_sandbox_rlimit_spec(sb, "fsize=4M", &err), err);
    CHECK_OK(containment_sandbox_rlimit_soft_hard(sb, CONTAINMENT_RLIMIT_CORE, 0, 0, &err), err);
    CHECK_OK(containment_sandbox_tmpfs(sb, "/scratch", "1M", &err), err);
    CHECK_OK(containment_sandbox_tmpfs_bytes(sb, "/scratch2", 2u << 20, &err), err);
    CHECK_OK(containment_sandbox_tmpfs_unlimited(sb, "/scratch3", &err), err);
    CHECK_OK(containment_sandbox_timeout_ms(sb, 60000, &err), err);
    CHECK_OK(run_sh(sb,
                    "hostname; ulimit -n; ulimit -f; grep Cpus_allowed_list /proc/self/status | tr -d '\\t';"
                    "dd if=/dev/zero of=/scratch/f bs=1k count=2048 2>/dev/null; echo dd=$?;"
                    "test -d /scratch2 && test -d /scratch3 && echo tmpfs-ok",
                    &o, out, sizeof out, &err),
             err);
    CHECKF(o.exit_code == 0 &&
               strcmp(out, "job-17\n64\n8192\nCpus_allowed_list:0\ndd=1\ntmpfs-ok\n") == 0,
           "exit %d, got:\n%s", o.exit_code, out);
    containment_sandbox_free(sb);

    int cpus[] = {0};
    sb = containment_sandbox_new();
    CHECK_OK(containment_sandbox_cpus_array(sb, cpus, 1, &err), err);
    CHECK_OK(containment_sandbox_user(sb, 65534, 65534, &err), err);
    uint32_t groups[] = {100};
    CHECK_OK(containment_sandbox_groups(sb, groups, 1, &err), err);
    CHECK_OK(containment_sandbox_readonly_root(sb, true, &err), err);
    CHECK_OK(containment_sandbox_private_tmp(sb, true, &err), err);
    CHECK_OK(run_sh(sb, "id -u; id -g; id -G; touch /x 2>/dev/null || echo ro; touch /tmp/x && echo tmp-rw", &o, out,
                    sizeof out, &err),
             err);
    CHECKF(o.exit_code == 0 && strcmp(out, "65534\n65534\n65534 100\nro\ntmp-rw\n") == 0, "got:\n%s", out);
    containment_sandbox_free(sb);

    /* command_new_from_host runs a host binary inside any root. */
    sb = containment_sandbox_new();
    containment_command *cmd = NULL;
    CHECK_OK(containment_command_new_from_host(sb, "/bin/echo", &cmd, &err), err);
    CHECK_OK(containment_command_arg(cmd, "from-host", &err), err);
    containment_buffer so = {NULL, 0}, se = {NULL, 0};
    CHECK_OK(containment_command_output(cmd, &o, &so, &se, &err), err);
    CHECK(o.exit_code == 0 && so.data && strcmp((char *)so.data, "from-host\n") == 0);
    containment_buffer_free(&so);
    containment_buffer_free(&se);
    containment_command_free(cmd);
    containment_sandbox_free(sb);
}

/* Counts the interfaces in /proc/net/dev (lines with a colon). */
static int host_interfaces(void) {
    char buf[8192];
    int fd = open("/proc/net/dev", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || h_read_all(fd, buf, sizeof buf) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    int n = 0;
    for (char *p = buf; (p = strchr(p, ':')) != NULL; p++)
        n++;
    return n;
}

/* Capabilities, seccomp, /sys, networks (none and host). */
static void test_security(void) {
    containment_error *err = NULL;
    containment_outcome o;
    char out[4096], want[256];

    containment_sandbox *sb = containment_sandbox_new();
    CHECK_OK(run_sh(sb, "grep CapEff /proc/self/status; ln -s x /tmp/l && echo link-ok; test -d /sys/kernel || echo no-sys",
                    &o, out, sizeof out, &err),
             err);
    CHECKF(strcmp(out, "CapEff:\t0000000000000000\nlink-ok\nno-sys\n") == 0, "got:\n%s", out);
    const char *caps[] = {"CAP_NET_RAW", NULL};
    CHECK_OK(containment_sandbox_capabilities(sb, caps, &err), err);
    CHECK_OK(containment_sandbox_seccomp_deny(sb, "symlink", &err), err);
    CHECK_OK(containment_sandbox_seccomp_deny(sb, "symlinkat", &err), err);
    CHECK_OK(containment_sandbox_sysfs(sb, true, &err), err);
    CHECK_OK(run_sh(sb, "grep CapEff /proc/self/status; ln -s x /tmp/l 2>/dev/null || echo link-denied; test -d /sys/kernel && echo sys",
                    &o, out, sizeof out, &err),
             err);
    CHECKF(strcmp(out, "CapEff:\t0000000000002000\nlink-denied\nsys\n") == 0, "got:\n%s", out);
    /* Turning seccomp off drops the extra rule too. */
    CHECK_OK(containment_sandbox_seccomp(sb, false, &err), err);
    CHECK_OK(run_sh(sb, "ln -s x /tmp/l && echo link-ok", &o, out, sizeof out, &err), err);
    CHECK(strcmp(out, "link-ok\n") == 0);
    CHECK_OK(containment_sandbox_seccomp(sb, true, &err), err);
    CHECK_OK(containment_sandbox_seccomp_allow_ptrace(sb, true, &err), err);
    CHECK_OK(containment_sandbox_seccomp_allow_user_namespaces(sb, true, &err), err);
    CHECK_OK(run_sh(sb, "exit 0", &o, NULL, 0, &err), err);
    CHECK(o.exit_code == 0);
    containment_sandbox_free(sb);

    /* Networks: only lo by default, the host's with net_host. */
    sb = containment_sandbox_new();
    CHECK_OK(run_sh(sb, "grep -c : /proc/net/dev", &o, out, sizeof out, &err), err);
    CHECKF(strcmp(out, "1\n") == 0, "none: %s", out);
    CHECK_OK(containment_sandbox_net_host(sb, &err), err);
    CHECK_OK(run_sh(sb, "grep -c : /proc/net/dev", &o, out, sizeof out, &err), err);
    snprintf(want, sizeof want, "%d\n", host_interfaces());
    CHECKF(strcmp(out, want) == 0, "host: %s, want %s", out, want);
    CHECK_OK(containment_sandbox_net_none(sb, &err), err);
    CHECK_OK(run_sh(sb, "grep -c : /proc/net/dev", &o, out, sizeof out, &err), err);
    CHECK(strcmp(out, "1\n") == 0);
    containment_sandbox_free(sb);
}

/* User namespaces other than the caller's own ids, bridges, gc (need root). */
static void test_user_namespaces_and_bridge(void) {
    containment_error *err = NULL;
    containment_outcome o;
    char out[4096], want[256];
    containment_sandbox *sb = NULL;
    /* User namespaces: what the program's uid map says. */
    const char *show_map = "awk '{print $1, $2, $3}' /proc/self/uid_map";
    sb = containment_sandbox_new();
    CHECK_OK(containment_sandbox_user_namespace(sb, CONTAINMENT_USERNS_OFF, &err), err);
    CHECK_OK(run_sh(sb, show_map, &o, out, sizeof out, &err), err);
    CHECKF(strcmp(out, "0 0 4294967295\n") == 0, "off: %s", out);
    CHECK_OK(containment_sandbox_user_namespace(sb, CONTAINMENT_USERNS_OWN, &err), err);
    CHECK_OK(run_sh(sb, show_map, &o, out, sizeof out, &err), err);
    snprintf(want, sizeof want, "0 %u 1\n", (unsigned)geteuid());
    CHECKF(strcmp(out, want) == 0, "own: %s", out);
    CHECK_OK(containment_sandbox_user_namespace_range(sb, 1000, &err), err);
    CHECK_OK(run_sh(sb, show_map, &o, out, sizeof out, &err), err);
    CHECKF(strncmp(out, "0 ", 2) == 0 && strstr(out, " 1000\n") != NULL, "range: %s", out);
    containment_idmap uid[] = {{0, 3000000, 10}}, gid[] = {{0, 3000000, 10}};
    CHECK_OK(containment_sandbox_user_namespace_maps(sb, uid, 1, gid, 1, &err), err);
    CHECK_OK(run_sh(sb, show_map, &o, out, sizeof out, &err), err);
    CHECKF(strcmp(out, "0 3000000 10\n") == 0, "maps: %s", out);
    CHECK_OK(containment_sandbox_user_namespace(sb, CONTAINMENT_USERNS_AUTO, &err), err);
    CHECK_OK(containment_sandbox_idmap_binds(sb, false, &err), err);
    CHECK_OK(containment_sandbox_bind_ro(sb, "/etc", "/host-etc", &err), err);
    CHECK_OK(run_sh(sb, "test -d /host-etc && echo bound", &o, out, sizeof out, &err), err);
    CHECK(strcmp(out, "bound\n") == 0);
    containment_sandbox_free(sb);

    sb = containment_sandbox_new();
    /* A bridge that does not exist: a clear error naming it, nothing created. */
    CHECK_OK(containment_sandbox_net_bridge(sb, "ctmtestnobr0", "10.77.0.17/24", &err), err);
    containment_child *child = NULL;
    const char *t[] = {"/bin/true", NULL};
    containment_status st = containment_sandbox_spawn(sb, t, &child, &err);
    CHECKF(st != CONTAINMENT_OK && h_contains(containment_error_message(err), "ctmtestnobr0"), "status %d: %s",
           (int)st, containment_error_message(err));
    containment_error_free(err);
    err = NULL;
    CHECK(child == NULL && access("/sys/class/net/ctmtestnobr0", F_OK) != 0);
    containment_sandbox_free(sb);

    size_t removed = 12345;
    const char *no_parents[] = {NULL};
    CHECK_OK(containment_cgroup_gc(no_parents, &removed, &err), err);
    CHECK(removed != 12345);
}

/* The network namespaces of `sandboxes` one after the other on the bridge
 * ctbr-c (made by kept_network_body in a namespace of its own), `readlink`'s words. */
struct kept_run {
    char first[64], second[64], fresh[64];
    size_t released;
    int failed;
};

static void netns_of(containment_sandbox *sb, char *out, size_t size, struct kept_run *r) {
    containment_error *err = NULL;
    containment_outcome o;
    if (run_sh(sb, "readlink /proc/self/ns/net", &o, out, size, &err) != CONTAINMENT_OK || o.exit_code != 0) {
        fprintf(stderr, "     readlink in a sandbox: %s\n", err ? containment_error_message(err) : "exit");
        containment_error_free(err);
        r->failed = 1;
    }
}

/* The first two sandboxes of `r` shared the kept namespace, the third (without
 * reuse) had a new one, and the release dropped that one kept. */
static void check_kept_run(const struct kept_run *r) {
    CHECKF(!r->failed, "the sandboxes: see above");
    CHECKF(strncmp(r->first, "net:[", 5) == 0 && strcmp(r->first, r->second) == 0, "kept: %s then %s", r->first,
           r->second);
    CHECKF(strcmp(r->fresh, r->first) != 0, "without reuse, a new one: %s", r->fresh);
    CHECKF(r->released == 1, "released %zu", r->released);
}

/* In a thread moved into a network namespace of its own (so the host's network is
 * never touched): a bridge, then sandboxes with and without a kept namespace. */
static void *kept_network_body(void *arg) {
    struct kept_run *r = arg;
    containment_error *err = NULL;
    const char *ip = access("/usr/sbin/ip", X_OK) == 0 ? "/usr/sbin/ip" : "/sbin/ip";
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "%s link add ctbr-c type bridge && %s addr add 10.77.11.1/24 dev ctbr-c && %s link set ctbr-c up", ip,
             ip, ip);
    if (unshare(CLONE_NEWNET) != 0 || system(cmd) != 0) {
        r->failed = 1;
        return NULL;
    }
    containment_sandbox *sb = containment_sandbox_new();
    CHECK_OK(containment_sandbox_net_bridge(sb, "ctbr-c", "10.77.11.2/24", &err), err);
    CHECK_OK(containment_sandbox_net_reuse(sb, true, &err), err);
    netns_of(sb, r->first, sizeof r->first, r);
    CHECK_OK(containment_sandbox_net_bridge(sb, "ctbr-c", "10.77.11.3/24", &err), err);
    CHECK_OK(containment_sandbox_net_reuse(sb, true, &err), err);
    netns_of(sb, r->second, sizeof r->second, r);
    CHECK_OK(containment_sandbox_net_reuse(sb, false, &err), err);
    netns_of(sb, r->fresh, sizeof r->fresh, r);
    containment_sandbox_free(sb);
    r->released = containment_release_kept_namespaces();
    return NULL;
}

/* containment_sandbox_net_reuse: the next sandbox runs in the namespace kept. */
static void test_kept_network_namespace(void) {
    if (access("/usr/sbin/ip", X_OK) != 0 && access("/sbin/ip", X_OK) != 0) {
        h_skip("kept network namespaces", "needs ip (Debian package iproute2)");
        return;
    }
    struct kept_run r = {{0}, {0}, {0}, 12345, 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, kept_network_body, &r) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    check_kept_run(&r);
}

/* containment_sandbox_net_reuse with only lo: the next sandbox runs in the namespace
 * kept; containment_sandbox_net_none() sets a new one per sandbox again. */
static void test_kept_loopback_namespace(void) {
    struct kept_run r = {{0}, {0}, {0}, 12345, 0};
    containment_error *err = NULL;
    containment_sandbox *sb = containment_sandbox_new();
    CHECK_OK(containment_sandbox_net_reuse(sb, true, &err), err);
    netns_of(sb, r.first, sizeof r.first, &r);
    netns_of(sb, r.second, sizeof r.second, &r);
    CHECK_OK(containment_sandbox_net_none(sb, &err), err);
    netns_of(sb, r.fresh, sizeof r.fresh, &r);
    containment_sandbox_free(sb);
    r.released = containment_release_kept_namespaces();
    check_kept_run(&r);
}

/* Without root, what needs privileges says so, and the caller's own ids work. */
static void test_needs_privilege(void) {
    containment_error *err = NULL;
    containment_outcome o;
    char out[256], want[64];
    const char *t[] = {"/bin/true", NULL};
    containment_child *child = NULL;

    containment_sandbox *sb = containment_sandbox_new();
    CHECK_OK(containment_sandbox_memory(sb, "64M", &err), err);
    CHECK_ERR(containment_sandbox_spawn(sb, t, &child, &err), err, CONTAINMENT_NEEDS_PRIVILEGE, "needs privileges");
    containment_sandbox_free(sb);
    sb = containment_sandbox_new();
    CHECK_OK(containment_sandbox_user_namespace(sb, CONTAINMENT_USERNS_OFF, &err), err);
    CHECK_ERR(containment_sandbox_spawn(sb, t, &child, &err), err, CONTAINMENT_NEEDS_PRIVILEGE, "needs privileges");
    CHECK_OK(containment_sandbox_user_namespace_range(sb, 1000, &err), err);
    CHECK_ERR(containment_sandbox_spawn(sb, t, &child, &err), err, CONTAINMENT_NEEDS_PRIVILEGE, "needs privileges");
    CHECK_OK(containment_sandbox_user_namespace(sb, CONTAINMENT_USERNS_AUTO, &err), err);
    CHECK_OK(containment_sandbox_net_bridge(sb, "ctmtestnobr0", "10.77.0.17/24", &err), err);
    CHECK_ERR(containment_sandbox_spawn(sb, t, &child, &err), err, CONTAINMENT_NEEDS_PRIVILEGE, "needs privileges");
    CHECK(child == NULL);
    CHECK_OK(containment_sandbox_net_none(sb, &err), err);
    CHECK_OK(containment_sandbox_user_namespace(sb, CONTAINMENT_USERNS_OWN, &err), err);
    CHECK_OK(run_sh(sb, "awk '{print $1, $2, $3}' /proc/self/uid_map", &o, out, sizeof out, &err), err);
    snprintf(want, sizeof want, "0 %u 1\n", (unsigned)geteuid());
    CHECKF(strcmp(out, want) == 0, "own: %s", out);
    containment_sandbox_free(sb);
}

/* A busybox root: chroot, overlay, overlay_persistent, bind. */
static void test_roots(void) {
    if (access("/bin/busybox", X_OK) != 0) {
        h_skip("roots (chroot, overlay)", "needs the static /bin/busybox (Debian package busybox-static)");
        return;
    }
    containment_error *err = NULL;
    containment_outcome o;
    char out[4096], root[256], cmdline[2048];
    snprintf(root, sizeof root, "%s/root", tmpdir);
    snprintf(cmdline, sizeof cmdline,
             "mkdir -p %s/bin && cp /bin/busybox %s/bin/ && ln -s busybox %s/bin/sh && echo template > %s/marker",
             root, root, root, root);
    CHECK(system(cmdline) == 0);

    containment_sandbox *sb = containment_sandbox_new();
    CHECK_OK(containment_sandbox_chroot(sb, root, &err), err);
    CHECK_OK(run_sh(sb, "/bin/busybox cat /marker", &o, out, sizeof out, &err), err);
    CHECK(o.exit_code == 0 && strcmp(out, "template\n") == 0);
    containment_sandbox_free(sb);

    /* An overlay: the sandbox writes to / and the template stays as it was. */
    sb = containment_sandbox_new();
    CHECK_OK(containment_sandbox_overlay(sb, root, &err), err);
    CHECK_OK(run_sh(sb, "echo changed > /marker && /bin/busybox cat /marker", &o, out, sizeof out, &err), err);
    CHECK(o.exit_code == 0 && strcmp(out, "changed\n") == 0);
    containment_sandbox_free(sb);
    char marker[512];
    snprintf(marker, sizeof marker, "%s/marker", root);
    int fd = open(marker, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0 && h_read_all(fd, out, sizeof out) > 0 && strcmp(out, "template\n") == 0);
    close(fd);

    /* A persistent overlay keeps the changes in a host directory. */
    char upper[256];
    snprintf(upper, sizeof upper, "%s/upper", tmpdir);
    CHECK(mkdir(upper, 0755) == 0);
    sb = containment_sandbox_new();
    CHECK_OK(containment_sandbox_overlay_persistent(sb, root, upper, &err), err);
    /* Without a user namespace: with the default one, the core library currently
     * fails to set up a persistent overlay (reported; the C API only passes the
     * option through). */
    CHECK_OK(containment_sandbox_user_namespace(sb, CONTAINMENT_USERNS_OFF, &err), err);
    CHECK_OK(run_sh(sb, "echo kept > /new", &o, NULL, 0, &err), err);
    CHECK(o.exit_code == 0);
    containment_sandbox_free(sb);
    snprintf(marker, sizeof marker, "%s/upper/new", upper);
    fd = open(marker, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0 && h_read_all(fd, out, sizeof out) > 0 && strcmp(out, "kept\n") == 0);
    if (fd >= 0)
        close(fd);

    /* A writable bind. */
    char data[256];
    snprintf(data, sizeof data, "%s/data", tmpdir);
    CHECK(mkdir(data, 0755) == 0);
    sb = containment_sandbox_new();
    CHECK_OK(containment_sandbox_bind(sb, data, "/out", &err), err);
    CHECK_OK(run_sh(sb, "echo written > /out/f", &o, NULL, 0, &err), err);
    containment_sandbox_free(sb);
    snprintf(marker, sizeof marker, "%s/f", data);
    fd = open(marker, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0 && h_read_all(fd, out, sizeof out) > 0 && strcmp(out, "written\n") == 0);
    if (fd >= 0)
        close(fd);
}

/* A clone is independent of its original. */
static void test_clone_independent(void) {
    containment_error *err = NULL;
    containment_outcome o;
    char out[256];
    containment_sandbox *sb = containment_sandbox_new(), *copy = NULL;
    CHECK_OK(containment_sandbox_hostname(sb, "first", &err), err);
    CHECK_OK(containment_sandbox_clone(sb, &copy, &err), err);
    CHECK_OK(containment_sandbox_hostname(sb, "second", &err), err);
    CHECK_OK(run_sh(copy, "hostname", &o, out, sizeof out, &err), err);
    CHECK(strcmp(out, "first\n") == 0);
    CHECK_OK(run_sh(sb, "hostname", &o, out, sizeof out, &err), err);
    CHECK(strcmp(out, "second\n") == 0);
    containment_sandbox_free(sb);
    containment_sandbox_free(copy);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ctmtest-c-run-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    int fds_before = h_count_fds();
    if (h_require_spawn("test_run")) {
        test_exit_codes_and_signals();
        test_wait_rules();
        test_wait_timeout_try_wait_kill();
        test_timeout_and_cpu_time();
        test_stdio();
        test_non_utf8();
        test_environment_and_cwd();
        test_spawn_errors();
        test_security();
        test_clone_independent();
        if (geteuid() != 0)
            test_needs_privilege();
        if (h_require_root("test_run: OOM, limits, identities, id ranges, bridges, roots")) {
            test_oom();
            test_options();
            test_user_namespaces_and_bridge();
            test_kept_network_namespace();
            test_kept_loopback_namespace();
            test_roots();
        }
        CHECKF(h_count_fds() == fds_before, "descriptors before %d, after %d", fds_before, h_count_fds());
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return h_summary("test_run");
}
