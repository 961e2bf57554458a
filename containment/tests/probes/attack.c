/* The attack probe: run inside a sandbox, it attempts one thing and prints what
 * happened, one line per attempt:
 *
 *     RESULT <name> <outcome>
 *
 * where <outcome> is "ok" when the attempt worked, the errno's name (EPERM,
 * EROFS, ...) when it failed, or a short word the check documents ("inside",
 * "empty", "absent", ...). Other lines may carry details for humans.
 *
 * Usage: attack CHECK [ARGS...]; `attack list` prints the checks. It is shared by
 * the Rust tests (containment/tests/attacks.rs, identity.rs, rootless.rs) and by
 * benches/differential.sh, which runs it under bubblewrap and under contain.
 * Built with `cc -static -O1`.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

extern char **environ;

static const char *errname(int e) {
    static char buf[16];
    switch (e) {
#define E(x) case x: return #x;
        E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC)
        E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY)
        E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE)
        E(EMFILE) E(ENOTTY) E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS)
        E(EMLINK) E(EPIPE) E(ERANGE) E(ENAMETOOLONG) E(ENOSYS) E(ENOTEMPTY)
        E(ELOOP) E(ENOKEY) E(EKEYREVOKED) E(EOPNOTSUPP) E(EAFNOSUPPORT)
        E(EPROTONOSUPPORT) E(ESOCKTNOSUPPORT) E(EADDRINUSE) E(EDQUOT) E(EUSERS)
#undef E
    default:
        snprintf(buf, sizeof buf, "E%d", e);
        return buf;
    }
}

static void result(const char *name, const char *outcome) {
    printf("RESULT %s %s\n", name, outcome);
    fflush(stdout);
}

/* Prints "ok" when rc >= 0, else the name of errno. */
static void outcome(const char *name, long rc) {
    result(name, rc >= 0 ? "ok" : errname(errno));
}

/* ---- 1. chroot escape ---------------------------------------------------- */

static int chroot_escape(void) {
    struct stat root0, root1;
    if (stat("/", &root0) != 0) { result("chroot_escape", errname(errno)); return 1; }
    int fd = open("/", O_RDONLY | O_DIRECTORY);
    /* A scratch directory: /tmp is writable in every profile. */
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/ctm-escape-%d", (int)getpid());
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) { result("chroot_escape_mkdir", errname(errno)); return 1; }
    int rc = chroot(dir);
    rmdir(dir);
    if (rc != 0) { result("chroot_escape", errname(errno)); return 0; }
    if (fd >= 0) fchdir(fd);
    for (int i = 0; i < 200; i++) chdir("..");
    if (chroot(".") != 0) { result("chroot_escape", errname(errno)); return 0; }
    stat("/", &root1);
    /* Back at the sandbox's own root, or somewhere else (the host's). */
    result("chroot_escape", root0.st_dev == root1.st_dev && root0.st_ino == root1.st_ino ? "inside" : "HOST");
    return 0;
}

/* ---- 2. the old root ----------------------------------------------------- */

/* argv: the host's root mount as "MAJOR:MINOR" (field 3 of its mountinfo line). A
 * mount with that device and root "/" in the sandbox is the host's root. */
static int old_root(int argc, char **argv) {
    const char *host_dev = argc > 0 ? argv[0] : "";
    FILE *f = fopen("/proc/self/mountinfo", "r");
    if (!f) { result("mountinfo", errname(errno)); return 1; }
    char line[4096];
    int host_root = 0, on_slash = 0;
    while (fgets(line, sizeof line, f)) {
        char dev[64], root[2048], point[2048];
        if (sscanf(line, "%*s %*s %63s %2047s %2047s", dev, root, point) != 3) continue;
        if (strcmp(dev, host_dev) == 0 && strcmp(root, "/") == 0) {
            host_root++;
            printf("host root mounted: %s", line);
        }
        if (strcmp(point, "/") == 0) on_slash++;
    }
    fclose(f);
    result("mountinfo_host_root", host_root ? "VISIBLE" : "absent");
    char n[16];
    snprintf(n, sizeof n, "%d", on_slash);
    result("mounts_on_slash", n);
    struct stat a, b;
    if (stat("/proc/1/root/.", &a) != 0) {
        result("proc1_root", errname(errno));
    } else {
        stat("/", &b);
        result("proc1_root", a.st_dev == b.st_dev && a.st_ino == b.st_ino ? "same" : "DIFFERENT");
    }
    return 0;
}

