//! The seccomp filter: which system calls a sandboxed program may not make.
//!
//! The BPF program is built in the supervisor: checks of the architecture and a
//! binary search of the system call number written here (see [`search`]), then
//! `seccompiler`'s program for the rules that look at arguments. The child only
//! installs it, after `no_new_privs`, as the last step before `execve`.

use std::collections::BTreeMap;

use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use crate::error::{Error, Result, ValueKind};

/// The seccomp policy of a sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seccomp {
    enabled: bool,
    allow_ptrace: bool,
    allow_user_namespaces: bool,
    extra: Vec<String>,
}

impl Default for Seccomp {
    fn default() -> Seccomp {
        Seccomp { enabled: true, allow_ptrace: false, allow_user_namespaces: false, extra: Vec::new() }
    }
}

impl Seccomp {
    /// The default filter (see [`DEFAULT_DENIED`]).
    pub fn default_filter() -> Seccomp {
        Seccomp::default()
    }

    /// No filter at all: an explicit opt-out.
    pub fn disabled() -> Seccomp {
        Seccomp { enabled: false, ..Seccomp::default() }
    }

    /// Lets the program use `ptrace` (and `process_vm_readv`/`writev`) on its own
    /// processes, for debuggers and tracers run inside.
    pub fn allow_ptrace(mut self, yes: bool) -> Seccomp {
        self.allow_ptrace = yes;
        self
    }

    /// Lets the program create user namespaces (`clone`/`unshare` with
    /// `CLONE_NEWUSER`, and `clone3`).
    pub fn allow_user_namespaces(mut self, yes: bool) -> Seccomp {
        self.allow_user_namespaces = yes;
        self
    }

    /// Also denies the system call `name` (with `EPERM`). Names are checked at spawn
    /// against [`known_syscalls`].
    pub fn deny(mut self, name: impl Into<String>) -> Seccomp {
        self.extra.push(name.into());
        self
    }

    /// A one-line text form (`on;ptrace=0;userns=0;deny=a,b` or `off`), for the
    /// state of a running sandbox.
    pub(crate) fn to_spec(&self) -> String {
        if !self.enabled {
            return "off".into();
        }
        format!(
            "on;ptrace={};userns={};deny={}",
            u8::from(self.allow_ptrace),
            u8::from(self.allow_user_namespaces),
            self.extra.join(",")
        )
    }

    /// The policy `to_spec` wrote; the default filter for anything else.
    pub(crate) fn from_spec(spec: &str) -> Seccomp {
        if spec == "off" {
            return Seccomp::disabled();
        }
        let mut s = Seccomp::default();
        for part in spec.split(';') {
            match part.split_once('=') {
                Some(("ptrace", v)) => s.allow_ptrace = v == "1",
                Some(("userns", v)) => s.allow_user_namespaces = v == "1",
                Some(("deny", v)) => s.extra = v.split(',').filter(|n| !n.is_empty()).map(str::to_string).collect(),
                _ => {}
            }
        }
        s
    }

    /// Whether a filter is installed.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }
}

/// The system calls the default filter refuses with `EPERM`: loading kernel code,
/// BPF, perf, keyrings, userfaultfd, handle-based opens, every kind of mount, the
/// clock, swap, reboot, and the like. `ptrace` and new user namespaces are refused
/// too unless allowed, and `ioctl(TIOCSTI)`/`ioctl(TIOCLINUX)` always.
pub const DEFAULT_DENIED: &[&str] = &[
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "userfaultfd",
    "open_by_handle_at",
    "name_to_handle_at",
    "mount",
    "umount2",
    "pivot_root",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "chroot",
    "setns",
    "acct",
    "swapon",
    "swapoff",
    "reboot",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "iopl",
    "ioperm",
    "quotactl",
    "syslog",
    "vhangup",
    "uselib",
    "lookup_dcookie",
    "personality",
    "kcmp",
];

const PTRACE_LIKE: &[&str] = &["ptrace", "process_vm_readv", "process_vm_writev"];

