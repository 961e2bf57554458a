//! The committed `include/containment.h` is exactly what cbindgen generates from
//! this crate (with `cbindgen.toml`, plus the version macros made here from the
//! crate version). Any difference fails the test.
//!
//! To regenerate the header after changing the API:
//!
//! ```sh
//! CONTAINMENT_BLESS=1 cargo test -p containment-ffi --test header
//! ```

use std::fs;
use std::path::{Path, PathBuf};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn committed_path() -> PathBuf {
    crate_dir().join("../include/containment.h")
}

/// The version macros, from the crate version.
fn version_macros() -> String {
    format!(
        "\n/* The version of this header; containment_version() gives the library's. */\n\
         #define CONTAINMENT_VERSION_MAJOR {}\n\
         #define CONTAINMENT_VERSION_MINOR {}\n\
         #define CONTAINMENT_VERSION_PATCH {}\n\
         #define CONTAINMENT_VERSION \"{}\"",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION"),
    )
}

/// The header as cbindgen generates it now.
fn generate() -> String {
    let dir = crate_dir();
    let mut config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    config.after_includes = Some(version_macros());
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

/// The first line where `a` and `b` differ, for the failure message.
fn first_difference(a: &str, b: &str) -> String {
    let (mut la, mut lb) = (a.lines(), b.lines());
    for n in 1.. {
        match (la.next(), lb.next()) {
            (None, None) => return "they differ only in line endings".to_owned(),
            (x, y) if x == y => continue,
            (x, y) => return format!("line {n}:\n  committed: {x:?}\n  generated: {y:?}"),
        }
    }
    unreachable!()
}

#[test]
fn committed_header_is_what_cbindgen_generates() {
    let generated = generate();
    let path = committed_path();
    if std::env::var_os("CONTAINMENT_BLESS").is_some_and(|v| v == "1") {
        fs::write(&path, &generated).expect("write include/containment.h");
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is not what cbindgen generates from containment-ffi; first difference at {}\n\
         Regenerate it with: CONTAINMENT_BLESS=1 cargo test -p containment-ffi --test header",
        path.display(),
        first_difference(&committed, &generated)
    );
}

/// `h` without its comments.
fn strip_comments(h: &str) -> String {
    let mut out = String::new();
    let mut rest = h;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        rest = rest[i..].find("*/").map_or("", |j| &rest[i + j + 2..]);
    }
    out.push_str(rest);
    out.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

#[test]
fn header_declares_the_whole_api_with_its_prefix() {
    let h = generate();
    // Every function carries the prefix.
    for line in strip_comments(&h).lines().filter(|l| !l.trim_start().starts_with('#')) {
        if let Some((before, _)) = line.split_once('(') {
            let name = before.split_whitespace().last().unwrap_or("").trim_start_matches('*');
            assert!(name.starts_with("containment_"), "unprefixed function {name:?} in: {line}");
        }
    }
    for needed in [
        "containment_version(void)",
        "#define CONTAINMENT_VERSION_MAJOR",
        "#define CONTAINMENT_VERSION \"",
        "CONTAINMENT_OK = 0",
        "containment_sandbox_new(void)",
        "containment_status_str(",
        "typedef struct containment_outcome",
        "#define CONTAINMENT_STDIO_PIPED",
        "#define CONTAINMENT_RLIMIT_NOFILE",
    ] {
        assert!(h.contains(needed), "the header lacks {needed:?}");
    }
}

#[test]
fn every_type_documents_ownership_and_thread_safety() {
    let h = generate();
    let lines: Vec<&str> = h.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if !line.starts_with("typedef ") {
            continue;
        }
        // The doc comment just above the typedef.
        let doc: Vec<&str> =
            lines[..i].iter().rev().take_while(|l| l.starts_with(" *") || l.starts_with("/**")).copied().collect();
        let doc = doc.join(" ").to_lowercase();
        assert!(doc.contains("ownership"), "{line}: its documentation does not say who owns it");
        assert!(doc.contains("thread safety"), "{line}: its documentation does not speak of thread safety");
    }
}

#[test]
fn every_exported_function_has_errors_documented() {
    // Each exported function documents its errors (or says it has none).
    let src_dir = crate_dir().join("src");
    for entry in fs::read_dir(&src_dir).unwrap() {
        let path = entry.unwrap().path();
        let text = fs::read_to_string(&path).unwrap();
        check_errors_documented(&path, &text);
    }
}

fn check_errors_documented(path: &Path, text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if !(line.starts_with("pub unsafe extern \"C\" fn") || line.starts_with("pub extern \"C\" fn")) {
            continue;
        }
        // The signature ends at the line with `{`.
        let doc: Vec<&str> =
            lines[..i].iter().rev().take_while(|l| l.starts_with("///") || l.starts_with("#[")).copied().collect();
        assert!(doc.iter().any(|l| l.contains("Errors:")), "{}: {} has no \"Errors:\" paragraph", path.display(), line);
    }
}