/* ---- 3. /proc/1/exe ------------------------------------------------------ */

static int proc1_exe(void) {
    int fd = open("/proc/1/exe", O_WRONLY);
    outcome("proc1_exe_wronly", fd);
    if (fd >= 0) close(fd);
    fd = open("/proc/1/exe", O_RDWR);
    outcome("proc1_exe_rdwr", fd);
    if (fd >= 0) close(fd);
    fd = open("/proc/self/exe", O_WRONLY);
    outcome("self_exe_wronly", fd);
    if (fd >= 0) close(fd);
    return 0;
}

/* ---- 4. descriptors and working directory -------------------------------- */

static int fds(void) {
    char list[1024] = "";
    DIR *d = opendir("/proc/self/fd");
    if (!d) { result("fds", errname(errno)); return 1; }
    int self = dirfd(d);
    int found[1024], n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 1024) {
        if (e->d_name[0] == '.') continue;
        int fd = atoi(e->d_name);
        if (fd != self) found[n++] = fd;
    }
    closedir(d);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (found[j] < found[i]) { int t = found[i]; found[i] = found[j]; found[j] = t; }
    for (int i = 0; i < n; i++) {
        char num[16];
        snprintf(num, sizeof num, "%s%d", i ? "," : "", found[i]);
        strncat(list, num, sizeof list - strlen(list) - 1);
    }
    result("fds", list);
    /* Descriptors /proc would not list (none should exist): probe them all. */
    int open_above = 0;
    for (int fd = 3; fd < 65536; fd++)
        if (fcntl(fd, F_GETFD) >= 0) open_above++;
    char num[16];
    snprintf(num, sizeof num, "%d", open_above);
    result("fds_open_above_2", num);
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd)) result("cwd", cwd);
    else result("cwd", errname(errno));
    char link[4096];
    ssize_t len = readlink("/proc/self/cwd", link, sizeof link - 1);
    if (len >= 0) { link[len] = 0; result("proc_cwd", link); }
    else result("proc_cwd", errname(errno));
    /* A cwd outside the root shows ".." leading somewhere: compare "." and "/". */
    struct stat a, b;
    stat(".", &a);
    stat("/", &b);
    result("cwd_is_root", a.st_dev == b.st_dev && a.st_ino == b.st_ino ? "yes" : "no");
    return 0;
}

/* ---- 5. TIOCSTI ---------------------------------------------------------- */

static int tiocsti(void) {
    result("stdin_isatty", isatty(0) ? "yes" : "no");
    const char *inject = "echo INJECTED\n";
    long rc = 0;
    for (const char *c = inject; *c && rc == 0; c++) rc = ioctl(0, TIOCSTI, c);
    outcome("tiocsti", rc);
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY);
    outcome("dev_tty", fd);
    if (fd >= 0) close(fd);
    result("session_leader", getsid(0) == getpid() ? "yes" : "no");
    return 0;
}

/* ---- 6. ptrace and /proc/<pid>/mem --------------------------------------- */

static int ptrace_init(void) {
    /* Where it works (a weaker sandbox), let the init go again at once. */
    long rc = ptrace(PTRACE_ATTACH, 1, 0, 0);
    int e = errno;
    if (rc == 0) {
        waitpid(1, NULL, __WALL);
        ptrace(PTRACE_DETACH, 1, 0, 0);
    }
    errno = e;
    outcome("ptrace_attach_init", rc);
    rc = ptrace(PTRACE_SEIZE, 1, 0, 0);
    e = errno;
    if (rc == 0) ptrace(PTRACE_DETACH, 1, 0, 0);
    errno = e;
    outcome("ptrace_seize_init", rc);
    int fd = open("/proc/1/mem", O_RDONLY);
    outcome("proc1_mem_read", fd);
    if (fd >= 0) close(fd);
    fd = open("/proc/1/mem", O_RDWR);
    outcome("proc1_mem_write", fd);
    if (fd >= 0) close(fd);
    char buf[8];
    struct iovec local = { buf, sizeof buf }, remote = { (void *)0x400000, sizeof buf };
    outcome("process_vm_readv_init", process_vm_readv(1, &local, 1, &remote, 1, 0));
    return 0;
}