/// The names [`Seccomp::deny`] accepts, with their numbers on this architecture.
pub fn known_syscalls() -> impl Iterator<Item = (&'static str, i64)> {
    // `strip_prefix`, not `trim_start_matches`: this runs for every name of every
    // spawn's filter, and a pattern search costs more than the comparison.
    SYSCALLS.iter().map(|(n, nr)| (n.strip_prefix("SYS_").unwrap_or(n), *nr))
}

/// `(stringify!(SYS_x), libc::SYS_x)` for each name.
macro_rules! syscall_table {
    ($($sys:ident),* $(,)?) => { &[$((stringify!($sys), libc::$sys)),*] };
}

static SYSCALLS: &[(&str, i64)] = syscall_table![
    SYS_kexec_load,
    SYS_kexec_file_load,
    SYS_init_module,
    SYS_finit_module,
    SYS_delete_module,
    SYS_bpf,
    SYS_perf_event_open,
    SYS_keyctl,
    SYS_add_key,
    SYS_request_key,
    SYS_userfaultfd,
    SYS_open_by_handle_at,
    SYS_name_to_handle_at,
    SYS_mount,
    SYS_umount2,
    SYS_pivot_root,
    SYS_move_mount,
    SYS_open_tree,
    SYS_fsopen,
    SYS_fsconfig,
    SYS_fsmount,
    SYS_fspick,
    SYS_mount_setattr,
    SYS_chroot,
    SYS_setns,
    SYS_acct,
    SYS_swapon,
    SYS_swapoff,
    SYS_reboot,
    SYS_settimeofday,
    SYS_clock_settime,
    SYS_clock_adjtime,
    SYS_adjtimex,
    SYS_iopl,
    SYS_ioperm,
    SYS_quotactl,
    SYS_syslog,
    SYS_vhangup,
    SYS_uselib,
    SYS_lookup_dcookie,
    SYS_personality,
    SYS_kcmp,
    SYS_ptrace,
    SYS_process_vm_readv,
    SYS_process_vm_writev,
    SYS_unshare,
    SYS_clone,
    SYS_clone3,
    SYS_ioctl,
    SYS_socket,
    SYS_link,
    SYS_linkat,
    SYS_symlink,
    SYS_symlinkat,
    SYS_mknod,
    SYS_mknodat,
    SYS_chmod,
    SYS_fchmod,
    SYS_fchmodat,
    SYS_chown,
    SYS_fchown,
    SYS_fchownat,
    SYS_lchown,
    SYS_setuid,
    SYS_setgid,
    SYS_setreuid,
    SYS_setregid,
    SYS_setresuid,
    SYS_setresgid,
    SYS_setgroups,
    SYS_sethostname,
    SYS_setdomainname,
    SYS_kill,
    SYS_tkill,
    SYS_tgkill,
    SYS_fork,
    SYS_vfork,
    SYS_execve,
    SYS_execveat,
    SYS_connect,
    SYS_bind,
    SYS_listen,
    SYS_accept,
    SYS_accept4,
    SYS_sendto,
    SYS_sendmsg,
    SYS_mlock,
    SYS_mlockall,
    SYS_madvise,
    SYS_mprotect,
    SYS_memfd_create,
    SYS_io_uring_setup,
    SYS_io_uring_enter,
    SYS_io_uring_register,
    SYS_fanotify_init,
    SYS_inotify_init1,
    SYS_pidfd_open,
    SYS_pidfd_getfd,
    SYS_pidfd_send_signal,
    SYS_sched_setaffinity,
    SYS_sched_setscheduler,
    SYS_setpriority,
    SYS_prctl,
    SYS_seccomp,
    SYS_landlock_create_ruleset
];

fn number(name: &str) -> Result<i64> {
    known_syscalls().find(|(n, _)| *n == name).map(|(_, nr)| nr).ok_or_else(|| {
        Error::invalid(
            ValueKind::Argument,
            name,
            "not a system call containment knows",
            "an x86-64 system call name such as ptrace or io_uring_setup",
        )
    })
}

fn arch() -> Result<TargetArch> {
    TargetArch::try_from(std::env::consts::ARCH).map_err(|_| Error::Unsupported {
        feature: "seccomp",
        reason: format!("no seccomp filter for the {} architecture", std::env::consts::ARCH),
    })
}

