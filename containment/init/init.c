/*
 * The sandbox's init once the sandbox is built: a small program of its own.
 *
 * The library starts the init as a process that shares the supervisor's memory
 * (clone3 with CLONE_VM), so that nothing of the supervisor's address space is
 * copied, however large it is. Once the init has built the sandbox and started the
 * program's process (which waits at a gate, not yet exec'd), it executes this
 * program, from a sealed memfd, and so leaves the supervisor's memory before any
 * code of the sandbox runs. This program then lets the program's process go,
 * learns whether its execve succeeded, and serves as the sandbox's PID 1: it
 * forwards signals to the program, reaps every process, and reports the program's
 * wait status to the supervisor, as the Rust init did (containment/src/child/mod.rs,
 * `serve`); the records are those of containment/src/report.rs.
 *
 * Freestanding (no libc): x86-64 Linux system calls only. Built by build.rs.
 *
 * argv: [1] the program's pid, or -1 for none; descriptors [2] signalfd,
 * [3] timerfd or -1, [4] the supervisor's end to watch or -1, [5] the report
 * pipe, [6] the gate (write end) or -1, [7] the exec check (read end) or -1;
 * [8] 1 to die at the `exec` stage (fault injection), [9] the number of the
 * `fork` stage, [10] ECHILD.
 */

#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_poll 7
#define SYS_wait4 61
#define SYS_kill 62
#define SYS_prctl 157
#define SYS_exit_group 231

#define POLLIN 0x1
#define POLLERR 0x8
#define POLLHUP 0x10
#define POLLNVAL 0x20
#define WNOHANG 1
#define WALL 0x40000000
#define SIGCHLD 17
#define SIGKILL 9
#define PR_SET_NAME 15
#define PR_SET_DUMPABLE 4
#define EINTR 4

#define KIND_ERROR 1
#define KIND_STARTED 2
#define KIND_EXITED 3
#define KIND_TIMED_OUT 4
#define NO_PATH (-1)
#define NO_PROGRAM (-1)

struct pollfd {
    int fd;
    short events;
    short revents;
};

static long sys3(long n, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}

static long sys4(long n, long a, long b, long c, long d)
{
    long ret;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
    return ret;
}

static __attribute__((noreturn)) void exit_now(int code)
{
    for (;;)
        sys3(SYS_exit_group, code, 0, 0);
}

static int parse(const char *s)
{
    int neg = 0, v = 0;
    if (*s == '-') {
        neg = 1;
        s++;
    }
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (*s++ - '0');
    return neg ? -v : v;
}

static void report(int fd, int kind, int stage, int err, int value)
{
    int rec[4];
    rec[0] = kind;
    rec[1] = stage;
    rec[2] = err;
    rec[3] = value;
    /* A failed write means the supervisor is gone; there is nobody to tell. */
    sys3(SYS_write, fd, (long)rec, sizeof rec);
}

/* Sets `p` to watch `fd` (ignored by poll when negative) for `events`. */
static void watch(struct pollfd *p, int fd, short events)
{
    p->fd = fd;
    p->events = events;
    p->revents = 0;
}

/* Reads `fd` until `len` bytes or end of file, and returns how many it read; if the
 * supervisor dies meanwhile (`supervisor`: the write end of the report pipe, or -1:
 * not watched), kills `program` and exits (as PID 1, which kills everything in the
 * PID namespace; as a joiner, the program is all it started). A program stopped
 * before its execve (SIGSTOP from the host) would otherwise keep the sandbox alive
 * for good after its supervisor was killed. */
static long read_full_or_orphaned(int fd, char *buf, long len, int supervisor, int program)
{
    long got = 0;
    while (got < len) {
        struct pollfd p[2];
        watch(&p[0], fd, POLLIN);
        /* POLLERR once the supervisor's read end is closed. */
        watch(&p[1], supervisor, 0);
        long ready = sys3(SYS_poll, (long)p, 2, -1);
        if (ready == -EINTR)
            continue;
        if (ready < 0)
            exit_now(1);
        if (!(p[0].revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL))) {
            if (p[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
                sys3(SYS_kill, program, SIGKILL, 0);
                exit_now(1);
            }
            continue;
        }
        long n = sys3(SYS_read, fd, (long)(buf + got), len - got);
        if (n == -EINTR)
            continue;
        if (n <= 0)
            break;
        got += n;
    }
    return got;
}

