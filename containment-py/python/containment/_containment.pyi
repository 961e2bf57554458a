"""Type stubs of the extension module (re-exported by ``containment``)."""

import builtins
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from ipaddress import IPv4Address, IPv4Interface
from types import GenericAlias, TracebackType
from typing import IO, Any, AnyStr, Generic, Literal, Protocol, TypeVar, final, overload

from typing_extensions import Self, TypeAlias

_T = TypeVar("_T")

__version__: str
__all__ = [
    "Bridge",
    "CompletedProcess",
    "DEFAULT_PATH",
    "DEFAULT_RANGE_SIZE",
    "DEVNULL",
    "INHERIT",
    "IdMaps",
    "MAX_KEPT_NAMESPACES",
    "PIPE",
    "Process",
    "RANGE_BASE",
    "Running",
    "RunningInfo",
    "STDOUT",
    "Sandbox",
    "Seccomp",
    "Usage",
    "__version__",
    "gc",
    "list",
    "release_kept_namespaces",
    "run",
]

PIPE: int
STDOUT: int
DEVNULL: int
INHERIT: int
DEFAULT_PATH: str
DEFAULT_RANGE_SIZE: int
"""Host ids per sandbox of ``user_namespace="auto"`` (and ``"range"``) for a root caller."""
RANGE_BASE: int
"""The first host id of the exclusive ranges (``1 << 30``)."""
MAX_KEPT_NAMESPACES: int
"""How many network namespaces a process keeps for reuse at most (``Bridge(reuse=True)``,
``net="none-reused"``)."""

class _HasFileno(Protocol):
    def fileno(self) -> int: ...

_StrOrBytesPath: TypeAlias = str | bytes | os.PathLike[str] | os.PathLike[bytes]
"""A path: ``str``, ``bytes`` (kept byte-exact) or ``os.PathLike``."""
_Args: TypeAlias = _StrOrBytesPath | Sequence[_StrOrBytesPath]
_Size: TypeAlias = str | int
"""``"128M"``, ``"1G"``, ``"64KiB"`` (powers of 1024), or a number of bytes."""
_CpuSpec: TypeAlias = str | int | Iterable[int]
"""``"0-2,7"``, one CPU number, or CPU numbers."""
_Seconds: TypeAlias = float | timedelta
_StdioSpec: TypeAlias = int | _HasFileno | None
"""``PIPE``, ``DEVNULL``, ``INHERIT``, ``STDOUT`` (stderr only), a descriptor, a
file object, or ``None`` (inherit)."""
_NetSpec: TypeAlias = Literal["none", "none-reused", "host"] | Bridge | None
_Binds: TypeAlias = (
    Mapping[_StrOrBytesPath, _StrOrBytesPath] | Iterable[_StrOrBytesPath | tuple[_StrOrBytesPath, _StrOrBytesPath]]
)
"""``{src: dst}``, or ``(src, dst)`` pairs, ``"SRC:DST"`` strings, single paths."""
_Tmpfs: TypeAlias = Mapping[_StrOrBytesPath, _Size | None] | Iterable[_StrOrBytesPath | tuple[_StrOrBytesPath, _Size | None]]
"""``{dst: size}``, or ``(dst, size)`` pairs, ``"DST:SIZE"`` strings, single paths."""
_RlimitValue: TypeAlias = int | str | None
_Rlimits: TypeAlias = Mapping[str, _RlimitValue | tuple[_RlimitValue, _RlimitValue]]
"""``{"nofile": 64, "as": "512M", "core": (0, 0), "cpu": "unlimited"}``."""
_Env: TypeAlias = Mapping[str, _StrOrBytesPath] | Mapping[bytes, _StrOrBytesPath]
_Overlay: TypeAlias = _StrOrBytesPath | tuple[_StrOrBytesPath, _StrOrBytesPath]
"""A template directory, or ``(template, upper_dir)`` to keep the changes."""
_Address: TypeAlias = str | IPv4Interface
_User: TypeAlias = int | tuple[int, int]
_IdMapItem: TypeAlias = tuple[int, int, int] | Sequence[int] | str
"""``(inside, outside, count)`` or ``"INSIDE:OUTSIDE:COUNT"``."""
_UserNamespace: TypeAlias = Literal["auto", "off", "own", "range"] | tuple[Literal["range"], int] | IdMaps
"""``"auto"`` (the default), ``"off"``, ``"own"``, ``"range"``, ``("range", size)`` or ``IdMaps``."""
_SeccompSpec: TypeAlias = bool | Seccomp
"""``True`` (the default filter), ``False`` (none), or ``Seccomp(...)`` (the default filter with changes)."""
_EnvRemove: TypeAlias = Iterable[str | bytes]

