/*
 * The C API without spawning: versions, statuses, every NULL argument, freed and
 * foreign handles, bad strings and values, the error object. Needs no root.
 */
#include "harness.h"
/* The header is safe to include twice. */
#include <containment.h>
#include <containment.h>

#include <stdint.h>

static void test_version(void) {
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", CONTAINMENT_VERSION_MAJOR, CONTAINMENT_VERSION_MINOR,
             CONTAINMENT_VERSION_PATCH);
    CHECK(strcmp(CONTAINMENT_VERSION, want) == 0);
    CHECK(containment_version() != NULL);
    CHECK(strcmp(containment_version(), CONTAINMENT_VERSION) == 0);
    /* No sandbox has kept a network namespace yet. */
    CHECK(containment_release_kept_namespaces() == 0);
    CHECK(CONTAINMENT_MAX_KEPT_NAMESPACES == 16);
}

static void test_status_str(void) {
    for (int s = CONTAINMENT_OK; s <= CONTAINMENT_OTHER_ERROR; s++) {
        const char *str = containment_status_str(s);
        CHECKF(str != NULL && strcmp(str, "unknown status") != 0, "status %d", s);
    }
    CHECK(strcmp(containment_status_str(CONTAINMENT_OK), "success") == 0);
    CHECK(strcmp(containment_status_str(CONTAINMENT_INVALID_VALUE), "invalid value") == 0);
    CHECK(strcmp(containment_status_str(-1), "unknown status") == 0);
    CHECK(strcmp(containment_status_str(999), "unknown status") == 0);
}

static void test_error_accessors_with_null(void) {
    CHECK(containment_error_status(NULL) == CONTAINMENT_NULL_ARGUMENT);
    CHECK(containment_error_message(NULL) == NULL);
    CHECK(containment_error_errno(NULL) == 0);
    CHECK(containment_error_stage(NULL) == NULL);
    CHECK(containment_error_path(NULL) == NULL);
    containment_error_free(NULL);
    containment_sandbox_free(NULL);
    containment_command_free(NULL);
    containment_child_free(NULL);
    containment_buffer_free(NULL);
    containment_buffer empty = {NULL, 0};
    containment_buffer_free(&empty);
    CHECK(empty.data == NULL && empty.len == 0);
}