/* A child of the probe itself: ptrace is about the filter, not about privilege. */
static int ptrace_child(void) {
    pid_t c = fork();
    if (c == 0) { for (;;) pause(); }
    long rc = ptrace(PTRACE_ATTACH, c, 0, 0);
    int e = errno;
    if (rc == 0) {
        int st;
        waitpid(c, &st, __WALL);
        ptrace(PTRACE_DETACH, c, 0, 0);
    }
    errno = e;
    outcome("ptrace_attach_child", rc);
    kill(c, SIGKILL);
    waitpid(c, NULL, __WALL);
    return 0;
}

/* ---- 7. kill(-1) --------------------------------------------------------- */

static int kill_all(void) {
    outcome("kill_all", kill(-1, SIGKILL));
    return 0;
}

/* ---- 8. /proc ------------------------------------------------------------ */

static void try_write(const char *name, const char *path) {
    int fd = open(path, O_WRONLY);
    outcome(name, fd);
    if (fd >= 0) close(fd);
}

/* "empty" (0 bytes), "absent" (ENOENT), an errno name, or "READABLE:<bytes>". */
static void masked(const char *name, const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) { result(name, errno == ENOENT ? "absent" : errname(errno)); return; }
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < 0) { result(name, errname(errno)); return; }
    if (n == 0) { result(name, "empty"); return; }
    char out[32];
    snprintf(out, sizeof out, "READABLE:%zd", n);
    result(name, out);
}

static int procfs(void) {
    try_write("core_pattern", "/proc/sys/kernel/core_pattern");
    try_write("sysrq_trigger", "/proc/sysrq-trigger");
    try_write("proc_sys_vm_drop_caches", "/proc/sys/vm/drop_caches");
    masked("kcore", "/proc/kcore");
    masked("keys", "/proc/keys");
    masked("timer_list", "/proc/timer_list");
    masked("sched_debug", "/proc/sched_debug");
    return 0;
}

/* ---- 9. /sys ------------------------------------------------------------- */

static int sysfs(void) {
    struct stat st;
    if (stat("/sys", &st) != 0) { result("sys", errno == ENOENT ? "absent" : errname(errno)); return 0; }
    if (stat("/sys/kernel", &st) != 0) { result("sys", "empty"); return 0; }
    result("sys", "mounted");
    try_write("sys_uevent_helper", "/sys/kernel/uevent_helper");
    outcome("sys_mkdir", mkdir("/sys/kernel/ctm-probe", 0755));
    rmdir("/sys/kernel/ctm-probe");
    result("sys_fs_cgroup", stat("/sys/fs/cgroup", &st) == 0 ? "present" : errname(errno));
    return 0;
}

/* ---- 10. mounts ---------------------------------------------------------- */

static int mounts(void) {
    mkdir("/tmp/ctm-mnt", 0755);
    outcome("mount_tmpfs", mount("none", "/tmp/ctm-mnt", "tmpfs", 0, NULL));
    outcome("mount_bind_root", mount("/", "/tmp/ctm-mnt", NULL, MS_BIND | MS_REC, NULL));
    outcome("mount_proc", mount("proc", "/tmp/ctm-mnt", "proc", 0, NULL));
    outcome("fsopen_tmpfs", syscall(SYS_fsopen, "tmpfs", 0));
    outcome("unshare_user", unshare(CLONE_NEWUSER));
    outcome("mount_tmpfs_after_userns", mount("none", "/tmp/ctm-mnt", "tmpfs", 0, NULL));
    outcome("mount_proc_after_userns", mount("proc", "/tmp/ctm-mnt", "proc", 0, NULL));
    umount2("/tmp/ctm-mnt", MNT_DETACH);
    rmdir("/tmp/ctm-mnt");
    return 0;
}

