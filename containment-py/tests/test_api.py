"""The module's surface: names, classes, constants, builders. No sandbox runs here."""

from __future__ import annotations

import datetime
import errno
import ipaddress
import subprocess

import pytest

import containment
from containment import (
    Bridge,
    CalledProcessError,
    CompletedProcess,
    ContainmentError,
    ContainmentOSError,
    InitDiedError,
    IdMaps,
    InvalidValueError,
    NeedsPrivilegeError,
    NotExecutableError,
    ProgramNotFoundError,
    Running,
    RunningInfo,
    Sandbox,
    Seccomp,
    SetupError,
    TimeoutExpired,
    UnsupportedError,
    Usage,
)


def test_all_names_exist_and_version_is_the_crate_version() -> None:
    for name in containment.__all__:
        assert hasattr(containment, name), name
    assert len(set(containment.__all__)) == len(containment.__all__)
    assert containment.__version__.count(".") == 2
    assert containment.__version__[0].isdigit()


def test_stdio_constants_match_subprocess() -> None:
    assert containment.PIPE == subprocess.PIPE
    assert containment.STDOUT == subprocess.STDOUT
    assert containment.DEVNULL == subprocess.DEVNULL
    assert containment.INHERIT not in (subprocess.PIPE, subprocess.STDOUT, subprocess.DEVNULL)
    assert "/usr/bin" in containment.DEFAULT_PATH


@pytest.mark.parametrize(
    ("cls", "bases"),
    [
        (InvalidValueError, (ContainmentError, ValueError)),
        (UnsupportedError, (ContainmentError,)),
        (NeedsPrivilegeError, (ContainmentError, PermissionError, OSError)),
        (InitDiedError, (ContainmentError,)),
        (ContainmentOSError, (ContainmentError, OSError)),
        (SetupError, (ContainmentOSError, OSError)),
        (ProgramNotFoundError, (SetupError, FileNotFoundError, ContainmentError)),
        (NotExecutableError, (SetupError, PermissionError, ContainmentError)),
        (CalledProcessError, (ContainmentError, subprocess.CalledProcessError)),
        (TimeoutExpired, (ContainmentError, subprocess.TimeoutExpired)),
    ],
)
def test_exception_hierarchy(cls: type, bases: tuple[type, ...]) -> None:
    for base in bases:
        assert issubclass(cls, base), (cls, base)
    assert cls.__module__ == "containment._errors"


def test_oserror_subclasses_carry_errno_strerror_filename() -> None:
    e = ProgramNotFoundError(errno.ENOENT, "program not found in the sandbox", "prog")
    assert (e.errno, e.strerror, e.filename, e.stage) == (errno.ENOENT, "program not found in the sandbox", "prog", "exec")
    assert isinstance(e, FileNotFoundError)


def test_called_process_error_message_names_oom_and_timeout() -> None:
    e = CalledProcessError(-9, ["x"], output=b"o", stderr=b"e")
    assert e.stdout == b"o" and e.stderr == b"e" and e.returncode == -9
    e.oom_killed = True
    assert "out of memory" in str(e)
    e.oom_killed, e.timed_out = False, True
    assert "timeout" in str(e)


def test_sandbox_methods_return_new_objects_and_keep_the_original() -> None:
    base = Sandbox()
    limited = base.memory("128M").cpus([0]).pids(64).hostname("job-17")
    assert limited is not base
    assert repr(base) == "Sandbox()"
    assert repr(limited) == "Sandbox().memory('128M').cpus('0').pids(64).hostname('job-17')"
    # A setting replaces an earlier one of its name; mounts accumulate.
    again = limited.memory(1 << 20).bind("/srv", "/in").bind_ro("/usr", "/u").tmpfs("/scratch", "1M")
    r = repr(again)
    assert r.count(".memory(") == 1 and ".memory(1048576)" in r
    assert ".bind('/srv', '/in')" in r and ".bind_ro('/usr', '/u')" in r and ".tmpfs('/scratch', '1M')" in r


def test_sandbox_keywords_and_methods_agree() -> None:
    kw = Sandbox(
        chroot="/srv/root",
        readonly_root=True,
        private_tmp=False,
        binds=[("/a", "/b")],
        ro_binds={"/c": "/d"},
        tmpfs=["/t:1M"],
        memory="64M",
        cpus="0",
        pids=10,
        cpu_quota=0.5,
        cpu_weight=200,
        net="none",
        hostname="h",
        user=(1000, 1000),
        groups=[5],
        timeout=2.5,
        rlimits={"nofile": 64},
        capabilities=["CAP_NET_BIND_SERVICE"],
        seccomp=Seccomp(allow_ptrace=True, deny=["symlink"]),
        sysfs=False,
        cgroup_parent="containment",
        user_namespace=IdMaps(uid=[(0, 100000, 65536)], gid=["0:200000:65536"]),
        idmap_binds=False,
    )
    chained = (
        Sandbox()
        .chroot("/srv/root")
        .readonly_root()
        .private_tmp(False)
        .bind("/a", "/b")
        .bind_ro("/c", "/d")
        .tmpfs("/t", "1M")
        .memory("64M")
        .cpus("0")
        .pids(10)
        .cpu_quota(0.5)
        .cpu_weight(200)
        .net("none")
        .hostname("h")
        .user(1000, 1000)
        .groups([5])
        .timeout(2.5)
        .rlimit("nofile", 64)
        .capabilities(["CAP_NET_BIND_SERVICE"])
        .seccomp(Seccomp(allow_ptrace=True, deny=("symlink",)))
        .sysfs(False)
        .cgroup_parent("containment")
        .user_namespace(IdMaps(uid=["0:100000:65536"], gid=[(0, 200000, 65536)]))
        .idmap_binds(False)
    )
    assert repr(kw) == repr(chained)
    assert ".user_namespace(IdMaps(uid=[(0, 100000, 65536)], gid=[(0, 200000, 65536)])).idmap_binds(False)" in repr(kw)


