//! Builds the sandbox's small init program (`init/init.c`), which the library
//! embeds and executes from a memfd: see `src/child/exec_init.rs`.
//!
//! Only on x86-64 Linux, the one architecture the program and the `clone3`
//! trampoline of `src/sys.rs` are written for; elsewhere the init stays a copy of
//! the supervisor (`cfg(containment_exec_init)` is not set).

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(containment_exec_init)");
    println!("cargo::rerun-if-changed=init/init.c");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if arch != "x86_64" || os != "linux" {
        return;
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("init");
    // The target's C compiler as the `cc` crate finds it. Only the program is
    // taken, not the flags `cc` would add for the library's objects (such as
    // `-fsanitize=address` when fuzzing): this is an executable of its own,
    // freestanding.
    let compiler = cc::Build::new()
        .cargo_metadata(false)
        .try_get_compiler()
        .unwrap_or_else(|e| panic!("no C compiler for the init program (init/init.c): {e}"));
    let mut cmd = Command::new(compiler.path());
    cmd.args([
        "-Os",
        "-static",
        "-nostdlib",
        "-ffreestanding",
        "-fno-stack-protector",
        "-fno-pie",
        "-no-pie",
        "-fno-asynchronous-unwind-tables",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-Wl,--build-id=none",
        "-s",
        "-o",
    ])
    .arg(&out)
    .arg("init/init.c");
    match cmd.status() {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{cmd:?} failed ({s}): the init program (init/init.c) needs a C compiler for the target"),
        Err(e) => panic!("cannot run {cmd:?} to build the init program (init/init.c): {e}"),
    }
    println!("cargo::rustc-cfg=containment_exec_init");
}