/* ---- 11. device nodes and /dev ------------------------------------------- */

static int devices(void) {
    outcome("mknod_char", mknod("/tmp/ctm-char", S_IFCHR | 0600, makedev(1, 3)));
    unlink("/tmp/ctm-char");
    outcome("mknod_block", mknod("/tmp/ctm-block", S_IFBLK | 0600, makedev(7, 0)));
    unlink("/tmp/ctm-block");
    /* The entries of /dev, sorted, each with its kind: c (character device),
     * b (block device), d, l, f. */
    struct dirent **list;
    int n = scandir("/dev", &list, NULL, alphasort);
    if (n < 0) { result("dev", errname(errno)); return 0; }
    char out[4096] = "", blocks[1024] = "";
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        if (strcmp(name, ".") && strcmp(name, "..")) {
            char path[512];
            struct stat st;
            snprintf(path, sizeof path, "/dev/%s", name);
            char kind = '?';
            if (lstat(path, &st) == 0)
                kind = S_ISCHR(st.st_mode) ? 'c' : S_ISBLK(st.st_mode) ? 'b' : S_ISDIR(st.st_mode) ? 'd'
                     : S_ISLNK(st.st_mode) ? 'l' : 'f';
            char item[300];
            snprintf(item, sizeof item, "%s%s:%c", out[0] ? "," : "", name, kind);
            strncat(out, item, sizeof out - strlen(out) - 1);
            if (kind == 'b') {
                strncat(blocks, name, sizeof blocks - strlen(blocks) - 2);
                strcat(blocks, ",");
            }
        }
        free(list[i]);
    }
    free(list);
    result("dev", out);
    result("dev_block_devices", blocks[0] ? blocks : "none");
    return 0;
}

/* ---- 12. sockets --------------------------------------------------------- */

static int sockets(void) {
    int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    outcome("socket_packet", fd);
    if (fd >= 0) close(fd);
    fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    outcome("socket_raw_inet", fd);
    if (fd >= 0) close(fd);
    fd = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
    outcome("socket_raw_inet6", fd);
    if (fd >= 0) close(fd);
    return 0;
}

/* ---- 13, 14. identity and capabilities ----------------------------------- */

static void status_fields(const char *const *names, int count) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) { result("status", errname(errno)); return; }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        for (int i = 0; i < count; i++) {
            size_t l = strlen(names[i]);
            if (strncmp(line, names[i], l) == 0 && line[l] == ':') {
                char *v = line + l + 1;
                while (*v == ' ' || *v == '\t') v++;
                v[strcspn(v, "\n")] = 0;
                result(names[i], v);
            }
        }
    }
    fclose(f);
}

