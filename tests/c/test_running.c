/*
 * Long-lived sandboxes through the C API: start, run programs in them, wait, stop,
 * kill, names, open from "another" handle, list, detach. Needs root; skips
 * without it. The NULL and bad-value checks need no root.
 */
#include "harness.h"

#include <signal.h>

#define NAME "ctmtest-c-running"

/* Whether process `pid` is gone, or dead and waiting for its parent (a zombie). */
static int dead(int pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    ssize_t n = h_read_all(fd, buf, sizeof buf);
    close(fd);
    const char *paren = n > 0 ? strrchr(buf, ')') : NULL;
    return paren != NULL && paren[1] == ' ' && paren[2] == 'Z';
}

/* Runs `script` in `running` to its end; its stdout goes to `out`. */
static containment_status exec_sh(containment_running *running, const char *script, containment_outcome *o,
                                  char *out, size_t out_size, containment_error **err) {
    containment_command *cmd = NULL;
    containment_status st = containment_running_command(running, "/bin/sh", &cmd, err);
    if (st != CONTAINMENT_OK)
        return st;
    const char *args[] = {"-c", script, NULL};
    containment_command_args(cmd, args, NULL);
    containment_buffer so = {NULL, 0}, se = {NULL, 0};
    st = containment_command_output(cmd, o, &so, &se, err);
    if (st == CONTAINMENT_OK) {
        snprintf(out, out_size, "%s", (const char *)so.data);
        containment_buffer_free(&so);
        containment_buffer_free(&se);
    }
    containment_command_free(cmd);
    return st;
}

