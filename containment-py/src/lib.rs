//! Python bindings of containment: the extension module `containment._containment`.
//!
//! The Python package `containment` (in `python/containment/`) re-exports what is
//! defined here and defines the exception classes, which [`errors`] raises.
//!
//! Every function extracts and checks all Python values first, then releases the
//! GIL for the parts that block (spawning, waiting, moving pipe data), in slices
//! so that signals (Ctrl-C) are handled promptly.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod command;
mod convert;
mod errors;
mod fd;
mod net;
mod outcome;
mod process;
mod pump;
mod running;
mod sandbox;
mod seccomp;
mod text;
mod userns;

use pyo3::prelude::*;

use crate::command::{CommandOpts, RunOpts, Target};
use crate::sandbox::{PySandbox, SandboxOpts};

/// Runs `args` in a new sandbox, waits for it, and returns a `CompletedProcess`.
///
/// Shaped like `subprocess.run`: `stdin`/`stdout`/`stderr` (`None` inherits),
/// `capture_output`, `input`, `check`, `text`, `env` (the whole environment;
/// default `PATH` and `HOME=/` only), `cwd` (inside). The other keywords describe
/// the sandbox, as for `Sandbox(...)`. `timeout` is enforced by the sandbox: the
/// result then has `timed_out=True` and `returncode == -9` (no exception unless
/// `check=True`). `inherit_env=True` starts from the caller's whole environment,
/// `env_remove` removes variables, `host_program=True` runs the host file
/// `args[0]` (or `executable`) whatever the sandbox's root holds.
#[pyfunction]
#[pyo3(signature = (
    args, *, stdin=None, stdout=None, stderr=None, input=None, capture_output=false, check=false,
    text=false, encoding=None, errors=None, env=None, inherit_env=false, env_remove=None, cwd=None,
    executable=None, host_program=false,
    chroot=None, overlay=None, readonly_root=None, private_tmp=None, binds=None, ro_binds=None,
    tmpfs=None, memory=None, cpus=None, pids=None, cpu_quota=None, cpu_weight=None, net=None,
    hostname=None, user=None, groups=None, timeout=None, rlimits=None, capabilities=None,
    seccomp=None, sysfs=None, cgroup_parent=None, user_namespace=None, idmap_binds=None
))]
#[allow(clippy::too_many_arguments)]
fn run<'py>(
    py: Python<'py>,
    args: Bound<'py, PyAny>,
    stdin: Option<Bound<'py, PyAny>>,
    stdout: Option<Bound<'py, PyAny>>,
    stderr: Option<Bound<'py, PyAny>>,
    input: Option<Bound<'py, PyAny>>,
    capture_output: bool,
    check: bool,
    text: bool,
    encoding: Option<Bound<'py, PyAny>>,
    errors: Option<Bound<'py, PyAny>>,
    env: Option<Bound<'py, PyAny>>,
    inherit_env: bool,
    env_remove: Option<Bound<'py, PyAny>>,
    cwd: Option<Bound<'py, PyAny>>,
    executable: Option<Bound<'py, PyAny>>,
    host_program: bool,
    chroot: Option<Bound<'py, PyAny>>,
    overlay: Option<Bound<'py, PyAny>>,
    readonly_root: Option<Bound<'py, PyAny>>,
    private_tmp: Option<Bound<'py, PyAny>>,
    binds: Option<Bound<'py, PyAny>>,
    ro_binds: Option<Bound<'py, PyAny>>,
    tmpfs: Option<Bound<'py, PyAny>>,
    memory: Option<Bound<'py, PyAny>>,
    cpus: Option<Bound<'py, PyAny>>,
    pids: Option<Bound<'py, PyAny>>,
    cpu_quota: Option<Bound<'py, PyAny>>,
    cpu_weight: Option<Bound<'py, PyAny>>,
    net: Option<Bound<'py, PyAny>>,
    hostname: Option<Bound<'py, PyAny>>,
    user: Option<Bound<'py, PyAny>>,
    groups: Option<Bound<'py, PyAny>>,
    timeout: Option<Bound<'py, PyAny>>,
    rlimits: Option<Bound<'py, PyAny>>,
    capabilities: Option<Bound<'py, PyAny>>,
    seccomp: Option<Bound<'py, PyAny>>,
    sysfs: Option<Bound<'py, PyAny>>,
    cgroup_parent: Option<Bound<'py, PyAny>>,
    user_namespace: Option<Bound<'py, PyAny>>,
    idmap_binds: Option<Bound<'py, PyAny>>,
) -> PyResult<outcome::CompletedProcess> {
    let opts = SandboxOpts {
        chroot,
        overlay,
        readonly_root,
        private_tmp,
        binds,
        ro_binds,
        tmpfs,
        memory,
        cpus,
        pids,
        cpu_quota,
        cpu_weight,
        net,
        hostname,
        user,
        groups,
        timeout,
        rlimits,
        capabilities,
        seccomp,
        sysfs,
        cgroup_parent,
        user_namespace,
        idmap_binds,
    };
    let sb = opts.build(py)?;
    let cmd = CommandOpts {
        args,
        env,
        cwd,
        executable,
        stdin,
        stdout,
        stderr,
        text,
        encoding,
        errors,
        inherit_env,
        env_remove,
        host_program,
    };
    command::run(py, &Target::New(&sb.inner), cmd, RunOpts { input, capture_output, check }, None)
}

#[pymodule]
fn _containment(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("PIPE", convert::PIPE)?;
    m.add("STDOUT", convert::STDOUT)?;
    m.add("DEVNULL", convert::DEVNULL)?;
    m.add("INHERIT", convert::INHERIT)?;
    m.add("DEFAULT_PATH", containment::DEFAULT_PATH)?;
    m.add("DEFAULT_RANGE_SIZE", containment::DEFAULT_RANGE_SIZE)?;
    m.add("RANGE_BASE", containment::RANGE_BASE)?;
    m.add_class::<PySandbox>()?;
    m.add_class::<running::PyRunning>()?;
    m.add_class::<running::RunningInfo>()?;
    m.add_class::<seccomp::PySeccomp>()?;
    m.add_class::<userns::IdMaps>()?;
    m.add_class::<net::Bridge>()?;
    m.add_class::<process::Process>()?;
    m.add_class::<outcome::CompletedProcess>()?;
    m.add_class::<outcome::Usage>()?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(running::list_running, m)?)?;
    m.add_function(wrap_pyfunction!(running::gc, m)?)?;
    m.add_function(wrap_pyfunction!(net::release_kept_namespaces, m)?)?;
    m.add("MAX_KEPT_NAMESPACES", containment::MAX_KEPT_NAMESPACES)?;
    Ok(())
}