/* Lets the program's process go and returns 0 once its execve succeeded; else
 * reports why it did not and exits. */
static void release(int program, int gate, int check, int supervisor, int reportfd, int fork_stage, int echild)
{
    char buf[17];
    long got;
    int status;

    sys3(SYS_write, gate, (long)"g", 1);
    sys3(SYS_close, gate, 0, 0);
    /* A byte when it reached its execve, then end of file when that succeeded
     * (the descriptor is close-on-exec), or a failure record when it did not. */
    got = read_full_or_orphaned(check, buf, sizeof buf, supervisor, program);
    sys3(SYS_close, check, 0, 0);
    if (got == 1)
        return;
    sys4(SYS_wait4, program, (long)&status, WALL, 0);
    if (got == 17 || got == 16) {
        sys3(SYS_write, reportfd, (long)(buf + got - 16), 16);
    } else {
        /* It ended before it could even try execve. */
        report(reportfd, KIND_ERROR, fork_stage, echild, NO_PATH);
    }
    exit_now(1);
}

static __attribute__((noreturn)) void serve(int program, int signals, int timer, int supervisor, int reportfd)
{
    unsigned int info[32]; /* struct signalfd_siginfo, 128 bytes */
    for (;;) {
        struct pollfd p[3];
        watch(&p[0], signals, POLLIN);
        /* The write end of the report pipe gives POLLERR once every read end is
         * closed: the supervisor process has died. (-1: not watched.) */
        watch(&p[1], supervisor, 0);
        watch(&p[2], timer, POLLIN);
        long n = sys3(SYS_poll, (long)p, 3, -1);
        if (n == -EINTR)
            continue;
        if (n < 0)
            exit_now(1);
        if (p[1].revents & (POLLERR | POLLHUP))
            exit_now(1);
        if (p[2].revents & POLLIN) {
            /* Exiting kills everything in the PID namespace. */
            report(reportfd, KIND_TIMED_OUT, 0, 0, 0);
            exit_now(0);
        }
        if (!(p[0].revents & POLLIN))
            continue;
        if (sys3(SYS_read, signals, (long)info, sizeof info) != (long)sizeof info)
            continue;
        if (info[0] != SIGCHLD) {
            if (program != NO_PROGRAM)
                sys3(SYS_kill, program, info[0], 0);
            continue;
        }
        for (;;) {
            int status = 0;
            long pid = sys4(SYS_wait4, -1, (long)&status, WNOHANG | WALL, 0);
            if (pid <= 0)
                break;
            if (pid == program) {
                report(reportfd, KIND_EXITED, 0, 0, status);
                exit_now(0);
            }
        }
    }
}

__attribute__((used)) static void start(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    if (argc < 11)
        exit_now(1);
    int program = parse(argv[1]);
    int signals = parse(argv[2]);
    int timer = parse(argv[3]);
    int supervisor = parse(argv[4]);
    int reportfd = parse(argv[5]);
    int gate = parse(argv[6]);
    int check = parse(argv[7]);
    int die_at_exec = parse(argv[8]);
    int fork_stage = parse(argv[9]);
    int echild = parse(argv[10]);

    sys3(SYS_prctl, PR_SET_NAME, (long)"init", 0);
    /* Out of the program's reach (ptrace, /proc/1/mem, /proc/1/root) unless it is
     * privileged over the init, as the init was before executing this. */
    sys3(SYS_prctl, PR_SET_DUMPABLE, 0, 0);
    if (program != NO_PROGRAM)
        release(program, gate, check, supervisor, reportfd, fork_stage, echild);
    if (die_at_exec)
        exit_now(99);
    report(reportfd, KIND_STARTED, 0, 0, program);
    serve(program, signals, timer, supervisor, reportfd);
}

__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  xor %ebp, %ebp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call start\n"
        "  ud2\n");