@final
class Usage:
    """What a sandbox used."""

    def __new__(cls, wall: float = 0.0, user: float = 0.0, system: float = 0.0, peak_memory: int | None = None) -> Self: ...
    @property
    def wall(self) -> float:
        """_Seconds from spawn to the end of the sandbox."""
    @property
    def user(self) -> float:
        """CPU seconds in user mode."""
    @property
    def system(self) -> float:
        """CPU seconds in kernel mode."""
    @property
    def peak_memory(self) -> int | None:
        """Peak memory in bytes, if the kernel told."""
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class CompletedProcess(Generic[_T]):
    """The result of ``run()``: like ``subprocess.CompletedProcess``, plus
    ``oom_killed``, ``timed_out`` and ``usage``."""

    def __new__(
        cls,
        args: Any,
        returncode: int,
        stdout: _T | None = None,
        stderr: _T | None = None,
        *,
        oom_killed: bool = False,
        timed_out: bool = False,
        usage: Usage | None = None,
    ) -> CompletedProcess[_T]: ...
    @property
    def args(self) -> Any: ...
    @property
    def returncode(self) -> int:
        """The exit code, or minus the number of the signal that killed the program."""
    @property
    def stdout(self) -> _T:
        """Captured standard output (``bytes``, or ``str`` in text mode); None if not captured."""
    @property
    def stderr(self) -> _T:
        """Captured standard error; None if not captured."""
    @property
    def oom_killed(self) -> bool:
        """Whether the kernel's OOM killer killed a process of the sandbox."""
    @property
    def timed_out(self) -> bool:
        """Whether the sandbox's timeout killed it."""
    @property
    def usage(self) -> Usage: ...
    def check_returncode(self) -> None:
        """Raises ``CalledProcessError`` if ``returncode`` is not 0."""
    def __class_getitem__(cls, item: Any) -> GenericAlias: ...

@final
class Process(Generic[AnyStr]):
    """A running sandbox, like ``subprocess.Popen``. As a context manager it
    closes the pipes, kills the sandbox and reaps it on exit."""

    @property
    def args(self) -> Any: ...
    @property
    def pid(self) -> int:
        """The host pid of the sandbox's init (for a program run in a running
        sandbox: of the process that relays to it)."""
    @property
    def stdin(self) -> IO[AnyStr] | None: ...
    @property
    def stdout(self) -> IO[AnyStr] | None: ...
    @property
    def stderr(self) -> IO[AnyStr] | None: ...
    @property
    def returncode(self) -> int | None: ...
    @property
    def oom_killed(self) -> bool: ...
    @property
    def timed_out(self) -> bool: ...
    @property
    def usage(self) -> Usage | None: ...
    def wait(self, timeout: _Seconds | None = None) -> int:
        """Waits for the end; raises ``TimeoutExpired`` after ``timeout`` seconds."""
    def poll(self) -> int | None: ...
    def send_signal(self, sig: int) -> None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...
    def communicate(self, input: AnyStr | None = None, timeout: _Seconds | None = None) -> tuple[Any, Any]: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self, *_exc: type[BaseException] | BaseException | TracebackType | None
    ) -> bool: ...
    def __class_getitem__(cls, item: Any) -> GenericAlias: ...