static int ids(void) {
    char v[64];
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    snprintf(v, sizeof v, "%u", (unsigned)e);
    result("euid", v);
    snprintf(v, sizeof v, "%u", (unsigned)r);
    result("ruid", v);
    gid_t gr, ge, gs;
    getresgid(&gr, &ge, &gs);
    snprintf(v, sizeof v, "%u", (unsigned)ge);
    result("egid", v);
    static const char *const caps[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs" };
    status_fields(caps, 6);
    return 0;
}

static int status(void) {
    static const char *const f[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp",
                                     "Seccomp_filters" };
    status_fields(f, 8);
    return 0;
}

/* ---- 15. keyrings -------------------------------------------------------- */

/* argv: the description of a key the host put in its session keyring. */
static int keys(int argc, char **argv) {
    long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
    outcome("keyctl_session", id);
    long k = syscall(SYS_add_key, "user", "ctm-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING);
    outcome("add_key", k);
    if (argc > 0) {
        long found = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", argv[0], 0);
        if (found >= 0) result("host_key", "FOUND");
        else result("host_key", errno == ENOKEY ? "absent" : errname(errno));
        long req = syscall(SYS_request_key, "user", argv[0], NULL, 0);
        if (req >= 0) result("request_host_key", "FOUND");
        else result("request_host_key", errno == ENOKEY ? "absent" : errname(errno));
    }
    masked("proc_keys", "/proc/keys");
    return 0;
}

/* ---- 21, 22, 23. limits -------------------------------------------------- */

/* Forks until fork fails; the children pause. argv: "hold" to wait for end of
 * file on stdin before exiting (while every child still lives), then a marker
 * the test finds in the command line of every process of the bomb. */
static int forkbomb(int argc, char **argv) {
    int made = 0;
    for (;;) {
        pid_t p = fork();
        if (p == 0) { for (;;) pause(); }
        if (p < 0) break;
        made++;
        if (made > 100000) break;
    }
    int e = errno;
    char v[64];
    snprintf(v, sizeof v, "%d", made);
    result("forked", v);
    result("fork", made > 100000 ? "UNLIMITED" : errname(e));
    if (argc > 0 && strcmp(argv[0], "hold") == 0) {
        char b;
        while (read(0, &b, 1) > 0) {}
    }
    /* Exit and leave the children: the sandbox's end must take them down. */
    return 0;
}

static int membomb(void) {
    size_t chunk = 1 << 20, total = 0;
    for (;;) {
        char *p = malloc(chunk);
        if (!p) { result("membomb", errname(errno)); return 1; }
        memset(p, 0x5a, chunk);
        total += chunk;
        if (total > ((size_t)8 << 30)) { result("membomb", "UNLIMITED"); return 1; }
    }
}

/* argv: a file to fill. */
static int fill(int argc, char **argv) {
    if (argc < 1) return 2;
    int fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) { result("fill", errname(errno)); return 0; }
    static char block[65536];
    memset(block, 'x', sizeof block);
    long long written = 0;
    int e = 0;
    for (;;) {
        ssize_t n = write(fd, block, sizeof block);
        if (n < 0) { e = errno; break; }
        written += n;
        if (written > (1LL << 32)) break;
    }
    close(fd);
    unlink(argv[0]);
    char v[64];
    snprintf(v, sizeof v, "%lld", written);
    result("filled", v);
    result("fill", e ? errname(e) : "UNLIMITED");
    return 0;
}

/* ---- 24. host name and clock --------------------------------------------- */

static int clock_and_name(void) {
    outcome("sethostname", sethostname("evil", 4));
    outcome("setdomainname", setdomainname("evil", 4));
    struct timespec ts = { 946684800, 0 }; /* 2000-01-01 */
    outcome("clock_settime", clock_settime(CLOCK_REALTIME, &ts));
    struct timeval tv = { 946684800, 0 };
    outcome("settimeofday", settimeofday(&tv, NULL));
    char name[128] = "";
    gethostname(name, sizeof name);
    result("hostname", name);
    return 0;
}

/* ---- 25. environment ----------------------------------------------------- */

static int env(void) {
    int secret = 0, n = 0;
    for (char **e = environ; *e; e++, n++) {
        printf("ENV %s\n", *e);
        if (strncmp(*e, "SECRET=", 7) == 0) secret = 1;
    }
    char v[16];
    snprintf(v, sizeof v, "%d", n);
    result("env_count", v);
    result("env_secret", secret ? "VISIBLE" : "absent");
    return 0;
}

/* ---- seccomp ------------------------------------------------------------- */

/* argv: NAME:NUMBER pairs; calls each with zero arguments. */
static int syscalls(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        char name[128];
        long nr;
        if (sscanf(argv[i], "%127[^:]:%ld", name, &nr) != 2) return 2;
        errno = 0;
        long rc = syscall(nr, 0, 0, 0, 0, 0, 0);
        char label[160];
        snprintf(label, sizeof label, "sys_%s", name);
        outcome(label, rc);
    }
    return 0;
}

static int unshare_user(void) {
    outcome("unshare_user", unshare(CLONE_NEWUSER));
    return 0;
}