@pytest.mark.parametrize(
    ("value", "shown"),
    [("auto", "'auto'"), ("off", "'off'"), ("own", "'own'"), ("range", "'range'"), (("range", 100), "('range', 100)")],
)
def test_user_namespace_modes_in_repr(value: object, shown: str) -> None:
    assert repr(Sandbox(user_namespace=value)) == f"Sandbox().user_namespace({shown})"  # type: ignore[arg-type]


def test_timeouts_accept_timedelta() -> None:
    assert "timeout(" in repr(Sandbox(timeout=datetime.timedelta(seconds=3)))


def test_bridge_properties() -> None:
    b = Bridge("br0", "10.77.0.17/24", gateway="10.77.0.1", mtu=1400, mac="02:00:0A:4D:00:11", create=True)
    assert (b.name, b.address, b.gateway, b.mtu, b.mac, b.create) == (
        "br0",
        "10.77.0.17/24",
        "10.77.0.1",
        1400,
        "02:00:0a:4d:00:11",
        "10.77.0.1/24",
    )
    assert repr(b).startswith("Bridge('br0', '10.77.0.17/24', gateway='10.77.0.1', mtu=1400")
    c = Bridge("br1", ipaddress.IPv4Interface("10.77.1.1/24"), create="10.77.1.254/24")
    assert (c.address, c.create, c.gateway) == ("10.77.1.1/24", "10.77.1.254/24", None)
    # The first host is the sandbox's own address: the bridge takes the last one.
    assert Bridge("br2", "10.77.2.1/24", create=True).create == "10.77.2.254/24"
    assert "Bridge" in repr(Sandbox(net=b))
    assert not b.reuse and "reuse" not in repr(b)
    r = Bridge("br0", "10.77.0.18/24", reuse=True)
    assert r.reuse and repr(r) == "Bridge('br0', '10.77.0.18/24', reuse=True)"
    with pytest.raises(TypeError, match="reuse"):
        Bridge("br0", "10.77.0.18/24", reuse=1)  # type: ignore[arg-type]


def test_nothing_is_kept_before_a_sandbox_asked() -> None:
    assert containment.release_kept_namespaces() == 0
    assert containment.MAX_KEPT_NAMESPACES == 16


def test_completed_process_is_constructible_and_checks() -> None:
    ok = CompletedProcess(["a"], 0, b"out")
    ok.check_returncode()
    assert ok.stdout == b"out" and ok.stderr is None and ok.usage == Usage()
    bad = CompletedProcess(["a"], -9, b"o", b"e", oom_killed=True, usage=Usage(1.0, 0.5, 0.25, 4096))
    with pytest.raises(CalledProcessError) as info:
        bad.check_returncode()
    e = info.value
    assert (e.returncode, e.cmd, e.output, e.stderr, e.oom_killed, e.timed_out) == (-9, ["a"], b"o", b"e", True, False)
    assert bad.usage.peak_memory == 4096 and bad.usage.wall == 1.0
    assert "oom_killed=True" in repr(bad)
    assert CompletedProcess[bytes] is not None
    assert containment.Process[str] is not None


def test_usage_is_comparable_and_hashable() -> None:
    assert Usage(1.0, 2.0, 3.0, None) == Usage(1.0, 2.0, 3.0, None)
    assert Usage(1.0, 2.0, 3.0, 5) != Usage(1.0, 2.0, 3.0, None)
    assert len({Usage(), Usage()}) == 1


def test_classes_cannot_be_subclassed_or_mutated() -> None:
    with pytest.raises(TypeError):
        type("X", (Sandbox,), {})
    with pytest.raises(AttributeError):
        Usage().wall = 3.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        containment.Process()  # type: ignore[call-arg]
    for cls in (Running, RunningInfo):
        with pytest.raises(TypeError):
            cls()  # type: ignore[call-arg]
    for cls2 in (Running, RunningInfo, Seccomp, IdMaps):
        with pytest.raises(TypeError):
            type("X", (cls2,), {})
    with pytest.raises(AttributeError):
        Seccomp().allow_ptrace = True  # type: ignore[misc]


def test_list_and_gc_are_public_but_not_star_exported() -> None:
    assert callable(containment.list) and callable(containment.gc)
    assert "list" not in containment.__all__ and "gc" not in containment.__all__
    names: dict[str, object] = {}
    exec("from containment import *", names)
    assert "list" not in names and "gc" not in names and "Running" in names