fn masked_eq(arg: u8, mask: u64) -> Result<SeccompRule> {
    let cond = SeccompCondition::new(arg, SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(mask), mask)
        .map_err(|e| Error::InvalidConfig(format!("seccomp rule: {e}")))?;
    SeccompRule::new(vec![cond]).map_err(|e| Error::InvalidConfig(format!("seccomp rule: {e}")))
}

fn arg_eq(arg: u8, value: u64) -> Result<SeccompRule> {
    let cond = SeccompCondition::new(arg, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, value)
        .map_err(|e| Error::InvalidConfig(format!("seccomp rule: {e}")))?;
    SeccompRule::new(vec![cond]).map_err(|e| Error::InvalidConfig(format!("seccomp rule: {e}")))
}

/// Compiles the policy into the BPF programs to install, in order (empty when
/// disabled).
///
/// # Errors
/// [`Error::InvalidValue`] for an unknown system call name;
/// [`Error::Unsupported`] on an architecture without a filter.
pub(crate) fn compile(policy: &Seccomp) -> Result<Vec<BpfProgram>> {
    if !policy.enabled {
        return Ok(Vec::new());
    }
    let arch = arch()?;
    let rules = rules(policy)?;
    let ruled: Vec<(u32, bool)> = rules.iter().map(|(nr, r)| (*nr as u32, r.is_empty())).collect();
    // seccompiler writes the rules that look at arguments; the search returns
    // EPERM itself for the numbers denied as a whole. The search runs for x86-64
    // numbers only (the prefix sends every other architecture to seccompiler's
    // rules): built for another architecture, seccompiler writes them all.
    let native_search = cfg!(target_arch = "x86_64");
    let by_args = rules.into_iter().filter(|(_, r)| !native_search || !r.is_empty()).collect();
    let by_args = SeccompFilter::new(by_args, SeccompAction::Allow, SeccompAction::Errno(libc::EPERM as u32), arch)
        .map_err(|e| Error::InvalidConfig(format!("seccomp filter: {e}")))?;
    let by_args = BpfProgram::try_from(by_args).map_err(|e| Error::InvalidConfig(format!("seccomp: {e}")))?;
    // One program, installed with one system call: the checks seccompiler cannot
    // express and the search, then seccompiler's filter.
    let mut program = prefix(!policy.allow_user_namespaces);
    if native_search {
        program.extend(search(&ruled));
    }
    link_to_rules(&mut program);
    program.extend(by_args);
    Ok(vec![program])
}

/// The policy's rules, by system call number: an empty list denies the call as a
/// whole, else it is denied when one of the rules matches its arguments.
fn rules(policy: &Seccomp) -> Result<BTreeMap<i64, Vec<SeccompRule>>> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    let mut names: Vec<&str> = DEFAULT_DENIED.to_vec();
    if !policy.allow_ptrace {
        names.extend_from_slice(PTRACE_LIKE);
    }
    names.extend(policy.extra.iter().map(String::as_str));
    for name in names {
        rules.insert(number(name)?, Vec::new());
    }
    // ioctl(fd, TIOCSTI | TIOCLINUX, ...): faking terminal input (CVE-2017-5226).
    // (A system call denied as a whole keeps its unconditional rule.)
    if let std::collections::btree_map::Entry::Vacant(e) = rules.entry(libc::SYS_ioctl) {
        e.insert(vec![arg_eq(1, libc::TIOCSTI)?, arg_eq(1, libc::TIOCLINUX)?]);
    }
    if !policy.allow_user_namespaces {
        for nr in [libc::SYS_clone, libc::SYS_unshare] {
            if let std::collections::btree_map::Entry::Vacant(e) = rules.entry(nr) {
                e.insert(vec![masked_eq(0, libc::CLONE_NEWUSER as u64)?]);
            }
        }
    }
    Ok(rules)
}

const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JA: u16 = 0x05; // BPF_JMP | BPF_JA
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K
const RET_ALLOW: u32 = 0x7fff_0000; // SECCOMP_RET_ALLOW
const RET_ERRNO: u32 = 0x0005_0000; // SECCOMP_RET_ERRNO
/// The `k` of a `JA` to the rules (seccompiler's program, after the prefix and the
/// search), until [`link_to_rules`] turns it into the offset.
const TO_RULES: u32 = u32::MAX;