static int clone_user(void) {
    /* clone(2) with CLONE_NEWUSER through the raw system call. */
    long rc = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (rc == 0) _exit(0);
    outcome("clone_newuser", rc);
    if (rc > 0) waitpid(rc, NULL, 0);
    return 0;
}

static int clone3_probe(void) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    long rc = syscall(SYS_clone3, &args, sizeof args);
    if (rc == 0) _exit(0);
    outcome("clone3", rc);
    if (rc > 0) waitpid(rc, NULL, 0);
    return 0;
}

static int io_uring(void) {
    /* entries 1, params NULL: EFAULT when allowed, EPERM when denied. */
    outcome("io_uring_setup", syscall(SYS_io_uring_setup, 1, NULL));
    return 0;
}

/* ---- files --------------------------------------------------------------- */

static int write_file(int argc, char **argv) {
    if (argc < 1) return 2;
    int fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { result("write", errname(errno)); return 0; }
    const char *text = argc > 1 ? argv[1] : "written";
    ssize_t n = write(fd, text, strlen(text));
    outcome("write", n);
    close(fd);
    return 0;
}

static int read_file(int argc, char **argv) {
    if (argc < 1) return 2;
    int fd = open(argv[0], O_RDONLY);
    if (fd < 0) { result("read", errname(errno)); return 0; }
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) { result("read", errname(errno)); return 0; }
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    char out[4200];
    snprintf(out, sizeof out, "ok:%s", buf);
    result("read", out);
    return 0;
}

static int stat_file(int argc, char **argv) {
    if (argc < 1) return 2;
    struct stat st;
    if (lstat(argv[0], &st) != 0) { result("stat", errname(errno)); return 0; }
    char v[128];
    snprintf(v, sizeof v, "%u:%u:%o:%u:%u", (unsigned)st.st_uid, (unsigned)st.st_gid,
             (unsigned)(st.st_mode & 07777), major(st.st_rdev), minor(st.st_rdev));
    result("stat", v);
    return 0;
}

/* The entries of a directory, sorted, comma-separated ("empty" for none). */
static int list_dir(int argc, char **argv) {
    if (argc < 1) return 2;
    struct dirent **list;
    int n = scandir(argv[0], &list, NULL, alphasort);
    if (n < 0) { result("ls", errname(errno)); return 0; }
    char out[8192] = "";
    for (int i = 0; i < n; i++) {
        if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, "..")) {
            if (out[0]) strncat(out, ",", sizeof out - strlen(out) - 1);
            strncat(out, list[i]->d_name, sizeof out - strlen(out) - 1);
        }
        free(list[i]);
    }
    free(list);
    result("ls", out[0] ? out : "empty");
    return 0;
}

/* Prints each line of a file as RESULT <name> <line>. */
static int cat_lines(const char *name, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) { result(name, errname(errno)); return 0; }
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        /* Collapse the padding of uid_map and friends to single spaces. */
        char out[4096];
        int j = 0, space = 1;
        for (int i = 0; line[i] && j < (int)sizeof out - 1; i++) {
            if (line[i] == ' ' || line[i] == '\t') {
                if (!space) out[j++] = ' ';
                space = 1;
            } else {
                out[j++] = line[i];
                space = 0;
            }
        }
        while (j > 0 && out[j - 1] == ' ') j--;
        out[j] = 0;
        result(name, out);
    }
    fclose(f);
    return 0;
}

/* ---- 20. cgroups --------------------------------------------------------- */

static int cgroups(void) {
    cat_lines("cgroup", "/proc/self/cgroup");
    static const char *const targets[] = {
        "/sys/fs/cgroup/cgroup.procs", "/sys/fs/cgroup/pids/cgroup.procs", "/sys/fs/cgroup/memory/cgroup.procs",
        "/sys/fs/cgroup/unified/cgroup.procs",
    };
    int worked = 0, absent = 0, other = 0;
    const char *err = "";
    for (unsigned i = 0; i < sizeof targets / sizeof *targets; i++) {
        int fd = open(targets[i], O_WRONLY);
        if (fd >= 0) {
            if (write(fd, "0", 1) == 1) worked++;
            else { other++; err = errname(errno); }
            close(fd);
        } else if (errno == ENOENT) {
            absent++;
        } else {
            other++;
            err = errname(errno);
        }
    }
    if (worked) result("cgroup_procs_write", "ok");
    else if (other) result("cgroup_procs_write", err);
    else result("cgroup_procs_write", "absent");
    return 0;
}

