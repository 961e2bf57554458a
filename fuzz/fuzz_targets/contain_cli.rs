//! The `contain` example's command line (`examples/contain/cli.rs`) on arbitrary
//! arguments (the input split at NUL bytes; a first word `start`, `exec`, `stop`
//! or `list` picks that form, as in `main`): never panics; a refusal says why; an
//! accepted line keeps only options of its form, has the words and program its
//! form takes, and parses back to itself when written out again as
//! `WORDS --opt=VALUE... -- PROGRAM ARGS`; the sandbox and command it describes
//! are built or refused with the option named.
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../examples/contain/cli.rs"]
mod cli;

use cli::{build, parse_args, usage, Line, Opts, Parsed, TakesProgram, Verb, EXIT_SETUP, OPTIONS};

/// `parse_args` of `args` for `verb`, with the options it kept.
fn parse(verb: Verb, args: Vec<OsString>) -> (Result<Parsed, String>, Opts) {
    let mut opts = Opts::new();
    let parsed = parse_args(verb, args, &mut opts);
    (parsed, opts)
}

/// `line` and `opts` written out as a command line that says the same.
fn written(line: &Line, opts: &Opts) -> Vec<OsString> {
    let mut args = line.words.clone();
    for (opt, value) in opts {
        let mut arg = format!("--{}", opt.name).into_bytes();
        if opt.value.is_some() {
            arg.push(b'=');
            arg.extend_from_slice(value.as_bytes());
        }
        args.push(OsString::from_vec(arg));
    }
    if let Some((program, rest)) = &line.program {
        args.push("--".into());
        args.push(program.clone());
        args.extend(rest.iter().cloned());
    }
    args
}

fn same(a: &Opts, b: &Opts) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|((o, v), (p, w))| o.name == p.name && v == w)
}

fuzz_target!(|data: &[u8]| {
    let mut args: Vec<OsString> = data.split(|&b| b == 0).map(|a| OsString::from_vec(a.to_vec())).collect();
    if data.is_empty() {
        args.clear();
    }
    let verb = args.first().and_then(|a| Verb::from_word(a)).unwrap_or(Verb::Run);
    if verb != Verb::Run {
        args.remove(0);
    }
    let (parsed, opts) = parse(verb, args);
    for (opt, value) in &opts {
        assert!(OPTIONS.iter().any(|o| o.name == opt.name));
        assert!(opt.verbs & verb.bit() != 0, "--{} kept for {}", opt.name, verb.command());
        assert!(opt.value.is_some() || value.is_empty(), "--{} is a flag but kept {value:?}", opt.name);
    }
    let line = match parsed {
        Err(message) => return assert!(!message.is_empty()),
        Ok(Parsed::Help) => {
            let text = usage(verb);
            for o in OPTIONS.iter().filter(|o| o.verbs & verb.bit() != 0) {
                assert!(text.contains(&format!("--{}", o.name)), "the help of {} lacks --{}", verb.command(), o.name);
            }
            return;
        }
        Ok(Parsed::Version) => return,
        Ok(Parsed::Line(line)) => line,
    };
    assert_eq!(line.words.len(), verb.leading_words());
    match verb.takes_program() {
        TakesProgram::Required => assert!(line.program.is_some()),
        TakesProgram::No => assert!(line.program.is_none()),
        TakesProgram::Optional => {}
    }
    let (again, opts_again) = parse(verb, written(&line, &opts));
    match again {
        Ok(Parsed::Line(l)) => {
            assert_eq!((&l.words, &l.program), (&line.words, &line.program));
            assert!(same(&opts, &opts_again), "the options did not parse back");
        }
        Ok(_) => panic!("the line written out again asked for help or the version"),
        Err(e) => panic!("the line written out again was refused: {e}"),
    }
    if let (Verb::Run, Some((program, rest))) = (verb, line.program) {
        if let Err(f) = build(&opts, program, &rest) {
            assert_eq!(f.code, EXIT_SETUP);
            assert!(f.message.starts_with("--") || f.message.contains("(see contain --help)"), "{}", f.message);
        }
    }
});