/* Every sandbox function with a NULL sandbox, and with each NULL pointer argument. */
static void test_sandbox_nulls(void) {
    containment_error *err = NULL;
    containment_sandbox *sb = containment_sandbox_new();
    CHECK(sb != NULL);
    containment_sandbox *copy = NULL;

    CHECK_ERR(containment_sandbox_clone(NULL, &copy, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_clone(sb, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`out`");
    CHECK(copy == NULL);

    CHECK_ERR(containment_sandbox_chroot(NULL, "/", &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_chroot(sb, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`dir`");
    CHECK_ERR(containment_sandbox_overlay(NULL, "/", &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_overlay(sb, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`template`");
    CHECK_ERR(containment_sandbox_overlay_persistent(NULL, "/", "/tmp", &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`sandbox`");
    CHECK_ERR(containment_sandbox_overlay_persistent(sb, NULL, "/tmp", &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`template`");
    CHECK_ERR(containment_sandbox_overlay_persistent(sb, "/", NULL, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`dir`");
    CHECK_ERR(containment_sandbox_readonly_root(NULL, true, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_bind(NULL, "/a", "/b", &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_bind(sb, NULL, "/b", &err), err, CONTAINMENT_NULL_ARGUMENT, "`src`");
    CHECK_ERR(containment_sandbox_bind(sb, "/a", NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`dst`");
    CHECK_ERR(containment_sandbox_bind_ro(NULL, "/a", "/b", &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_bind_ro(sb, NULL, "/b", &err), err, CONTAINMENT_NULL_ARGUMENT, "`src`");
    CHECK_ERR(containment_sandbox_bind_ro(sb, "/a", NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`dst`");
    CHECK_ERR(containment_sandbox_tmpfs(NULL, "/t", "1M", &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_tmpfs(sb, NULL, "1M", &err), err, CONTAINMENT_NULL_ARGUMENT, "`dst`");
    CHECK_ERR(containment_sandbox_tmpfs(sb, "/t", NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`size`");
    CHECK_ERR(containment_sandbox_tmpfs_bytes(NULL, "/t", 1, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_tmpfs_bytes(sb, NULL, 1, &err), err, CONTAINMENT_NULL_ARGUMENT, "`dst`");
    CHECK_ERR(containment_sandbox_tmpfs_unlimited(NULL, "/t", &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`sandbox`");
    CHECK_ERR(containment_sandbox_tmpfs_unlimited(sb, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`dst`");
    CHECK_ERR(containment_sandbox_private_tmp(NULL, false, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_hostname(NULL, "h", &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_hostname(sb, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`name`");
    CHECK_ERR(containment_sandbox_user(NULL, 1, 1, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    uint32_t groups[] = {1, 2};
    CHECK_ERR(containment_sandbox_groups(NULL, groups, 2, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_groups(sb, NULL, 2, &err), err, CONTAINMENT_NULL_ARGUMENT, "`groups`");
    CHECK_ERR(containment_sandbox_memory(NULL, "1M", &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_memory(sb, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`limit`");
    CHECK_ERR(containment_sandbox_memory_bytes(NULL, 1, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_cpus(NULL, "0", &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_cpus(sb, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`cpus`");
    int cpus[] = {0};
    CHECK_ERR(containment_sandbox_cpus_array(NULL, cpus, 1, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_cpus_array(sb, NULL, 1, &err), err, CONTAINMENT_NULL_ARGUMENT, "`cpus`");
    CHECK_ERR(containment_sandbox_pids(NULL, 1, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_cpu_quota(NULL, 1.0, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_cpu_weight(NULL, 100, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_cgroup_parent(NULL, "x", &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_cgroup_parent(sb, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`path`");
    CHECK_ERR(containment_sandbox_rlimit(NULL, CONTAINMENT_RLIMIT_NOFILE, 1, &err), err,
              CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_rlimit_soft_hard(NULL, CONTAINMENT_RLIMIT_NOFILE, 1, 2, &err), err,
              CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_rlimit_spec(NULL, "nofile=1", &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`sandbox`");
    CHECK_ERR(containment_sandbox_rlimit_spec(sb, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`spec`");
    CHECK_ERR(containment_sandbox_timeout_ms(NULL, 1, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");

    CHECK_ERR(containment_sandbox_net_none(NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_net_host(NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_net_bridge(NULL, "br0", "10.77.0.17/24", &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`sandbox`");
    CHECK_ERR(containment_sandbox_net_bridge(sb, NULL, "10.77.0.17/24", &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`bridge`");
    CHECK_ERR(containment_sandbox_net_bridge(sb, "br0", NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`address`");
    CHECK_ERR(containment_sandbox_net_gateway(NULL, "10.77.0.1", &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`sandbox`");
    CHECK_ERR(containment_sandbox_net_gateway(sb, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`gateway`");
    CHECK_ERR(containment_sandbox_net_mtu(NULL, 1400, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 1};
    CHECK_ERR(containment_sandbox_net_mac(NULL, mac, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_net_mac(sb, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`mac`");
    CHECK_ERR(containment_sandbox_net_create_bridge(NULL, "10.77.0.1/24", &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`sandbox`");
    CHECK_ERR(containment_sandbox_net_create_bridge(sb, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`address`");
    const char *caps[] = {"CAP_NET_RAW", NULL};
    CHECK_ERR(containment_sandbox_capabilities(NULL, caps, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_capabilities(sb, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`names`");
    CHECK_ERR(containment_sandbox_seccomp(NULL, true, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_seccomp_allow_ptrace(NULL, true, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`sandbox`");
    CHECK_ERR(containment_sandbox_seccomp_allow_user_namespaces(NULL, true, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`sandbox`");
    CHECK_ERR(containment_sandbox_seccomp_deny(NULL, "mount", &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_seccomp_deny(sb, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`syscall`");
    CHECK_ERR(containment_sandbox_sysfs(NULL, true, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_user_namespace(NULL, CONTAINMENT_USERNS_OWN, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`sandbox`");
    CHECK_ERR(containment_sandbox_user_namespace_range(NULL, 1000, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`sandbox`");
    containment_idmap map = {0, 1000, 1};
    CHECK_ERR(containment_sandbox_user_namespace_maps(NULL, &map, 1, &map, 1, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`sandbox`");
    CHECK_ERR(containment_sandbox_user_namespace_maps(sb, NULL, 1, &map, 1, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`uid`");
    CHECK_ERR(containment_sandbox_user_namespace_maps(sb, &map, 1, NULL, 1, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`gid`");
    CHECK_ERR(containment_sandbox_idmap_binds(NULL, false, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    size_t removed = 12345;
    const char *no_parents[] = {NULL};
    CHECK_ERR(containment_cgroup_gc(NULL, &removed, &err), err, CONTAINMENT_NULL_ARGUMENT, "`parents`");
    CHECK_ERR(containment_cgroup_gc(no_parents, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`removed`");
    CHECK(removed == 12345);

    containment_child *child = NULL;
    const char *argv[] = {"/bin/true", NULL};
    CHECK_ERR(containment_sandbox_spawn(NULL, argv, &child, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_sandbox_spawn(sb, NULL, &child, &err), err, CONTAINMENT_NULL_ARGUMENT, "`argv`");
    CHECK_ERR(containment_sandbox_spawn(sb, argv, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`out`");
    CHECK(child == NULL);

    /* A NULL error out-parameter is fine: only the status tells. */
    CHECK_ST(containment_sandbox_chroot(NULL, "/", NULL), CONTAINMENT_NULL_ARGUMENT);
    CHECK_ST(containment_sandbox_memory(sb, "1XB", NULL), CONTAINMENT_INVALID_VALUE);
    containment_sandbox_free(sb);
}

static void test_command_nulls(void) {
    containment_error *err = NULL;
    containment_sandbox *sb = containment_sandbox_new();
    containment_command *cmd = NULL;
    const char *argv[] = {"/bin/echo", "x", NULL};

    CHECK_ERR(containment_command_new(NULL, "/bin/true", &cmd, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_command_new(sb, NULL, &cmd, &err), err, CONTAINMENT_NULL_ARGUMENT, "`program`");
    CHECK_ERR(containment_command_new(sb, "/bin/true", NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`out`");
    CHECK_ERR(containment_command_new_argv(NULL, argv, &cmd, &err), err, CONTAINMENT_NULL_ARGUMENT, "`sandbox`");
    CHECK_ERR(containment_command_new_argv(sb, NULL, &cmd, &err), err, CONTAINMENT_NULL_ARGUMENT, "`argv`");
    CHECK_ERR(containment_command_new_argv(sb, argv, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`out`");
    CHECK_ERR(containment_command_new_from_host(NULL, "/bin/true", &cmd, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`sandbox`");
    CHECK_ERR(containment_command_new_from_host(sb, NULL, &cmd, &err), err, CONTAINMENT_NULL_ARGUMENT, "`path`");
    CHECK_ERR(containment_command_new_from_host(sb, "/bin/true", NULL, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`out`");
    CHECK(cmd == NULL);

    const char *empty[] = {NULL};
    CHECK_ERR(containment_command_new_argv(sb, empty, &cmd, &err), err, CONTAINMENT_INVALID_CONFIG, "argv is empty");
    containment_child *child = NULL;
    CHECK_ERR(containment_sandbox_spawn(sb, empty, &child, &err), err, CONTAINMENT_INVALID_CONFIG, "argv is empty");
    CHECK(cmd == NULL && child == NULL);

    CHECK_OK(containment_command_new(sb, "/bin/true", &cmd, &err), err);
    CHECK(cmd != NULL);

    CHECK_ERR(containment_command_arg(NULL, "a", &err), err, CONTAINMENT_NULL_ARGUMENT, "`command`");
    CHECK_ERR(containment_command_arg(cmd, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`arg`");
    CHECK_ERR(containment_command_args(NULL, argv, &err), err, CONTAINMENT_NULL_ARGUMENT, "`command`");
    CHECK_ERR(containment_command_args(cmd, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`args`");
    CHECK_ERR(containment_command_arg0(NULL, "a", &err), err, CONTAINMENT_NULL_ARGUMENT, "`command`");
    CHECK_ERR(containment_command_arg0(cmd, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`arg0`");
    CHECK_ERR(containment_command_env(NULL, "K", "V", &err), err, CONTAINMENT_NULL_ARGUMENT, "`command`");
    CHECK_ERR(containment_command_env(cmd, NULL, "V", &err), err, CONTAINMENT_NULL_ARGUMENT, "`key`");
    CHECK_ERR(containment_command_env(cmd, "K", NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`value`");
    CHECK_ERR(containment_command_env_remove(NULL, "K", &err), err, CONTAINMENT_NULL_ARGUMENT, "`command`");
    CHECK_ERR(containment_command_env_remove(cmd, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`key`");
    CHECK_ERR(containment_command_env_clear(NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`command`");
    CHECK_ERR(containment_command_inherit_env(NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`command`");
    CHECK_ERR(containment_command_current_dir(NULL, "/", &err), err, CONTAINMENT_NULL_ARGUMENT, "`command`");
    CHECK_ERR(containment_command_current_dir(cmd, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`dir`");
    CHECK_ERR(containment_command_stdin(NULL, CONTAINMENT_STDIO_NULL, -1, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`command`");
    CHECK_ERR(containment_command_stdout(NULL, CONTAINMENT_STDIO_NULL, -1, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`command`");
    CHECK_ERR(containment_command_stderr(NULL, CONTAINMENT_STDIO_NULL, -1, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`command`");
    CHECK_ERR(containment_command_spawn(NULL, &child, &err), err, CONTAINMENT_NULL_ARGUMENT, "`command`");
    CHECK_ERR(containment_command_spawn(cmd, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`out`");
    containment_outcome o;
    containment_buffer out = {NULL, 0}, errb = {NULL, 0};
    CHECK_ERR(containment_command_status(NULL, &o, &err), err, CONTAINMENT_NULL_ARGUMENT, "`command`");
    CHECK_ERR(containment_command_status(cmd, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`outcome`");
    CHECK_ERR(containment_command_output(NULL, &o, &out, &errb, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`command`");
    CHECK_ERR(containment_command_output(cmd, NULL, &out, &errb, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`outcome`");
    CHECK_ERR(containment_command_output(cmd, &o, NULL, &errb, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`stdout_buf`");
    CHECK_ERR(containment_command_output(cmd, &o, &out, NULL, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`stderr_buf`");
    CHECK(child == NULL && out.data == NULL && errb.data == NULL);

    /* Every setter works on a live command. */
    const char *more[] = {"b", "c", NULL};
    const char *none[] = {NULL};
    CHECK_OK(containment_command_arg(cmd, "a", &err), err);
    CHECK_OK(containment_command_args(cmd, more, &err), err);
    CHECK_OK(containment_command_args(cmd, none, &err), err);
    CHECK_OK(containment_command_arg0(cmd, "zero", &err), err);
    CHECK_OK(containment_command_env(cmd, "K", "V", &err), err);
    CHECK_OK(containment_command_env_remove(cmd, "K", &err), err);
    CHECK_OK(containment_command_env_clear(cmd, &err), err);
    CHECK_OK(containment_command_inherit_env(cmd, &err), err);
    CHECK_OK(containment_command_current_dir(cmd, "/tmp", &err), err);
    CHECK_OK(containment_command_stdin(cmd, CONTAINMENT_STDIO_NULL, -1, &err), err);
    CHECK_OK(containment_command_stdout(cmd, CONTAINMENT_STDIO_PIPED, -1, &err), err);
    CHECK_OK(containment_command_stderr(cmd, CONTAINMENT_STDIO_INHERIT, -1, &err), err);
    CHECK_OK(containment_command_stdout(cmd, CONTAINMENT_STDIO_FD, 1, &err), err);
    containment_command_free(cmd);
    containment_sandbox_free(sb);
}

static void test_child_nulls(void) {
    containment_error *err = NULL;
    containment_outcome o;
    bool finished = true;
    CHECK(containment_child_pid(NULL) == -1);
    CHECK(containment_child_pidfd(NULL) == -1);
    CHECK(containment_child_stdin_fd(NULL) == -1);
    CHECK(containment_child_stdout_fd(NULL) == -1);
    CHECK(containment_child_stderr_fd(NULL) == -1);
    CHECK_ERR(containment_child_close_stdin(NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`child`");
    CHECK_ERR(containment_child_signal(NULL, 15, &err), err, CONTAINMENT_NULL_ARGUMENT, "`child`");
    CHECK_ERR(containment_child_kill(NULL, &err), err, CONTAINMENT_NULL_ARGUMENT, "`child`");
    CHECK_ERR(containment_child_wait(NULL, &o, &err), err, CONTAINMENT_NULL_ARGUMENT, "`child`");
    CHECK_ERR(containment_child_wait_timeout(NULL, 1, &o, &finished, &err), err, CONTAINMENT_NULL_ARGUMENT,
              "`child`");
    CHECK_ERR(containment_child_try_wait(NULL, &o, &finished, &err), err, CONTAINMENT_NULL_ARGUMENT, "`child`");
    CHECK(finished == true);
}

/* Freed handles, double frees, and pointers that are not handles of that type. */
static void test_dead_and_foreign_handles(void) {
    containment_error *err = NULL;
    containment_sandbox *sb = containment_sandbox_new();
    containment_command *cmd = NULL;
    CHECK_OK(containment_command_new(sb, "/bin/true", &cmd, &err), err);

    /* A command is not a sandbox, nor the other way round. */
    CHECK_ERR(containment_sandbox_hostname((containment_sandbox *)(void *)cmd, "x", &err), err,
              CONTAINMENT_INVALID_HANDLE, "not a live handle");
    CHECK_ERR(containment_command_arg((containment_command *)(void *)sb, "x", &err), err,
              CONTAINMENT_INVALID_HANDLE, "not a live handle");
    /* Nor is a pointer to some memory of ours. */
    char junk[256] = {0};
    CHECK_ERR(containment_sandbox_pids((containment_sandbox *)(void *)junk, 1, &err), err,
              CONTAINMENT_INVALID_HANDLE, "`sandbox`");
    CHECK(containment_child_pid((containment_child *)(void *)junk) == -1);
    containment_sandbox_free((containment_sandbox *)(void *)junk); /* ignored */
    containment_child_free((containment_child *)(void *)sb);      /* ignored: wrong type */

    /* A command outlives the sandbox it was made from. */
    containment_sandbox_free(sb);
    CHECK_ERR(containment_sandbox_pids(sb, 1, &err), err, CONTAINMENT_INVALID_HANDLE, "`sandbox`");
    containment_command *cmd2 = NULL;
    CHECK_ERR(containment_command_new(sb, "/bin/true", &cmd2, &err), err, CONTAINMENT_INVALID_HANDLE, "`sandbox`");
    containment_sandbox *copy = NULL;
    CHECK_ERR(containment_sandbox_clone(sb, &copy, &err), err, CONTAINMENT_INVALID_HANDLE, "`sandbox`");
    CHECK(copy == NULL && cmd2 == NULL);
    containment_sandbox_free(sb); /* double free: ignored */
    CHECK_OK(containment_command_arg(cmd, "still alive", &err), err);

    containment_command_free(cmd);
    CHECK_ERR(containment_command_arg(cmd, "x", &err), err, CONTAINMENT_INVALID_HANDLE, "`command`");
    containment_child *child = NULL;
    CHECK_ERR(containment_command_spawn(cmd, &child, &err), err, CONTAINMENT_INVALID_HANDLE, "`command`");
    containment_command_free(cmd); /* double free: ignored */

    /* A freed error object answers like NULL. */
    containment_sandbox *s2 = containment_sandbox_new();
    CHECK_ST(containment_sandbox_memory(s2, "1XB", &err), CONTAINMENT_INVALID_VALUE);
    containment_error *dead = err;
    containment_error_free(err);
    err = NULL;
    CHECK(containment_error_status(dead) == CONTAINMENT_INVALID_HANDLE);
    CHECK(containment_error_message(dead) == NULL);
    CHECK(containment_error_errno(dead) == 0);
    CHECK(containment_error_stage(dead) == NULL);
    CHECK(containment_error_path(dead) == NULL);
    containment_error_free(dead); /* double free: ignored */
    containment_sandbox_free(s2);
}

/* Bad sizes, CPU lists and other values give CONTAINMENT_INVALID_VALUE, naming them. */
static void test_bad_values(void) {
    containment_error *err = NULL;
    containment_sandbox *sb = containment_sandbox_new();

    const char *bad_sizes[] = {"1XB", "-5M", "", "5.5.5M", "0x10M", "\xef\xbc\x95M" /* full-width 5 */, "0",
                               "99999999999999999999M", "12 M", "\xff\xfe"};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof *bad_sizes; i++) {
        CHECK_ERR(containment_sandbox_memory(sb, bad_sizes[i], &err), err, CONTAINMENT_INVALID_VALUE,
                  "invalid size");
        CHECK_ERR(containment_sandbox_tmpfs(sb, "/t", bad_sizes[i], &err), err, CONTAINMENT_INVALID_VALUE,
                  "invalid size");
    }
    /* The message names the value and what is accepted. */
    CHECK_ST(containment_sandbox_memory(sb, "1XB", &err), CONTAINMENT_INVALID_VALUE);
    CHECK(err != NULL && strstr(containment_error_message(err), "\"1XB\"") != NULL);
    CHECK(err != NULL && strstr(containment_error_message(err), "expected") != NULL);
    CHECK(containment_error_errno(err) == 0);
    CHECK(containment_error_stage(err) == NULL);
    CHECK(containment_error_path(err) == NULL);
    containment_error_free(err);
    err = NULL;

    CHECK_ERR(containment_sandbox_memory_bytes(sb, 0, &err), err, CONTAINMENT_INVALID_VALUE, "greater than zero");
    CHECK_ERR(containment_sandbox_tmpfs_bytes(sb, "/t", 0, &err), err, CONTAINMENT_INVALID_VALUE,
              "greater than zero");

    const char *bad_cpus[] = {"3-1", "-", "1-", "-3", "a", "65537", "", "1,,2", " 1"};
    for (size_t i = 0; i < sizeof bad_cpus / sizeof *bad_cpus; i++)
        CHECK_ERR(containment_sandbox_cpus(sb, bad_cpus[i], &err), err, CONTAINMENT_INVALID_VALUE, "CPU list");
    CHECK_ERR(containment_sandbox_cpus(sb, "3-1", &err), err, CONTAINMENT_INVALID_VALUE, "\"3-1\"");
    int neg[] = {0, -1};
    CHECK_ERR(containment_sandbox_cpus_array(sb, neg, 2, &err), err, CONTAINMENT_INVALID_VALUE, "negative");
    int big[] = {70000};
    CHECK_ERR(containment_sandbox_cpus_array(sb, big, 1, &err), err, CONTAINMENT_INVALID_VALUE, "70000");
    CHECK_ERR(containment_sandbox_cpus_array(sb, NULL, 0, &err), err, CONTAINMENT_INVALID_VALUE, "empty");

    CHECK_ERR(containment_sandbox_rlimit(sb, 42, 1, &err), err, CONTAINMENT_INVALID_VALUE, "rlimit");
    CHECK_ERR(containment_sandbox_rlimit(sb, -1, 1, &err), err, CONTAINMENT_INVALID_VALUE, "rlimit");
    CHECK_ERR(containment_sandbox_rlimit_soft_hard(sb, 9, 1, 1, &err), err, CONTAINMENT_INVALID_VALUE, "rlimit");
    const char *bad_specs[] = {"bogus=1", "nofile=1K", "nofile", "=5", "nofile=-1", "as=1XB"};
    for (size_t i = 0; i < sizeof bad_specs / sizeof *bad_specs; i++)
        CHECK_ERR(containment_sandbox_rlimit_spec(sb, bad_specs[i], &err), err, CONTAINMENT_INVALID_VALUE, NULL);

    const char *bad_addresses[] = {"/33", "10.0.0/24", "10.77.0.17/33", "10.77.0.17", "", "256.0.0.1/8"};
    for (size_t i = 0; i < sizeof bad_addresses / sizeof *bad_addresses; i++) {
        CHECK_ERR(containment_sandbox_net_bridge(sb, "br0", bad_addresses[i], &err), err, CONTAINMENT_INVALID_VALUE,
                  NULL);
    }
    CHECK_ERR(containment_sandbox_net_bridge(sb, "br0", "fd00::1/64", &err), err, CONTAINMENT_UNSUPPORTED, "IPv6");
    CHECK_ERR(containment_sandbox_net_bridge(sb, "br\xff", "10.77.0.17/24", &err), err, CONTAINMENT_INVALID_VALUE,
              "UTF-8");
    /* The bridge refinements need a bridge network first. */
    const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 1};
    CHECK_ERR(containment_sandbox_net_gateway(sb, "10.77.0.1", &err), err, CONTAINMENT_INVALID_CONFIG, "net_bridge");
    CHECK_ERR(containment_sandbox_net_mtu(sb, 1400, &err), err, CONTAINMENT_INVALID_CONFIG, "net_bridge");
    CHECK_ERR(containment_sandbox_net_mac(sb, mac, &err), err, CONTAINMENT_INVALID_CONFIG, "net_bridge");
    CHECK_ERR(containment_sandbox_net_create_bridge(sb, "10.77.0.1/24", &err), err, CONTAINMENT_INVALID_CONFIG,
              "net_bridge");
    /* A namespace of the sandbox's own is kept: with only lo (the default) or a bridge. */
    CHECK_OK(containment_sandbox_net_reuse(sb, true, &err), err);
    CHECK_OK(containment_sandbox_net_reuse(sb, false, &err), err);
    CHECK_OK(containment_sandbox_net_bridge(sb, "br0", "10.77.0.17/24", &err), err);
    CHECK_ERR(containment_sandbox_net_gateway(sb, "10.77.0", &err), err, CONTAINMENT_INVALID_VALUE, "IPv4");
    CHECK_ERR(containment_sandbox_net_create_bridge(sb, "10.77.0.1", &err), err, CONTAINMENT_INVALID_VALUE, NULL);
    CHECK_OK(containment_sandbox_net_host(sb, &err), err);
    CHECK_ERR(containment_sandbox_net_mtu(sb, 1400, &err), err, CONTAINMENT_INVALID_CONFIG, "net_bridge");
    CHECK_ERR(containment_sandbox_net_reuse(sb, true, &err), err, CONTAINMENT_INVALID_CONFIG, "host's network");

    const char *bad_caps[] = {"CAP_NET_RAW", "CAP_BOGUS", NULL};
    CHECK_ERR(containment_sandbox_capabilities(sb, bad_caps, &err), err, CONTAINMENT_INVALID_VALUE, "CAP_BOGUS");
    CHECK_ERR(containment_sandbox_seccomp_deny(sb, "no_such_call", &err), err, CONTAINMENT_INVALID_VALUE,
              "no_such_call");
    CHECK_ERR(containment_sandbox_user_namespace(sb, 42, &err), err, CONTAINMENT_INVALID_VALUE,
              "CONTAINMENT_USERNS");
    containment_idmap zero = {0, 1000, 0}, overflow = {4294967295u, 1000, 2}, ok = {0, 1000, 1};
    CHECK_ERR(containment_sandbox_user_namespace_maps(sb, &zero, 1, &ok, 1, &err), err, CONTAINMENT_INVALID_VALUE,
              "count is 0");
    CHECK_ERR(containment_sandbox_user_namespace_maps(sb, &ok, 1, &overflow, 1, &err), err,
              CONTAINMENT_INVALID_VALUE, "largest id");

    containment_command *cmd = NULL;
    CHECK_OK(containment_command_new(sb, "/bin/true", &cmd, &err), err);
    CHECK_ERR(containment_command_stdin(cmd, 42, -1, &err), err, CONTAINMENT_INVALID_VALUE, "CONTAINMENT_STDIO");
    CHECK_ERR(containment_command_stdout(cmd, -1, -1, &err), err, CONTAINMENT_INVALID_VALUE, "CONTAINMENT_STDIO");
    CHECK_ERR(containment_command_stderr(cmd, CONTAINMENT_STDIO_FD, -1, &err), err, CONTAINMENT_INVALID_VALUE,
              "negative");
    CHECK_ST(containment_command_stdout(cmd, CONTAINMENT_STDIO_FD, 987654, &err), CONTAINMENT_OS_ERROR);
    CHECK(containment_error_errno(err) == EBADF);
    containment_error_free(err);
    err = NULL;
    containment_command_free(cmd);
    containment_sandbox_free(sb);
}

/* Good values are accepted by every setter; a clone is independent. */
static void test_good_values(void) {
    containment_error *err = NULL;
    containment_sandbox *sb = containment_sandbox_new();
    CHECK_OK(containment_sandbox_chroot(sb, "/srv/rootfs", &err), err);
    CHECK_OK(containment_sandbox_overlay(sb, "/srv/template", &err), err);
    CHECK_OK(containment_sandbox_overlay_persistent(sb, "/srv/template", "/srv/upper", &err), err);
    CHECK_OK(containment_sandbox_readonly_root(sb, true, &err), err);
    CHECK_OK(containment_sandbox_bind(sb, "/data/out", "/out", &err), err);
    CHECK_OK(containment_sandbox_bind_ro(sb, "/data/in", "/in", &err), err);
    CHECK_OK(containment_sandbox_tmpfs(sb, "/scratch", "64M", &err), err);
    CHECK_OK(containment_sandbox_tmpfs(sb, "/s2", "128MiB", &err), err);
    CHECK_OK(containment_sandbox_tmpfs_bytes(sb, "/s3", 1 << 20, &err), err);
    CHECK_OK(containment_sandbox_tmpfs_unlimited(sb, "/s4", &err), err);
    CHECK_OK(containment_sandbox_private_tmp(sb, false, &err), err);
    CHECK_OK(containment_sandbox_hostname(sb, "job-17", &err), err);
    CHECK_OK(containment_sandbox_user(sb, 65534, 65534, &err), err);
    uint32_t groups[] = {65534, 100};
    CHECK_OK(containment_sandbox_groups(sb, groups, 2, &err), err);
    CHECK_OK(containment_sandbox_groups(sb, NULL, 0, &err), err);
    const char *sizes[] = {"128M", "128MB", "128MiB", "128m", "1G", "1048576", "512B", "64k"};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        CHECK_OK(containment_sandbox_memory(sb, sizes[i], &err), err);
    CHECK_OK(containment_sandbox_memory_bytes(sb, 128u << 20, &err), err);
    const char *lists[] = {"0", "1,3", "0-3,7", "7,0-2,3", "65535"};
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
        CHECK_OK(containment_sandbox_cpus(sb, lists[i], &err), err);
    int cpus[] = {3, 1, 1};
    CHECK_OK(containment_sandbox_cpus_array(sb, cpus, 3, &err), err);
    CHECK_OK(containment_sandbox_pids(sb, 64, &err), err);
    CHECK_OK(containment_sandbox_cpu_quota(sb, 0.5, &err), err);
    CHECK_OK(containment_sandbox_cpu_weight(sb, 100, &err), err);
    CHECK_OK(containment_sandbox_cgroup_parent(sb, "containment-test", &err), err);
    CHECK_OK(containment_sandbox_rlimit(sb, CONTAINMENT_RLIMIT_NOFILE, 64, &err), err);
    CHECK_OK(containment_sandbox_rlimit(sb, CONTAINMENT_RLIMIT_CORE, CONTAINMENT_RLIMIT_UNLIMITED, &err), err);
    CHECK_OK(containment_sandbox_rlimit_soft_hard(sb, CONTAINMENT_RLIMIT_AS, 1u << 30, 2u << 30, &err), err);
    CHECK_OK(containment_sandbox_rlimit_spec(sb, "as=512M", &err), err);
    CHECK_OK(containment_sandbox_rlimit_spec(sb, "cpu=unlimited", &err), err);
    CHECK_OK(containment_sandbox_timeout_ms(sb, 30000, &err), err);
    CHECK_OK(containment_sandbox_net_bridge(sb, "br0", "10.77.0.17/24", &err), err);
    CHECK_OK(containment_sandbox_net_gateway(sb, "10.77.0.1", &err), err);
    CHECK_OK(containment_sandbox_net_mtu(sb, 1400, &err), err);
    const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 1};
    CHECK_OK(containment_sandbox_net_mac(sb, mac, &err), err);
    CHECK_OK(containment_sandbox_net_create_bridge(sb, "10.77.0.1/24", &err), err);
    CHECK_OK(containment_sandbox_net_reuse(sb, true, &err), err);
    CHECK_OK(containment_sandbox_net_reuse(sb, false, &err), err);
    CHECK_OK(containment_sandbox_net_none(sb, &err), err);
    CHECK_OK(containment_sandbox_net_host(sb, &err), err);
    const char *caps[] = {"CAP_NET_RAW", "net_bind_service", "cap_kill", NULL};
    CHECK_OK(containment_sandbox_capabilities(sb, caps, &err), err);
    const char *no_caps[] = {NULL};
    CHECK_OK(containment_sandbox_capabilities(sb, no_caps, &err), err);
    CHECK_OK(containment_sandbox_seccomp(sb, false, &err), err);
    CHECK_OK(containment_sandbox_seccomp(sb, true, &err), err);
    CHECK_OK(containment_sandbox_seccomp_allow_ptrace(sb, true, &err), err);
    CHECK_OK(containment_sandbox_seccomp_allow_user_namespaces(sb, true, &err), err);
    CHECK_OK(containment_sandbox_seccomp_deny(sb, "mount", &err), err);
    CHECK_OK(containment_sandbox_sysfs(sb, true, &err), err);
    CHECK_OK(containment_sandbox_user_namespace(sb, CONTAINMENT_USERNS_AUTO, &err), err);
    CHECK_OK(containment_sandbox_user_namespace(sb, CONTAINMENT_USERNS_OFF, &err), err);
    CHECK_OK(containment_sandbox_user_namespace(sb, CONTAINMENT_USERNS_OWN, &err), err);
    CHECK_OK(containment_sandbox_user_namespace_range(sb, 1000, &err), err);
    containment_idmap uid[] = {{0, 100000, 1000}, {1000, 200000, 10}};
    CHECK_OK(containment_sandbox_user_namespace_maps(sb, uid, 2, uid, 1, &err), err);
    CHECK_OK(containment_sandbox_user_namespace_maps(sb, NULL, 0, NULL, 0, &err), err);
    CHECK_OK(containment_sandbox_idmap_binds(sb, false, &err), err);
    /* Non-UTF-8 bytes are accepted where the value is a path or a name. */
    CHECK_OK(containment_sandbox_bind(sb, "/tmp/\xff\xfe", "/\xfe", &err), err);

    /* *error is set to NULL on success, whatever it held. */
    err = (containment_error *)(uintptr_t)0x1;
    CHECK_ST(containment_sandbox_pids(sb, 1, &err), CONTAINMENT_OK);
    CHECK(err == NULL);

    containment_sandbox *copy = NULL;
    CHECK_OK(containment_sandbox_clone(sb, &copy, &err), err);
    CHECK(copy != NULL && copy != sb);
    containment_sandbox_free(sb);
    CHECK_OK(containment_sandbox_hostname(copy, "after-free-of-original", &err), err);
    containment_sandbox_free(copy);
}

int main(void) {
    test_version();
    test_status_str();
    test_error_accessors_with_null();
    test_sandbox_nulls();
    test_command_nulls();
    test_child_nulls();
    test_dead_and_foreign_handles();
    test_bad_values();
    test_good_values();
    return h_summary("test_api");
}