/* ---- capabilities at work ------------------------------------------------ */

/* argv: a TCP port to bind on 127.0.0.1 (a port below 1024 needs
 * CAP_NET_BIND_SERVICE). */
static int bind_port(int argc, char **argv) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) { result("bind_port", errname(errno)); return 0; }
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(argc > 0 ? atoi(argv[0]) : 80);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    outcome("bind_port", bind(fd, (struct sockaddr *)&a, sizeof a));
    close(fd);
    return 0;
}

/* ---- 26. exits ----------------------------------------------------------- */

static int do_exit(int argc, char **argv) {
    fflush(stdout);
    return argc > 0 ? atoi(argv[0]) : 0;
}

static int do_raise(int argc, char **argv) {
    int sig = argc > 0 ? atoi(argv[0]) : SIGKILL;
    fflush(stdout);
    if (sig == SIGSEGV) {
        volatile int *p = (int *)16;
        *p = 1;
    }
    raise(sig);
    return 100;
}

/* ---- dispatch ------------------------------------------------------------ */

struct check {
    const char *name;
    int (*fn0)(void);
    int (*fn)(int, char **);
};

static const struct check checks[] = {
    { "chroot_escape", chroot_escape, NULL },
    { "old_root", NULL, old_root },
    { "proc1_exe", proc1_exe, NULL },
    { "fds", fds, NULL },
    { "tiocsti", tiocsti, NULL },
    { "ptrace_init", ptrace_init, NULL },
    { "ptrace_child", ptrace_child, NULL },
    { "kill_all", kill_all, NULL },
    { "procfs", procfs, NULL },
    { "sysfs", sysfs, NULL },
    { "mounts", mounts, NULL },
    { "devices", devices, NULL },
    { "sockets", sockets, NULL },
    { "ids", ids, NULL },
    { "status", status, NULL },
    { "keys", NULL, keys },
    { "forkbomb", NULL, forkbomb },
    { "membomb", membomb, NULL },
    { "fill", NULL, fill },
    { "clock_and_name", clock_and_name, NULL },
    { "env", env, NULL },
    { "syscalls", NULL, syscalls },
    { "unshare_user", unshare_user, NULL },
    { "clone_user", clone_user, NULL },
    { "clone3", clone3_probe, NULL },
    { "io_uring", io_uring, NULL },
    { "write", NULL, write_file },
    { "read", NULL, read_file },
    { "stat", NULL, stat_file },
    { "ls", NULL, list_dir },
    { "cgroups", cgroups, NULL },
    { "bind_port", NULL, bind_port },
    { "exit", NULL, do_exit },
    { "raise", NULL, do_raise },
};

int main(int argc, char **argv) {
    /* Called by a name that is not "attack" (a setuid copy, say): report ids. */
    if (argc < 2) return ids();
    if (strcmp(argv[1], "list") == 0) {
        for (unsigned i = 0; i < sizeof checks / sizeof *checks; i++) puts(checks[i].name);
        return 0;
    }
    if (strcmp(argv[1], "mountinfo") == 0) return cat_lines("mountinfo", "/proc/self/mountinfo");
    if (strcmp(argv[1], "uid_map") == 0) {
        cat_lines("uid_map", "/proc/self/uid_map");
        return cat_lines("gid_map", "/proc/self/gid_map");
    }
    for (unsigned i = 0; i < sizeof checks / sizeof *checks; i++) {
        if (strcmp(argv[1], checks[i].name) == 0)
            return checks[i].fn0 ? checks[i].fn0() : checks[i].fn(argc - 2, argv + 2);
    }
    fprintf(stderr, "attack: unknown check %s (try: attack list)\n", argv[1]);
    return 2;
}