static void test_nulls_and_bad_values(void) {
    containment_error *err = NULL;
    containment_sandbox *sb = containment_sandbox_new();
    containment_running *r = NULL;
    containment_command *cmd = NULL;
    containment_child *child = NULL;
    containment_outcome o;
    bool has = true;

    CHECK_ERR(containment_sandbox_name(NULL, "x", &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_name(sb, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`name`");
    CHECK_ERR(containment_sandbox_persistent(NULL, true, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_start(NULL, &r, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_start(sb, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`out`");
    CHECK_OK(containment_command_new(sb, "/bin/true", &cmd, &err), err);
    CHECK_ERR(containment_command_start(NULL, &r, &err), err, CONTAINMENT_NULL_ARGUMENT, "`command`");
    CHECK_ERR(containment_command_start(cmd, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`out`");
    CHECK_ERR(containment_running_open(NULL, &r, &err), err, CONTAINMENT_NULL_ARGUMENT, "`name`");
    CHECK_ERR(containment_running_open("x", NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`out`");
    containment_running_free(NULL);
    CHECK(containment_running_pid(NULL) == -1);
    CHECK(containment_running_name(NULL) == NULL);
    containment_command *cmd2 = NULL;
    CHECK_ERR(containment_running_command(NULL, "/bin/true", &cmd2, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`running`");
    CHECK_ERR(containment_running_exec(NULL, cmd, &child, &err), err, CONTAINMENT_NULL_ARGUMENT, "`running`");
    CHECK_ERR(containment_running_wait(NULL, &o, &err), err, CONTAINMENT_NULL_ARGUMENT, "`running`");
    CHECK_ERR(containment_running_stop(NULL, 10, &o, &has, &err), err, CONTAINMENT_NULL_ARGUMENT, "`running`");
    CHECK_ERR(containment_running_kill(NULL, &o, &has, &err), err, CONTAINMENT_NULL_ARGUMENT, "`running`");
    CHECK_ERR(containment_running_detach(NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`running`");
    containment_running_info *list = NULL;
    size_t count = 99;
    CHECK_ERR(containment_running_list(NULL, &count, &err), err, CONTAINMENT_NULL_ARGUMENT, "`out`");
    CHECK_ERR(containment_running_list(&list, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`count`");
    containment_running_list_free(NULL, 0);
    CHECK(r == NULL && cmd2 == NULL && child == NULL && has && count == 99);

    /* A sandbox handle is not a running handle. */
    CHECK(containment_running_pid((containment_running *)(void *)sb) == -1);
    CHECK_ERR(containment_running_wait((containment_running *)(void *)sb, &o, &err), err,
              CONTAINMENT_INVALID_HANDLE, "`running`");

    const char *bad_names[] = {"", "bad name", ".hidden", "-dash", "a/b", "ids", "net", "\xff",
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"};
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
        CHECK_ERR(containment_sandbox_name(sb, bad_names[i], &err), err, CONTAINMENT_INVALID_VALUE, NULL);
        CHECK_ERR(containment_running_open(bad_names[i], &r, &err), err, CONTAINMENT_INVALID_VALUE, NULL);
    }
    CHECK_OK(containment_sandbox_name(sb, "build-17", &err), err);
    CHECK_OK(containment_sandbox_persistent(sb, true, &err), err);
    CHECK_OK(containment_sandbox_persistent(sb, false, &err), err);
    containment_command_free(cmd);
    containment_sandbox_free(sb);
}

static void test_start_exec_stop(void) {
    containment_error *err = NULL;
    containment_outcome o;
    char out[512];
    containment_sandbox *sb = containment_sandbox_new();
    CHECK_OK(containment_sandbox_hostname(sb, "long-lived", &err), err);
    containment_running *r = NULL;
    CHECK_OK(containment_sandbox_start(sb, &r, &err), err);
    containment_sandbox_free(sb);
    if (r == NULL)
        return;
    CHECK(containment_running_pid(r) > 0);
    CHECK(containment_running_name(r) == NULL);
    /* Two programs share the sandbox: its hostname and its private /tmp. */
    CHECK_OK(exec_sh(r, "hostname; echo shared > /tmp/f", &o, out, sizeof out, &err), err);
    CHECK(o.exit_code == 0 && strcmp(out, "long-lived\n") == 0);
    CHECK_OK(exec_sh(r, "cat /tmp/f", &o, out, sizeof out, &err), err);
    CHECK(o.exit_code == 0 && strcmp(out, "shared\n") == 0);

    /* exec runs a command made elsewhere (its program, not its sandbox). */
    containment_sandbox *other = containment_sandbox_new();
    CHECK_OK(containment_sandbox_hostname(other, "elsewhere", &err), err);
    containment_command *cmd = NULL;
    CHECK_OK(containment_command_new(other, "/bin/sh", &cmd, &err), err);
    const char *args[] = {"-c", "test \"$(hostname)\" = long-lived && exit 6", NULL};
    CHECK_OK(containment_command_args(cmd, args, &err), err);
    containment_child *child = NULL;
    CHECK_OK(containment_running_exec(r, cmd, &child, &err), err);
    if (child != NULL) {
        CHECK_OK(containment_child_wait(child, &o, &err), err);
        CHECK(o.exit_code == 6);
        containment_child_free(child);
    }
    containment_command_free(cmd);
    containment_sandbox_free(other);

    /* Without a main program, there is nothing to report when it stops. */
    bool has = true;
    CHECK_OK(containment_running_stop(r, 1000, &o, &has, &err), err);
    int pid = containment_running_pid(r);
    CHECK(pid > 0 && kill(pid, 0) == -1 && errno == ESRCH);
    /* Stopped: everything but pid, name and free is refused. */
    CHECK_ERR(containment_running_stop(r, 10, &o, &has, &err), err, CONTAINMENT_INVALID_CONFIG, "stopped");
    CHECK_ERR(containment_running_kill(r, &o, &has, &err), err, CONTAINMENT_INVALID_CONFIG, "stopped");
    CHECK_ERR(containment_running_wait(r, &o, &err), err, CONTAINMENT_INVALID_CONFIG, "stopped");
    CHECK_ERR(containment_running_command(r, "/bin/true", &cmd, &err), err, CONTAINMENT_INVALID_CONFIG, "stopped");
    CHECK_ERR(containment_running_detach(r, &err), err, CONTAINMENT_INVALID_CONFIG, "stopped");
    containment_running_free(r);
    containment_running_free(r); /* double free: ignored */
}

static void test_main_program(void) {
    containment_error *err = NULL;
    containment_outcome o;
    containment_sandbox *sb = containment_sandbox_new();
    containment_command *cmd = NULL;
    const char *argv[] = {"/bin/sh", "-c", "sleep 0.3; exit 7", NULL};
    CHECK_OK(containment_command_new_argv(sb, argv, &cmd, &err), err);
    containment_running *r = NULL;
    CHECK_OK(containment_command_start(cmd, &r, &err), err);
    if (r != NULL) {
        CHECK_OK(containment_running_wait(r, &o, &err), err);
        CHECK(o.exit_code == 7);
        CHECK_ERR(containment_running_wait(r, &o, &err), err, CONTAINMENT_ALREADY_WAITED, NULL);
        containment_running_free(r);
    }

    /* kill gives the main program's outcome. */
    const char *sleeper[] = {"/bin/sleep", "60", NULL};
    containment_command_free(cmd);
    CHECK_OK(containment_command_new_argv(sb, sleeper, &cmd, &err), err);
    r = NULL;
    CHECK_OK(containment_command_start(cmd, &r, &err), err);
    if (r != NULL) {
        bool has = false;
        CHECK_OK(containment_running_kill(r, &o, &has, &err), err);
        CHECK(has && o.signal == SIGKILL);
        containment_running_free(r);
    }

    /* Freeing the handle of a sandbox this process started stops it. */
    r = NULL;
    CHECK_OK(containment_command_start(cmd, &r, &err), err);
    int pid = containment_running_pid(r);
    CHECK_ERR(containment_running_detach(r, &err), err, CONTAINMENT_INVALID_CONFIG, "persistent");
    CHECK(pid > 0 && kill(pid, 0) == 0); /* a refused detach leaves it running */
    containment_running_free(r);
    CHECK(kill(pid, 0) == -1 && errno == ESRCH);
    containment_command_free(cmd);
    containment_sandbox_free(sb);
}

static void test_named(void) {
    containment_error *err = NULL;
    containment_outcome o;
    char out[512];
    containment_sandbox *sb = containment_sandbox_new();
    CHECK_OK(containment_sandbox_name(sb, NAME, &err), err);
    CHECK_OK(containment_sandbox_persistent(sb, true, &err), err);
    containment_running *r = NULL;
    CHECK_OK(containment_sandbox_start(sb, &r, &err), err);
    if (r == NULL) {
        containment_sandbox_free(sb);
        return;
    }
    CHECK(containment_running_name(r) != NULL && strcmp(containment_running_name(r), NAME) == 0);
    /* The name is taken. */
    containment_running *again = NULL;
    CHECK_ERR(containment_sandbox_start(sb, &again, &err), err, CONTAINMENT_INVALID_CONFIG, NAME);
    CHECK(again == NULL);

    /* list shows it. */
    containment_running_info *list = NULL;
    size_t count = 0;
    CHECK_OK(containment_running_list(&list, &count, &err), err);
    int found = 0;
    for (size_t i = 0; i < count; i++)
        if (strcmp(list[i].name, NAME) == 0 && list[i].pid == containment_running_pid(r) && list[i].limits != NULL)
            found = 1;
    CHECK(found);
    containment_running_list_free(list, count);

    /* Open it by name, as another process would, while this handle holds it. */
    int pid = containment_running_pid(r);
    containment_running *opened = NULL;
    CHECK_OK(containment_running_open(NAME, &opened, &err), err);
    if (opened != NULL) {
        CHECK(containment_running_pid(opened) == pid);
        CHECK(strcmp(containment_running_name(opened), NAME) == 0);
        CHECK_OK(exec_sh(opened, "echo inside", &o, out, sizeof out, &err), err);
        CHECK(strcmp(out, "inside\n") == 0);
        /* Only the process that started it collects its outcome. */
        CHECK_ERR(containment_running_wait(opened, &o, &err), err, CONTAINMENT_UNSUPPORTED, NULL);
        /* Its persistence is not known here: detach is left to the Rust library. */
        containment_running_free(opened); /* an opened sandbox keeps running */
    }
    CHECK(kill(pid, 0) == 0);
    bool has = true;
    CHECK_OK(containment_running_stop(r, 500, &o, &has, &err), err);
    containment_running_free(r);
    CHECK(kill(pid, 0) == -1 && errno == ESRCH);
    CHECK_ERR(containment_running_open(NAME, &opened, &err), err, CONTAINMENT_INVALID_CONFIG, "no sandbox named");
    CHECK(access("/run/containment/" NAME, F_OK) != 0);

    /* A persistent sandbox outlives its detached handle. (Opening it again from
     * this process is not tested: the core library currently releases the name's
     * lock when the handle goes, so open() takes the sandbox for stale; reported.)
     * Clean up by killing its init, then let open() collect the stale state. */
    r = NULL;
    CHECK_OK(containment_sandbox_start(sb, &r, &err), err);
    if (r != NULL) {
        pid = containment_running_pid(r);
        CHECK_OK(containment_running_detach(r, &err), err);
        containment_running_free(r);
        CHECK(kill(pid, 0) == 0);
        CHECK(kill(pid, SIGKILL) == 0);
        for (int i = 0; i < 500 && !dead(pid); i++)
            usleep(10000);
        CHECK(dead(pid));
        CHECK_ERR(containment_running_open(NAME, &opened, &err), err, CONTAINMENT_INVALID_CONFIG,
                  "no sandbox named");
        rmdir("/run/containment/" NAME); /* what open() leaves of stale state */
        size_t removed = 0;
        const char *no_parents[] = {NULL};
        CHECK_OK(containment_cgroup_gc(no_parents, &removed, &err), err);
    }
    containment_sandbox_free(sb);
}

int main(void) {
    test_nulls_and_bad_values();
    if (h_require_spawn("test_running (long-lived sandboxes)")) {
        test_start_exec_stop();
        test_main_program();
        if (h_require_root("test_running: named sandboxes (state under /run/containment)"))
            test_named();
    }
    return h_summary("test_running");
}
