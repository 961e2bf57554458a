//! What the embedded default root and the standard mounts (`/proc`, `/dev`, `/tmp`)
//! are made of.

use std::path::Path;
use std::sync::OnceLock;

/// Host directories shown read-only in the default root (or reproduced as the same
/// symlink when they are symlinks on the host, as on merged-`/usr` systems).
pub(crate) const SYSTEM_DIRS: &[&str] = &["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/// Entries of the host's `/etc` that the default root never shows: password
/// hashes, private keys, credentials. Relative to `/etc`.
const ETC_SECRETS: &[&str] = &[
    "shadow",
    "shadow-",
    "gshadow",
    "gshadow-",
    "security/opasswd",
    "sudoers",
    "sudoers.d",
    "ssl/private",
    "krb5.keytab",
    "credstore",
    "credstore.encrypted",
    "NetworkManager/system-connections",
    "wpa_supplicant",
    "wireguard",
    "ipsec.secrets",
    "libvirt/secrets",
];

/// Device nodes bound from the host into the sandbox's `/dev`.
pub(crate) const DEV_NODES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// Symlinks in the sandbox's `/dev`: (name, target).
pub(crate) const DEV_LINKS: &[(&str, &str)] = &[
    ("ptmx", "pts/ptmx"),
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];

/// The `/etc` entries to hide, relative to `/etc`: the fixed list plus the host's
/// private ssh host keys (`ssh/ssh_host_*_key`), read once per process.
pub(crate) fn etc_secrets() -> &'static [String] {
    static LIST: OnceLock<Vec<String>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut list: Vec<String> = ETC_SECRETS.iter().map(|s| s.to_string()).collect();
        if let Ok(dir) = std::fs::read_dir(Path::new("/etc/ssh")) {
            for entry in dir.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with("ssh_host_") && name.ends_with("_key") {
                    list.push(format!("ssh/{name}"));
                }
            }
        }
        list.sort();
        list
    })
}

/// Parts of `/proc` made read-only: the kernel's tunables and triggers.
pub(crate) const PROC_READONLY: &[&str] = &["sys", "sysrq-trigger", "irq", "bus", "fs"];

/// Parts of `/proc` hidden (a file under `/dev/null`, a directory under an empty
/// read-only tmpfs): kernel memory, keys, timers and hardware details.
pub(crate) const PROC_MASKED: &[&str] = &[
    "kcore",
    "keys",
    "key-users",
    "timer_list",
    "timer_stats",
    "sched_debug",
    "latency_stats",
    "acpi",
    "asound",
    "scsi",
];