fn op(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// The checks before the per-number rules, for x86-64 system calls: the x32 ABI
/// (numbers with bit 30 set, through which those rules could be sidestepped) gets
/// `ENOSYS`, and so does `clone3` when new user namespaces are refused (its flags
/// are in memory a filter cannot read; the C library then falls back to `clone`,
/// whose flags are checked); the other numbers go on to [`search`] (with the
/// number loaded). Other architectures go straight to the rules, which check the
/// architecture themselves.
fn prefix(refuse_clone3: bool) -> BpfProgram {
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    const ARCH_OFFSET: u32 = 4; // seccomp_data.arch
    const NR_OFFSET: u32 = 0; // seccomp_data.nr
    let c = u8::from(refuse_clone3);
    // Instruction 1 jumps to the last one (`other`), 4 + c further on; instruction
    // 3 to the `ENOSYS` return, 1 + c further on.
    let mut p = vec![
        op(LD_W_ABS, ARCH_OFFSET, 0, 0),
        op(JEQ_K, AUDIT_ARCH_X86_64, 0, 4 + c),
        op(LD_W_ABS, NR_OFFSET, 0, 0),
        op(JGE_K, X32_SYSCALL_BIT, 1 + c, 0),
    ];
    if refuse_clone3 {
        p.push(op(JEQ_K, libc::SYS_clone3 as u32, 1, 0));
    }
    // Not refused: over the two instructions below, to the search.
    p.push(op(JA, 2, 0, 0));
    p.push(op(RET_K, RET_ERRNO | libc::ENOSYS as u32, 0, 0));
    // `other`: another architecture.
    p.push(op(JA, TO_RULES, 0, 0));
    p
}

/// A binary search of the x86-64 system call number (loaded) among `ruled`, the
/// numbers that have rules, sorted, each with whether it is denied as a whole:
/// those get `EPERM` at once, the others go on to the rules on arguments, and
/// every other number is allowed at once.
///
/// seccompiler's program tests the numbers with rules one after the other (five
/// instructions each), so that a number without any passed about a hundred
/// instructions; when a filter is installed the kernel runs it on every number of
/// each architecture (to find those it always allows, which it then lets through
/// without running it), and it translates and compiles every instruction: that
/// cost 145 µs in each sandbox (271 instructions). The search runs over
/// intervals of numbers that get the same answer (many denied numbers are
/// neighbours: the mount calls, the key calls...): an allowed number passes at
/// most about ten instructions, and the default program has 152 instructions and
/// installs in 50 µs (medians of 200 installs each, `benches/RESULTS.md` run H).
fn search(ruled: &[(u32, bool)]) -> BpfProgram {
    tree(&intervals(ruled))
}

/// What the search answers for an interval of numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Allow,
    Deny,
    /// On to seccompiler's rules on arguments.
    Rules,
}

/// The number line cut into intervals of one answer each: `(first number,
/// answer)`, sorted, the first starting at 0, each ending where the next starts.
fn intervals(ruled: &[(u32, bool)]) -> Vec<(u32, Answer)> {
    let mut iv = vec![(0u32, Answer::Allow)];
    for &(nr, whole) in ruled {
        let answer = if whole { Answer::Deny } else { Answer::Rules };
        // The allowed interval the previous number left starts here: it is empty.
        if iv.last().is_some_and(|l| l.0 == nr) {
            iv.pop();
        }
        // A neighbour with the same answer extends its interval.
        if iv.last().map(|l| l.1) != Some(answer) {
            iv.push((nr, answer));
        }
        iv.push((nr.saturating_add(1), Answer::Allow));
    }
    iv
}

