//! Gives the shared library its SONAME, so that programs linked against
//! `libcontainment.so` load `libcontainment.so.0` (the ABI version) at run time.
//!
//! It also puts the symlink `libcontainment.so.0 -> libcontainment.so` next to the
//! library in `target/<profile>/`, so that a program linked in place with
//! `-L target/release -lcontainment` finds the library under its SONAME (with
//! `LD_LIBRARY_PATH` or `-Wl,-rpath`). `scripts/install-c` installs the real files.

use std::path::PathBuf;

fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libcontainment.so.0");
    println!("cargo:rerun-if-changed=build.rs");

    // OUT_DIR is <target>/<profile>/build/<package>-<hash>/out.
    let Some(out_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else { return };
    let Some(artifacts) = out_dir.ancestors().nth(3) else { return };
    if out_dir.parent().and_then(|p| p.parent()).and_then(|p| p.file_name()) != Some("build".as_ref()) {
        return;
    }
    let link = artifacts.join("libcontainment.so.0");
    if link.symlink_metadata().is_err() {
        // Best effort: a read-only target directory only loses the convenience.
        let _ = std::os::unix::fs::symlink("libcontainment.so", &link);
    }
}
