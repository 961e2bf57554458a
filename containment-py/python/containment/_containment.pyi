"""Type stubs of the extension module (re-exported by ``containment``)."""

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
    "DEVNULL",
    "INHERIT",
    "PIPE",
    "Process",
    "STDOUT",
    "Sandbox",
    "Usage",
    "__version__",
    "run",
]

PIPE: int
STDOUT: int
DEVNULL: int
INHERIT: int
DEFAULT_PATH: str

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
_NetSpec: TypeAlias = Literal["none", "host"] | Bridge | None
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
        """The host pid of the sandbox's init."""
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
        seccomp: bool | None = None,
        sysfs: bool | None = None,
        cgroup_parent: _StrOrBytesPath | None = None,
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
    def seccomp(self, enabled: bool = True) -> Sandbox: ...
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
        cwd: _StrOrBytesPath | None = None,
        executable: _StrOrBytesPath | None = None,
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
        cwd: _StrOrBytesPath | None = None,
        executable: _StrOrBytesPath | None = None,
    ) -> Process[Any]: ...

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
    cwd: _StrOrBytesPath | None = None,
    executable: _StrOrBytesPath | None = None,
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
    seccomp: bool | None = None,
    sysfs: bool | None = None,
    cgroup_parent: _StrOrBytesPath | None = None,
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
    cwd: _StrOrBytesPath | None = None,
    executable: _StrOrBytesPath | None = None,
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
    seccomp: bool | None = None,
    sysfs: bool | None = None,
    cgroup_parent: _StrOrBytesPath | None = None,
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
    cwd: _StrOrBytesPath | None = None,
    executable: _StrOrBytesPath | None = None,
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
    seccomp: bool | None = None,
    sysfs: bool | None = None,
    cgroup_parent: _StrOrBytesPath | None = None,
) -> CompletedProcess[Any]: ...