/// The search over `iv` (see [`intervals`]).
fn tree(iv: &[(u32, Answer)]) -> BpfProgram {
    match iv {
        [] | [(_, Answer::Allow)] => vec![op(RET_K, RET_ALLOW, 0, 0)],
        [(_, Answer::Deny)] => vec![op(RET_K, RET_ERRNO | libc::EPERM as u32, 0, 0)],
        [(_, Answer::Rules)] => vec![op(JA, TO_RULES, 0, 0)],
        _ => {
            let mid = iv.len() / 2;
            let (below, above) = (tree(&iv[..mid]), tree(&iv[mid..]));
            // `JGE` goes on (jf 0) below the pivot and jumps over `below` to `above`;
            // a conditional jump reaches 255 instructions, an unconditional one any.
            let mut p = match u8::try_from(below.len()) {
                Ok(jt) => vec![op(JGE_K, iv[mid].0, jt, 0)],
                Err(_) => vec![op(JGE_K, iv[mid].0, 0, 1), op(JA, below.len() as u32, 0, 0)],
            };
            p.extend(below);
            p.extend(above);
            p
        }
    }
}

/// Turns each jump to the rules in `p` into its offset: the rules start right
/// after `p`.
fn link_to_rules(p: &mut BpfProgram) {
    let end = p.len();
    for (i, ins) in p.iter_mut().enumerate() {
        if ins.code == JA && ins.k == TO_RULES {
            ins.k = (end - i - 1) as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_name_is_known() {
        for n in DEFAULT_DENIED.iter().chain(PTRACE_LIKE) {
            assert!(number(n).is_ok(), "{n}");
        }
        assert_eq!(number("ptrace").unwrap(), libc::SYS_ptrace);
    }

    #[test]
    fn policies_compile_to_programs() {
        assert!(compile(&Seccomp::disabled()).unwrap().is_empty());
        let p = compile(&Seccomp::default()).unwrap();
        assert_eq!(p.len(), 1, "one program, one install");
        let p = compile(&Seccomp::default().allow_user_namespaces(true).deny("io_uring_setup")).unwrap();
        assert_eq!(p.len(), 1);
        assert!(p.iter().all(|prog| !prog.is_empty() && prog.len() < 4096));
    }

    #[test]
    fn unknown_names_are_an_error() {
        match compile(&Seccomp::default().deny("frobnicate")) {
            Err(Error::InvalidValue { value, .. }) => assert_eq!(value, "frobnicate"),
            other => panic!("{other:?}"),
        }
    }
}

#[cfg(test)]
mod program_tests {
    use super::*;

    const X86_64: u32 = 0xc000_003e;
    const I386: u32 = 0x4000_0003;

    /// What a filter returns for one system call, and how many instructions it ran,
    /// as the kernel would (the instructions seccompiler and this module emit);
    /// `None` for the return when it read an argument (the kernel's install-time
    /// check then cannot call the number always allowed).
    fn eval(p: &[sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> (u32, Option<u32>, usize) {
        let (mut pc, mut acc, mut steps, mut read_arg) = (0usize, 0u32, 0usize, false);
        loop {
            let i = &p[pc];
            steps += 1;
            match i.code {
                0x20 => {
                    acc = match i.k {
                        0 => nr,
                        4 => arch,
                        off @ 16..=63 => {
                            read_arg = true;
                            let a = args[(off as usize - 16) / 8];
                            if off % 8 == 0 {
                                a as u32
                            } else {
                                (a >> 32) as u32
                            }
                        }
                        k => panic!("load of offset {k}"),
                    }
                }
                0x54 => acc &= i.k, // BPF_ALU | BPF_AND | BPF_K
                0x15 | 0x35 | 0x25 | 0x45 => {
                    let taken = match i.code {
                        0x15 => acc == i.k,
                        0x35 => acc >= i.k,
                        0x25 => acc > i.k,
                        _ => acc & i.k != 0,
                    };
                    pc += usize::from(if taken { i.jt } else { i.jf });
                }
                0x05 => pc += i.k as usize,
                0x06 => {
                    let ret = i.k;
                    return (ret, (!read_arg).then_some(ret), steps);
                }
                code => panic!("instruction {code:#x}"),
            }
            pc += 1;
        }
    }

    /// All the policy's rules in seccompiler's program alone: what the program
    /// must decide past its prefix.
    fn rules_alone(policy: &Seccomp) -> BpfProgram {
        let rules = rules(policy).unwrap();
        let f =
            SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(libc::EPERM as u32), arch().unwrap())
                .unwrap();
        BpfProgram::try_from(f).unwrap()
    }

    fn policies() -> Vec<Seccomp> {
        vec![
            Seccomp::default(),
            Seccomp::default().allow_user_namespaces(true),
            Seccomp::default().allow_ptrace(true).deny("io_uring_setup").deny("memfd_create"),
            Seccomp::default().allow_user_namespaces(true).allow_ptrace(true),
            // Nothing left for seccompiler: ioctl denied as a whole, no clone rules.
            Seccomp::default().allow_user_namespaces(true).deny("ioctl"),
            // A whole-call deny where an argument rule would be.
            Seccomp::default().deny("clone").deny("unshare"),
        ]
    }

    #[test]
    fn the_program_decides_as_its_prefix_then_seccompilers_rules() {
        let enosys = RET_ERRNO | libc::ENOSYS as u32;
        let arg_sets = [
            [0u64; 6],
            [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0],
            [libc::CLONE_NEWUSER as u64 | libc::CLONE_NEWNS as u64, 1, 2, 3, 4, 5],
            [3, libc::TIOCSTI, 0, 0, 0, 0],
            [3, libc::TIOCLINUX, 0, 0, 0, 0],
            [3, libc::TIOCSTI | 1 << 32, 0, 0, 0, 0],
            [u64::MAX; 6],
        ];
        for policy in policies() {
            let program = compile(&policy).unwrap().remove(0);
            let rules = rules_alone(&policy);
            for arch in [X86_64, I386, 0] {
                for nr in (0..1024).chain([0x4000_0000, 0x4000_0002, 0x4000_0000 + 435, u32::MAX]) {
                    for args in arg_sets {
                        let expected = match arch == X86_64 {
                            true if nr >= 0x4000_0000 => enosys,
                            true if nr == libc::SYS_clone3 as u32 && !policy.allow_user_namespaces => enosys,
                            _ => eval(&rules, arch, nr, args).0,
                        };
                        let got = eval(&program, arch, nr, args).0;
                        assert_eq!(got, expected, "{policy:?}: arch {arch:#x} nr {nr} args {args:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn numbers_without_rules_are_allowed_in_a_few_instructions() {
        for policy in policies() {
            let program = compile(&policy).unwrap().remove(0);
            let ruled: Vec<i64> = known_syscalls().map(|(_, nr)| nr).collect();
            let mut allowed = 0;
            for nr in 0..512u32 {
                let (ret, constant, steps) = eval(&program, X86_64, nr, [0; 6]);
                if ret == RET_ALLOW && constant.is_some() {
                    allowed += 1;
                    assert!(steps <= 16, "{policy:?}: nr {nr} took {steps} instructions");
                } else {
                    assert!(ruled.contains(&i64::from(nr)), "nr {nr}: {ret:#x}");
                }
            }
            assert!(allowed > 300, "{allowed}");
        }
    }

    #[test]
    fn neighbours_with_one_answer_share_an_interval() {
        let iv = intervals(&[(0, true), (1, true), (5, false), (6, false), (7, true), (9, true)]);
        use Answer::*;
        assert_eq!(iv, vec![(0, Deny), (2, Allow), (5, Rules), (7, Deny), (8, Allow), (9, Deny), (10, Allow)]);
        assert_eq!(intervals(&[]), vec![(0, Allow)]);
    }

    #[test]
    fn a_long_search_jumps_over_what_a_conditional_jump_cannot() {
        let ruled: Vec<(u32, bool)> = (0..200).map(|n| (n * 2, false)).collect();
        let mut p = vec![op(LD_W_ABS, 0, 0, 0)]; // the number, as the prefix leaves it
        p.extend(search(&ruled));
        link_to_rules(&mut p);
        assert!(p.len() > 255);
        p.push(op(RET_K, 1, 0, 0)); // stands for the rules
        for nr in 0..450 {
            let want = if nr % 2 == 0 && nr < 400 { 1 } else { RET_ALLOW };
            assert_eq!(eval(&p, X86_64, nr, [0; 6]).0, want, "nr {nr}");
        }
    }
}
