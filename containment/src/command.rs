//! `Command`: what to run in a sandbox, shaped like `std::process::Command`.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::process::{Child, Outcome, Output};
use crate::sandbox::Sandbox;

/// The `PATH` a sandboxed program gets unless the command sets one.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What to connect a standard descriptor of the program to.
#[derive(Debug)]
pub enum Stdio {
    /// The supervisor's own descriptor.
    Inherit,
    /// `/dev/null` of the host.
    Null,
    /// A new pipe; the supervisor's end is on the [`Child`].
    Piped,
    /// This descriptor (duplicated at each spawn, so the command can be reused).
    Fd(OwnedFd),
}

impl Stdio {
    /// See [`Stdio::Inherit`].
    pub fn inherit() -> Stdio {
        Stdio::Inherit
    }
    /// See [`Stdio::Null`].
    pub fn null() -> Stdio {
        Stdio::Null
    }
    /// See [`Stdio::Piped`].
    pub fn piped() -> Stdio {
        Stdio::Piped
    }
}

impl From<OwnedFd> for Stdio {
    fn from(fd: OwnedFd) -> Stdio {
        Stdio::Fd(fd)
    }
}

impl From<std::fs::File> for Stdio {
    fn from(f: std::fs::File) -> Stdio {
        Stdio::Fd(f.into())
    }
}

/// A program to run in a sandbox, with its arguments, environment, working
/// directory and standard descriptors. Made by [`Sandbox::command`].
///
/// The environment starts as only `PATH` ([`DEFAULT_PATH`]) and `HOME=/`; nothing
/// of the supervisor's environment is passed unless asked for with
/// [`Command::env`] or [`Command::inherit_env`].
#[derive(Debug)]
pub struct Command {
    pub(crate) sandbox: Sandbox,
    pub(crate) program: OsString,
    pub(crate) arg0: Option<OsString>,
    pub(crate) args: Vec<OsString>,
    pub(crate) env: BTreeMap<OsString, Option<OsString>>,
    pub(crate) env_base: EnvBase,
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) stdin: Option<Stdio>,
    pub(crate) stdout: Option<Stdio>,
    pub(crate) stderr: Option<Stdio>,
    /// Ids this program runs as, instead of the sandbox's.
    pub(crate) user: Option<(u32, u32)>,
    /// Set when the command runs in a sandbox that is already running.
    pub(crate) target: Option<std::sync::Arc<crate::running::JoinTarget>>,
}

/// What the environment starts from, before [`Command::env`] changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EnvBase {
    /// `PATH` and `HOME` only.
    Minimal,
    /// Nothing.
    Empty,
    /// The supervisor's whole environment.
    Host,
}

impl Command {
    pub(crate) fn new(sandbox: Sandbox, program: OsString) -> Command {
        Command {
            sandbox,
            program,
            arg0: None,
            args: Vec::new(),
            env: BTreeMap::new(),
            env_base: EnvBase::Minimal,
            cwd: None,
            stdin: None,
            stdout: None,
            stderr: None,
            user: None,
            target: None,
        }
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Sets `argv[0]` (by default the program as given).
    pub fn arg0(&mut self, arg0: impl AsRef<OsStr>) -> &mut Command {
        self.arg0 = Some(arg0.as_ref().to_os_string());
        self
    }

    /// Sets an environment variable.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.env.insert(key.as_ref().to_os_string(), Some(value.as_ref().to_os_string()));
        self
    }

    /// Sets several environment variables.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (k, v) in vars {
            self.env(k, v);
        }
        self
    }

    /// Removes an environment variable (also one of the defaults).
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.env.insert(key.as_ref().to_os_string(), None);
        self
    }

    /// Starts from an empty environment: not even `PATH` and `HOME` are set.
    pub fn env_clear(&mut self) -> &mut Command {
        self.env.clear();
        self.env_base = EnvBase::Empty;
        self
    }

    /// Starts from the supervisor's whole environment (explicitly relaxing the
    /// default).
    pub fn inherit_env(&mut self) -> &mut Command {
        self.env_base = EnvBase::Host;
        self
    }

    /// Runs this program as `uid` and `gid` inside, instead of the sandbox's user
    /// (see [`Sandbox::user`](crate::Sandbox::user)); for programs run in a
    /// running sandbox in particular.
    pub fn user(&mut self, uid: u32, gid: u32) -> &mut Command {
        self.user = Some((uid, gid));
        self
    }

    /// The working directory inside the sandbox (default `/`).
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Where the program's standard input comes from (default: inherit for
    /// [`spawn`](Command::spawn) and [`status`](Command::status), null for
    /// [`output`](Command::output)).
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.stdin = Some(cfg.into());
        self
    }

    /// Where the program's standard output goes (default: inherit, or piped for
    /// [`output`](Command::output)).
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.stdout = Some(cfg.into());
        self
    }

    /// Where the program's standard error goes (default: inherit, or piped for
    /// [`output`](Command::output)).
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.stderr = Some(cfg.into());
        self
    }

    /// The sandbox this command runs in.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// The program as given.
    pub fn get_program(&self) -> &OsStr {
        &self.program
    }

    /// Starts the sandbox and the program in it, and returns once `execve`
    /// succeeded.
    ///
    /// # Errors
    /// [`Error::InvalidValue`](crate::Error::InvalidValue) and
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for bad input (nothing is
    /// created then); [`Error::ProgramNotFound`](crate::Error::ProgramNotFound) and
    /// [`Error::NotExecutable`](crate::Error::NotExecutable) when `execve` fails;
    /// [`Error::Setup`](crate::Error::Setup) with the stage, errno and path when
    /// building the sandbox fails; [`Error::Os`](crate::Error::Os) for failures in the
    /// supervisor. In every error case nothing is left behind.
    pub fn spawn(&mut self) -> Result<Child> {
        crate::spawn::spawn(self, Defaults::Spawn)
    }

    /// Starts a sandbox that stays up with this program as its main program (see
    /// [`Running`](crate::Running)): when it ends, the sandbox ends.
    ///
    /// # Errors
    /// As [`Command::spawn`].
    pub fn start(&mut self) -> Result<crate::Running> {
        crate::running::start(self, true)
    }

    /// Runs the program to its end and returns its outcome. Standard descriptors
    /// default to inherit.
    ///
    /// # Errors
    /// As [`Command::spawn`], and [`Error::Os`](crate::Error::Os) if waiting fails.
    pub fn status(&mut self) -> Result<Outcome> {
        crate::spawn::spawn(self, Defaults::Spawn)?.wait()
    }

    /// Runs the program to its end, collecting its standard output and error
    /// (piped unless set otherwise; standard input defaults to null).
    ///
    /// # Errors
    /// As [`Command::spawn`], and [`Error::Os`](crate::Error::Os) if reading or
    /// waiting fails.
    pub fn output(&mut self) -> Result<Output> {
        crate::spawn::spawn(self, Defaults::Output)?.wait_with_output()
    }
}

/// Which defaults apply to unset standard descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Defaults {
    Spawn,
    Output,
}