@final
class Bridge:
    """``eth0`` with ``address`` on a veth whose host end joins the bridge ``name``."""

    def __new__(
        cls,
        name: str,
        address: _Address,
        *,
        gateway: str | IPv4Address | None = None,
        mtu: int | None = None,
        mac: str | None = None,
        create: bool | _Address | None = None,
        reuse: bool = False,
    ) -> Self: ...
    @property
    def name(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def gateway(self) -> str | None: ...
    @property
    def mtu(self) -> int | None: ...
    @property
    def mac(self) -> str | None: ...
    @property
    def create(self) -> str | None: ...
    @property
    def reuse(self) -> bool: ...

@final
class Sandbox:
    """A reusable description of a sandbox; every method returns a new one."""

    def __new__(
        cls,
        *,
        chroot: _StrOrBytesPath | None = None,
        overlay: _Overlay | None = None,
        readonly_root: bool | None = None,
        private_tmp: bool | None = None,
        binds: _Binds | None = None,
        ro_binds: _Binds | None = None,
        tmpfs: _Tmpfs | None = None,
        memory: _Size | None = None,
        cpus: _CpuSpec | None = None,
        pids: int | None = None,
        cpu_quota: float | None = None,
        cpu_weight: int | None = None,
        net: _NetSpec = None,
        hostname: str | bytes | None = None,
        user: _User | None = None,
        groups: Iterable[int] | None = None,
        timeout: _Seconds | None = None,
        rlimits: _Rlimits | None = None,
        capabilities: Iterable[str] | None = None,
        seccomp: _SeccompSpec | None = None,
        sysfs: bool | None = None,
        cgroup_parent: _StrOrBytesPath | None = None,
        user_namespace: _UserNamespace | None = None,
        idmap_binds: bool | None = None,
    ) -> Self: ...
    def chroot(self, dir: _StrOrBytesPath) -> Sandbox: ...
    def overlay(self, template: _StrOrBytesPath, upper: _StrOrBytesPath | None = None) -> Sandbox: ...
    def readonly_root(self, readonly: bool = True) -> Sandbox: ...
    def private_tmp(self, enabled: bool = True) -> Sandbox: ...
    def bind(self, src: _StrOrBytesPath, dst: _StrOrBytesPath | None = None) -> Sandbox: ...
    def bind_ro(self, src: _StrOrBytesPath, dst: _StrOrBytesPath | None = None) -> Sandbox: ...
    def tmpfs(self, dst: _StrOrBytesPath, size: _Size | None = None) -> Sandbox: ...
    def memory(self, limit: _Size) -> Sandbox: ...
    def cpus(self, cpus: _CpuSpec) -> Sandbox: ...
    def pids(self, max: int) -> Sandbox: ...
    def cpu_quota(self, cpus: float) -> Sandbox: ...
    def cpu_weight(self, weight: int) -> Sandbox: ...
    def net(self, net: _NetSpec) -> Sandbox: ...
    def hostname(self, name: str | bytes) -> Sandbox: ...
    def user(self, uid: int, gid: int | None = None) -> Sandbox: ...
    def groups(self, groups: Iterable[int]) -> Sandbox: ...
    def timeout(self, seconds: _Seconds) -> Sandbox: ...
    def rlimit(self, resource: str, soft: _RlimitValue, hard: _RlimitValue = None) -> Sandbox: ...
    def capabilities(self, names: Iterable[str]) -> Sandbox: ...
    def seccomp(self, policy: _SeccompSpec = True) -> Sandbox: ...
    def user_namespace(self, ns: _UserNamespace) -> Sandbox: ...
    def idmap_binds(self, enabled: bool = True) -> Sandbox: ...
    def sysfs(self, enabled: bool = True) -> Sandbox: ...
    def cgroup_parent(self, path: _StrOrBytesPath) -> Sandbox: ...
    @overload
    def run(
        self,
        args: _Args,
        *,
        stdin: _StdioSpec = None,
        stdout: _StdioSpec = None,
        stderr: _StdioSpec = None,
        input: str | None = None,
        capture_output: bool = False,
        check: bool = False,
        text: Literal[True],
        encoding: str | None = None,
        errors: str | None = None,
        env: _Env | None = None,
        inherit_env: bool = False,
        env_remove: _EnvRemove | None = None,
        cwd: _StrOrBytesPath | None = None,
        executable: _StrOrBytesPath | None = None,
        host_program: bool = False,
        timeout: _Seconds | None = None,
    ) -> CompletedProcess[str]: ...
    @overload
    def run(
        self,
        args: _Args,
        *,
        stdin: _StdioSpec = None,
        stdout: _StdioSpec = None,
        stderr: _StdioSpec = None,
        input: bytes | bytearray | memoryview | None = None,
        capture_output: bool = False,
        check: bool = False,
        text: Literal[False] = False,
        encoding: None = None,
        errors: None = None,
        env: _Env | None = None,
        inherit_env: bool = False,
        env_remove: _EnvRemove | None = None,
        cwd: _StrOrBytesPath | None = None,
        executable: _StrOrBytesPath | None = None,
        host_program: bool = False,
        timeout: _Seconds | None = None,
    ) -> CompletedProcess[bytes]: ...
    @overload
    def run(
        self,
        args: _Args,
        *,
        stdin: _StdioSpec = None,
        stdout: _StdioSpec = None,
        stderr: _StdioSpec = None,
        input: str | bytes | bytearray | memoryview | None = None,
        capture_output: bool = False,
        check: bool = False,
        text: bool = False,
        encoding: str | None = None,
        errors: str | None = None,
        env: _Env | None = None,
        inherit_env: bool = False,
        env_remove: _EnvRemove | None = None,
        cwd: _StrOrBytesPath | None = None,
        executable: _StrOrBytesPath | None = None,
        host_program: bool = False,
        timeout: _Seconds | None = None,
    ) -> CompletedProcess[Any]: ...
    @overload
    def spawn(
        self,
        args: _Args,
        *,
        stdin: _StdioSpec = None,
        stdout: _StdioSpec = None,
        stderr: _StdioSpec = None,
        text: Literal[True],
        encoding: str | None = None,
        errors: str | None = None,
        env: _Env | None = None,
        inherit_env: bool = False,
        env_remove: _EnvRemove | None = None,
        cwd: _StrOrBytesPath | None = None,
        executable: _StrOrBytesPath | None = None,
        host_program: bool = False,
    ) -> Process[str]: ...
    @overload
    def spawn(
        self,
        args: _Args,
        *,
        stdin: _StdioSpec = None,
        stdout: _StdioSpec = None,
        stderr: _StdioSpec = None,
        text: Literal[False] = False,
        encoding: None = None,
        errors: None = None,
        env: _Env | None = None,
        inherit_env: bool = False,
        env_remove: _EnvRemove | None = None,
        cwd: _StrOrBytesPath | None = None,
        executable: _StrOrBytesPath | None = None,
        host_program: bool = False,
    ) -> Process[bytes]: ...
    @overload
    def spawn(
        self,
        args: _Args,
        *,
        stdin: _StdioSpec = None,
        stdout: _StdioSpec = None,
        stderr: _StdioSpec = None,
        text: bool = False,
        encoding: str | None = None,
        errors: str | None = None,
        env: _Env | None = None,
        inherit_env: bool = False,
        env_remove: _EnvRemove | None = None,
        cwd: _StrOrBytesPath | None = None,
        executable: _StrOrBytesPath | None = None,
        host_program: bool = False,
    ) -> Process[Any]: ...

    @overload
    def start(
        self,
        args: _Args,
        *,
        name: str | None = None,
        persistent: bool = False,
        stdin: _StdioSpec = None,
        stdout: _StdioSpec = None,
        stderr: _StdioSpec = None,
        text: Literal[True],
        encoding: str | None = None,
        errors: str | None = None,
        env: _Env | None = None,
        inherit_env: bool = False,
        env_remove: _EnvRemove | None = None,
        cwd: _StrOrBytesPath | None = None,
        executable: _StrOrBytesPath | None = None,
        host_program: bool = False,
    ) -> Running[str]:
        """Starts a sandbox that stays up (see ``Running``): with ``args``, with
        that main program (the sandbox ends when it does); without, with none.
        ``name`` makes it findable (``Running.open``, ``list()``);
        ``persistent=True`` (with a name) lets it outlive this process once
        detached."""
    @overload
    def start(
        self,
        args: _Args | None = None,
        *,
        name: str | None = None,
        persistent: bool = False,
        stdin: _StdioSpec = None,
        stdout: _StdioSpec = None,
        stderr: _StdioSpec = None,
        text: Literal[False] = False,
        encoding: None = None,
        errors: None = None,
        env: _Env | None = None,
        inherit_env: bool = False,
        env_remove: _EnvRemove | None = None,
        cwd: _StrOrBytesPath | None = None,
        executable: _StrOrBytesPath | None = None,
        host_program: bool = False,
    ) -> Running[bytes]: ...
    @overload
    def start(
        self,
        args: _Args | None = None,
        *,
        name: str | None = None,
        persistent: bool = False,
        stdin: _StdioSpec = None,
        stdout: _StdioSpec = None,
        stderr: _StdioSpec = None,
        text: bool = False,
        encoding: str | None = None,
        errors: str | None = None,
        env: _Env | None = None,
        inherit_env: bool = False,
        env_remove: _EnvRemove | None = None,
        cwd: _StrOrBytesPath | None = None,
        executable: _StrOrBytesPath | None = None,
        host_program: bool = False,
    ) -> Running[Any]: ...

@final
class Running(Generic[AnyStr]):
    """A sandbox that is up, from ``Sandbox.start()`` or ``Running.open()``:
    run programs in it (``spawn``, ``run``: its namespaces, root, cgroups,
    limits and security profile), wait for its main program, stop it. As a
    context manager it stops the sandbox on exit (``stop()``) unless it was
    detached, and closes the main program's pipes. Dropping a handle of a
    sandbox this process started kills it (unless detached)."""

    @staticmethod
    def open(name: str) -> Running[bytes]:
        """The running sandbox named ``name``, which any process may have
        started. Dropping this handle leaves the sandbox running."""
    @property
    def args(self) -> Any:
        """The main program's arguments, or ``None``."""
    @property
    def pid(self) -> int:
        """The host pid of the sandbox's init."""
    @property
    def name(self) -> str | None: ...
    @property
    def is_persistent(self) -> bool:
        """Whether it outlives its starter once detached (``False`` for a
        handle from ``open()``: the core does not record it)."""
    @property
    def stdin(self) -> IO[AnyStr] | None:
        """The main program's standard input, if ``stdin=PIPE``."""
    @property
    def stdout(self) -> IO[AnyStr] | None: ...
    @property
    def stderr(self) -> IO[AnyStr] | None: ...
    @property
    def returncode(self) -> int | None:
        """The main program's return code once known, else ``None``."""
    @overload
    def run(
        self,
        args: _Args,
        *,
        stdin: _StdioSpec = None,
        stdout: _StdioSpec = None,
        stderr: _StdioSpec = None,
        input: str | None = None,
        capture_output: bool = False,
        check: bool = False,
        text: Literal[True],
        encoding: str | None = None,
        errors: str | None = None,
        env: _Env | None = None,
        inherit_env: bool = False,
        env_remove: _EnvRemove | None = None,
        cwd: _StrOrBytesPath | None = None,
        executable: _StrOrBytesPath | None = None,
        timeout: _Seconds | None = None,
    ) -> CompletedProcess[str]:
        """Runs ``args`` in the sandbox and waits; ``timeout`` kills the program
        (not the sandbox): ``timed_out=True``, ``returncode == -9``."""
    @overload
    def run(
        self,
        args: _Args,
        *,
        stdin: _StdioSpec = None,
        stdout: _StdioSpec = None,
        stderr: _StdioSpec = None,
        input: bytes | bytearray | memoryview | None = None,
        capture_output: bool = False,
        check: bool = False,
        text: Literal[False] = False,
        encoding: None = None,
        errors: None = None,
        env: _Env | None = None,
        inherit_env: bool = False,
        env_remove: _EnvRemove | None = None,
        cwd: _StrOrBytesPath | None = None,
        executable: _StrOrBytesPath | None = None,
        timeout: _Seconds | None = None,
    ) -> CompletedProcess[bytes]: ...
    @overload
    def run(
        self,
        args: _Args,
        *,
        stdin: _StdioSpec = None,
        stdout: _StdioSpec = None,
        stderr: _StdioSpec = None,
        input: str | bytes | bytearray | memoryview | None = None,
        capture_output: bool = False,
        check: bool = False,
        text: bool = False,
        encoding: str | None = None,
        errors: str | None = None,
        env: _Env | None = None,
        inherit_env: bool = False,
        env_remove: _EnvRemove | None = None,
        cwd: _StrOrBytesPath | None = None,
        executable: _StrOrBytesPath | None = None,
        timeout: _Seconds | None = None,
    ) -> CompletedProcess[Any]: ...
    @overload
    def spawn(
        self,
        args: _Args,
        *,
        stdin: _StdioSpec = None,
        stdout: _StdioSpec = None,
        stderr: _StdioSpec = None,
        text: Literal[True],
        encoding: str | None = None,
        errors: str | None = None,
        env: _Env | None = None,
        inherit_env: bool = False,
        env_remove: _EnvRemove | None = None,
        cwd: _StrOrBytesPath | None = None,
        executable: _StrOrBytesPath | None = None,
    ) -> Process[str]: ...
    @overload
    def spawn(
        self,
        args: _Args,
        *,
        stdin: _StdioSpec = None,
        stdout: _StdioSpec = None,
        stderr: _StdioSpec = None,
        text: Literal[False] = False,
        encoding: None = None,
        errors: None = None,
        env: _Env | None = None,
        inherit_env: bool = False,
        env_remove: _EnvRemove | None = None,
        cwd: _StrOrBytesPath | None = None,
        executable: _StrOrBytesPath | None = None,
    ) -> Process[bytes]: ...
    @overload
    def spawn(
        self,
        args: _Args,
        *,
        stdin: _StdioSpec = None,
        stdout: _StdioSpec = None,
        stderr: _StdioSpec = None,
        text: bool = False,
        encoding: str | None = None,
        errors: str | None = None,
        env: _Env | None = None,
        inherit_env: bool = False,
        env_remove: _EnvRemove | None = None,
        cwd: _StrOrBytesPath | None = None,
        executable: _StrOrBytesPath | None = None,
    ) -> Process[Any]: ...
    def wait(self, timeout: _Seconds | None = None) -> CompletedProcess[None]:
        """Waits for the main program (the sandbox ends with it); raises
        ``TimeoutExpired`` after ``timeout`` seconds, ``UnsupportedError`` for
        a handle from ``open()``."""
    def poll(self) -> int | None: ...
    def stop(self, grace: _Seconds = 10.0) -> CompletedProcess[None] | None:
        """SIGTERM to everything inside, up to ``grace`` seconds, then SIGKILL;
        removes what the sandbox held. The main program's outcome (the init's
        without one), or ``None`` for a handle from ``open()``."""
    def kill(self) -> CompletedProcess[None] | None: ...
    def detach(self) -> None:
        """Leaves a persistent sandbox running after this handle and this
        process are gone."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self, *_exc: type[BaseException] | BaseException | TracebackType | None
    ) -> bool: ...
    def __class_getitem__(cls, item: Any) -> GenericAlias: ...

@final
class RunningInfo:
    """What ``list()`` says of a running named sandbox."""

    @property
    def name(self) -> str: ...
    @property
    def pid(self) -> int: ...
    @property
    def uptime(self) -> float:
        """Seconds since it started."""
    @property
    def limits(self) -> str:
        """Like ``"memory=64M pids=16"``; empty without limits."""
    @property
    def memory_current(self) -> int | None:
        """Bytes in use, when it has a memory limit."""

def list() -> builtins.list[RunningInfo]:
    """The named sandboxes that are running (started by any process), by name."""

def release_kept_namespaces() -> int:
    """Drops the network namespaces this process keeps for reuse
    (``Bridge(reuse=True)``, ``net="none-reused"``); returns how many there were."""

def gc(parents: Iterable[_StrOrBytesPath] | None = None) -> int:
    """Removes the cgroups left by supervisors that died, under the default
    parent and ``parents``; returns how many."""

@final
class Seccomp:
    """The default seccomp filter with changes."""

    def __new__(
        cls, *, allow_ptrace: bool = False, allow_user_namespaces: bool = False, deny: Iterable[str] | None = None
    ) -> Self: ...
    @property
    def allow_ptrace(self) -> bool: ...
    @property
    def allow_user_namespaces(self) -> bool: ...
    @property
    def deny(self) -> builtins.list[str]: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class IdMaps:
    """Explicit uid and gid maps: ``(inside, outside, count)`` ranges."""

    def __new__(cls, uid: Iterable[_IdMapItem], gid: Iterable[_IdMapItem] | None = None) -> Self: ...
    @property
    def uid(self) -> builtins.list[tuple[int, int, int]]: ...
    @property
    def gid(self) -> builtins.list[tuple[int, int, int]]: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@overload
def run(
    args: _Args,
    *,
    stdin: _StdioSpec = None,
    stdout: _StdioSpec = None,
    stderr: _StdioSpec = None,
    input: str | None = None,
    capture_output: bool = False,
    check: bool = False,
    text: Literal[True],
    encoding: str | None = None,
    errors: str | None = None,
    env: _Env | None = None,
    inherit_env: bool = False,
    env_remove: _EnvRemove | None = None,
    cwd: _StrOrBytesPath | None = None,
    executable: _StrOrBytesPath | None = None,
    host_program: bool = False,
    chroot: _StrOrBytesPath | None = None,
    overlay: _Overlay | None = None,
    readonly_root: bool | None = None,
    private_tmp: bool | None = None,
    binds: _Binds | None = None,
    ro_binds: _Binds | None = None,
    tmpfs: _Tmpfs | None = None,
    memory: _Size | None = None,
    cpus: _CpuSpec | None = None,
    pids: int | None = None,
    cpu_quota: float | None = None,
    cpu_weight: int | None = None,
    net: _NetSpec = None,
    hostname: str | bytes | None = None,
    user: _User | None = None,
    groups: Iterable[int] | None = None,
    timeout: _Seconds | None = None,
    rlimits: _Rlimits | None = None,
    capabilities: Iterable[str] | None = None,
    seccomp: _SeccompSpec | None = None,
    sysfs: bool | None = None,
    cgroup_parent: _StrOrBytesPath | None = None,
    user_namespace: _UserNamespace | None = None,
    idmap_binds: bool | None = None,
) -> CompletedProcess[str]: ...
@overload
def run(
    args: _Args,
    *,
    stdin: _StdioSpec = None,
    stdout: _StdioSpec = None,
    stderr: _StdioSpec = None,
    input: bytes | bytearray | memoryview | None = None,
    capture_output: bool = False,
    check: bool = False,
    text: Literal[False] = False,
    encoding: None = None,
    errors: None = None,
    env: _Env | None = None,
    inherit_env: bool = False,
    env_remove: _EnvRemove | None = None,
    cwd: _StrOrBytesPath | None = None,
    executable: _StrOrBytesPath | None = None,
    host_program: bool = False,
    chroot: _StrOrBytesPath | None = None,
    overlay: _Overlay | None = None,
    readonly_root: bool | None = None,
    private_tmp: bool | None = None,
    binds: _Binds | None = None,
    ro_binds: _Binds | None = None,
    tmpfs: _Tmpfs | None = None,
    memory: _Size | None = None,
    cpus: _CpuSpec | None = None,
    pids: int | None = None,
    cpu_quota: float | None = None,
    cpu_weight: int | None = None,
    net: _NetSpec = None,
    hostname: str | bytes | None = None,
    user: _User | None = None,
    groups: Iterable[int] | None = None,
    timeout: _Seconds | None = None,
    rlimits: _Rlimits | None = None,
    capabilities: Iterable[str] | None = None,
    seccomp: _SeccompSpec | None = None,
    sysfs: bool | None = None,
    cgroup_parent: _StrOrBytesPath | None = None,
    user_namespace: _UserNamespace | None = None,
    idmap_binds: bool | None = None,
) -> CompletedProcess[bytes]: ...
@overload
def run(
    args: _Args,
    *,
    stdin: _StdioSpec = None,
    stdout: _StdioSpec = None,
    stderr: _StdioSpec = None,
    input: str | bytes | bytearray | memoryview | None = None,
    capture_output: bool = False,
    check: bool = False,
    text: bool = False,
    encoding: str | None = None,
    errors: str | None = None,
    env: _Env | None = None,
    inherit_env: bool = False,
    env_remove: _EnvRemove | None = None,
    cwd: _StrOrBytesPath | None = None,
    executable: _StrOrBytesPath | None = None,
    host_program: bool = False,
    chroot: _StrOrBytesPath | None = None,
    overlay: _Overlay | None = None,
    readonly_root: bool | None = None,
    private_tmp: bool | None = None,
    binds: _Binds | None = None,
    ro_binds: _Binds | None = None,
    tmpfs: _Tmpfs | None = None,
    memory: _Size | None = None,
    cpus: _CpuSpec | None = None,
    pids: int | None = None,
    cpu_quota: float | None = None,
    cpu_weight: int | None = None,
    net: _NetSpec = None,
    hostname: str | bytes | None = None,
    user: _User | None = None,
    groups: Iterable[int] | None = None,
    timeout: _Seconds | None = None,
    rlimits: _Rlimits | None = None,
    capabilities: Iterable[str] | None = None,
    seccomp: _SeccompSpec | None = None,
    sysfs: bool | None = None,
    cgroup_parent: _StrOrBytesPath | None = None,
    user_namespace: _UserNamespace | None = None,
    idmap_binds: bool | None = None,
) -> CompletedProcess[Any]: ...
