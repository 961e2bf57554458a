"""Bad input gets a clear error: TypeError for wrong types, InvalidValueError (a
ValueError) for bad values, OSError subclasses with errno for OS failures; and
every error class of the core is reachable."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

import containment
from containment import (
    Bridge,
    ContainmentError,
    ContainmentOSError,
    InvalidValueError,
    NotExecutableError,
    ProgramNotFoundError,
    Sandbox,
    SetupError,
    UnsupportedError,
)

# --- wrong types: TypeError, before anything runs -------------------------------------

WRONG_TYPES: list[tuple[str, Any]] = [
    ("memory", 1.5),
    ("memory", True),
    ("memory", b"128M"),
    ("memory", [128]),
    ("cpus", 1.0),
    ("cpus", True),
    ("cpus", b"0"),
    ("cpus", ["0"]),
    ("pids", "64"),
    ("pids", 6.4),
    ("pids", False),
    ("cpu_quota", "0.5"),
    ("cpu_quota", True),
    ("cpu_weight", 1.5),
    ("chroot", 5),
    ("chroot", ["/"]),
    ("overlay", 5),
    ("overlay", ("/a", "/b", "/c")),
    ("readonly_root", 1),
    ("private_tmp", "yes"),
    ("binds", "/a:/b"),
    ("binds", 5),
    ("binds", [5]),
    ("ro_binds", [("/a", 5)]),
    ("tmpfs", b"/tmp"),
    ("tmpfs", [("/tmp", 1.5)]),
    ("net", 5),
    ("net", True),
    ("hostname", 5),
    ("user", "root"),
    ("user", 1.0),
    ("user", (1, 2, 3)),
    ("user", True),
    ("groups", 5),
    ("groups", ["wheel"]),
    ("timeout", "5"),
    ("timeout", True),
    ("rlimits", [("nofile", 5)]),
    ("rlimits", {5: 5}),
    ("rlimits", {"nofile": 1.5}),
    ("capabilities", "CAP_CHOWN"),
    ("capabilities", [5]),
    ("seccomp", 0),
    ("seccomp", "on"),
    ("user_namespace", 5),
    ("user_namespace", b"auto"),
    ("user_namespace", ("range", 1.5)),
    ("idmap_binds", 1),
    ("sysfs", "no"),
    ("cgroup_parent", 5),
]


@pytest.mark.parametrize(("name", "value"), WRONG_TYPES)
def test_wrong_types_raise_type_error(name: str, value: Any) -> None:
    with pytest.raises(TypeError):
        Sandbox(**{name: value})
    with pytest.raises(TypeError):
        containment.run(["true"], **{name: value})


@pytest.mark.parametrize(
    ("kwargs"),
    [
        {"stdin": "PIPE"},
        {"stdout": 1.0},
        {"stderr": True},
        {"stdout": object()},
        {"env": ["A=1"]},
        {"env": {"A": 1}},
        {"env": {1: "a"}},
        {"cwd": 5},
        {"executable": 5},
        {"input": "str without text=True"},
        {"input": b"bytes", "text": True},
        {"text": 1},
        {"check": "yes"},
        {"capture_output": 1},
        {"encoding": 5},
        {"inherit_env": 1},
        {"env_remove": "PATH"},
        {"env_remove": [5]},
        {"host_program": "yes"},
    ],
)
def test_wrong_command_types_raise_type_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        containment.run(["true"], **kwargs)


@pytest.mark.parametrize("args", [5, None, [5], ["true", None], [b"true", 1.5]])
def test_wrong_args_raise_type_error(args: Any) -> None:
    with pytest.raises(TypeError):
        containment.run(args)


def test_wrong_method_argument_types() -> None:
    sb = Sandbox()
    with pytest.raises(TypeError):
        sb.bind(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sb.tmpfs("/x", 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sb.readonly_root(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sb.user("root")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sb.rlimit(5, 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Bridge(5, "10.77.0.2/24")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Bridge("br0", 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Bridge("br0", "10.77.0.2/24", mtu="1500")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Bridge("br0", "10.77.0.2/24", mac=b"\x02\x00\x00\x00\x00\x01")  # type: ignore[arg-type]


# --- bad values: InvalidValueError, a ValueError, naming the value ----------------------

BAD_SIZES: list[Any] = [
    "1XB",
    "-5M",
    "",
    "5.5.5M",
    "0x10M",
    "\uff15M",  # a full-width 5
    "99999999999999999999",
    "20000000P",
    "0",
    0,
    -1,
    2**64,
    2**70,
    " 5M",
]


@pytest.mark.parametrize("value", BAD_SIZES)
def test_bad_sizes(value: Any) -> None:
    with pytest.raises(InvalidValueError) as info:
        Sandbox(memory=value)
    assert info.value.kind == "size"
    assert isinstance(info.value, ValueError)
    with pytest.raises(InvalidValueError):
        Sandbox().tmpfs("/t", value)


@pytest.mark.parametrize("value", ["128MB", "128M", "128MiB", "128m", 134217728])
def test_good_sizes_are_the_same(value: Any) -> None:
    assert "memory(" in repr(Sandbox(memory=value))


@pytest.mark.parametrize("value", ["-", "1-", "-3", "3-1", "a", "65537", "", [], [-1], [65536], -1, 70000])
def test_bad_cpu_lists(value: Any) -> None:
    with pytest.raises(InvalidValueError) as info:
        Sandbox(cpus=value)
    assert info.value.kind == "cpuset"


@pytest.mark.parametrize(
    ("address", "kind"),
    [("10.77.0.1/33", "address"), ("10.77.0/24", "address"), ("10.77.0.1", "address"), ("", "address")],
)
def test_bad_addresses(address: str, kind: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        Bridge("br0", address)
    assert info.value.kind == kind
    assert info.value.value == address


def test_a_bad_network_names_the_ones_accepted() -> None:
    with pytest.raises(InvalidValueError) as info:
        Sandbox(net="none-kept")
    assert info.value.kind == "argument" and info.value.value == "none-kept"
    assert '"none-reused"' in str(info.value) and '"host"' in str(info.value)
    assert "none-reused" in repr(Sandbox(net="none-reused"))


def test_bad_gateway_and_mac() -> None:
    with pytest.raises(InvalidValueError):
        Bridge("br0", "10.77.0.2/24", gateway="10.77.0.300")
    with pytest.raises(InvalidValueError):
        Bridge("br0", "10.77.0.2/24", mac="02:00:00:00:00")
    with pytest.raises(InvalidValueError):
        Bridge("br0", "10.77.0.2/24", mac="02:00:00:00:00:zz")


def test_ipv6_is_unsupported() -> None:
    with pytest.raises(UnsupportedError) as info:
        Bridge("br0", "fd00::2/64")
    assert info.value.feature


@pytest.mark.parametrize(
    ("kwargs", "kind"),
    [
        ({"binds": [("/a", "relative")]}, "path"),
        ({"binds": [("/a", "/x/../../etc")]}, "path"),
        ({"binds": [("/a\0b", "/b")]}, "path"),
        ({"ro_binds": ["/a:"]}, "mount"),
        ({"tmpfs": ["/t:1XB"]}, "mount"),
        ({"tmpfs": [("relative", "1M")]}, "path"),
        ({"net": "bridge"}, "argument"),
        ({"user": -1}, "id"),
        ({"user": 2**32}, "id"),
        ({"user": (0, -5)}, "id"),
        ({"groups": [-1]}, "id"),
        ({"pids": -1}, "number"),
        ({"timeout": -1}, "number"),
        ({"timeout": 0}, "number"),
        ({"timeout": float("nan")}, "number"),
        ({"timeout": float("inf")}, "number"),
        ({"rlimits": {"bogus": 5}}, "argument"),
        ({"rlimits": {"nofile": "1K"}}, "number"),
        ({"rlimits": {"nofile": -1}}, "number"),
        ({"capabilities": ["CAP_BOGUS"]}, "argument"),
        ({"chroot": "/a", "overlay": "/b"}, "config"),
    ],
)
def test_bad_sandbox_values(kwargs: dict[str, Any], kind: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        Sandbox(**kwargs)
    assert info.value.kind == kind, info.value


# Values that only the spawn can judge as a whole; still checked before anything is made.
@pytest.mark.parametrize(
    ("args", "kwargs", "kind"),
    [
        ([], {}, "argument"),
        ([""], {}, "argument"),
        (["true", "a\0b"], {}, "argument"),
        (["tr\0ue"], {}, "argument"),
        (["true"], {"env": {"A=B": "1"}}, "environment"),
        (["true"], {"env": {"": "1"}}, "environment"),
        (["true"], {"env": {"A": "1\0"}}, "environment"),
        (["true"], {"hostname": "bad name"}, "hostname"),
        (["true"], {"hostname": "x" * 65}, "hostname"),
        (["true"], {"hostname": ""}, "hostname"),
        (["true"], {"cwd": ""}, "path"),
        (["true"], {"stdout": -7}, "argument"),
        (["true"], {"stdin": containment.STDOUT}, "argument"),
        (["true"], {"rlimits": {"nofile": (10, 5)}}, "number"),
        (["true"], {"cpu_weight": 0}, None),
        (["true"], {"pids": 0}, None),
        (["true"], {"binds": [("/usr", "/d"), ("/etc", "/d")]}, None),
    ],
)
def test_bad_values_found_at_spawn(args: list[str], kwargs: dict[str, Any], kind: str | None) -> None:
    with pytest.raises(InvalidValueError) as info:
        containment.run(args, **kwargs)
    if kind is not None:
        assert info.value.kind == kind, info.value
    assert str(info.value)


def test_invalid_value_error_attributes() -> None:
    with pytest.raises(ValueError) as info:
        Sandbox(memory="1XB")
    e = info.value
    assert isinstance(e, InvalidValueError) and isinstance(e, ContainmentError)
    assert (e.kind, e.value) == ("size", "1XB")
    assert e.reason and e.expected and "1XB" in str(e)


def test_conflicting_subprocess_arguments() -> None:
    with pytest.raises(ValueError, match="capture_output"):
        containment.run(["true"], capture_output=True, stdout=containment.PIPE)
    with pytest.raises(ValueError, match="input"):
        containment.run(["true"], input=b"x", stdin=containment.DEVNULL)


def test_closed_descriptor_is_an_os_error_with_errno() -> None:
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(ContainmentOSError) as info:
        containment.run(["true"], stdout=w)
    assert info.value.errno == errno.EBADF
    assert isinstance(info.value, OSError) and info.value.op == "dup"


def test_file_object_without_descriptor_raises() -> None:
    import io

    with pytest.raises(io.UnsupportedOperation):
        containment.run(["true"], stdout=io.BytesIO())


# --- errors of the spawn itself ---------------------------------------------------------


@pytest.mark.root
def test_missing_program_is_file_not_found() -> None:
    with pytest.raises(FileNotFoundError) as info:
        containment.run(["/no/such/program", "x"])
    e = info.value
    assert isinstance(e, ProgramNotFoundError) and isinstance(e, SetupError)
    assert (e.errno, e.filename, e.stage, e.path) == (errno.ENOENT, "/no/such/program", "exec", "/no/such/program")
    with pytest.raises(ProgramNotFoundError) as info2:
        containment.run(["no-such-program-anywhere"])
    assert info2.value.filename == "no-such-program-anywhere"


@pytest.mark.root
def test_not_executable_is_permission_error(rootfs: Path) -> None:
    with pytest.raises(PermissionError) as info:
        containment.run(["/bin/noexec"], chroot=rootfs)
    e = info.value
    assert isinstance(e, NotExecutableError)
    assert (e.errno, e.filename, e.stage) == (errno.EACCES, "/bin/noexec", "exec")


@pytest.mark.root
def test_missing_working_directory_is_a_setup_error_with_stage_and_path() -> None:
    with pytest.raises(SetupError) as info:
        containment.run(["true"], cwd="/no/such/dir")
    e = info.value
    assert (e.stage, e.errno, e.path) == ("chdir", errno.ENOENT, "/no/such/dir")
    assert isinstance(e, OSError) and e.filename == "/no/such/dir"
    assert "chdir" in str(e)


@pytest.mark.root
def test_missing_bind_source_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(ContainmentOSError) as info:
        containment.run(["true"], binds=[(missing, "/in")])
    e = info.value
    assert (e.errno, e.path, e.filename) == (errno.ENOENT, str(missing), str(missing))
    assert str(missing) in str(e)


@pytest.mark.root
def test_missing_chroot_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ContainmentOSError) as info:
        containment.run(["true"], chroot=tmp_path / "nope")
    assert (info.value.errno, info.value.path) == (errno.ENOENT, str(tmp_path / "nope"))


@pytest.mark.root
def test_cpus_outside_the_allowed_set() -> None:
    with pytest.raises(InvalidValueError) as info:
        containment.run(["true"], cpus=[4000])
    assert (info.value.kind, info.value.value) == ("cpuset", "4000")
    assert "allowed set" in str(info.value)


@pytest.mark.root
def test_missing_bridge_is_a_clear_config_error() -> None:
    with pytest.raises(InvalidValueError) as info:
        containment.run(["true"], net=Bridge("nosuchbr0", "10.77.99.2/24"))
    assert info.value.kind == "config"
    assert "nosuchbr0" in str(info.value)


@pytest.mark.root
def test_check_raises_called_process_error_like_subprocess() -> None:
    with pytest.raises(subprocess.CalledProcessError) as info:
        containment.run(["sh", "-c", "echo out; echo err >&2; exit 3"], check=True, capture_output=True)
    e = info.value
    assert isinstance(e, containment.CalledProcessError)
    assert (e.returncode, e.stdout, e.stderr) == (3, b"out\n", b"err\n")
    assert e.cmd == ["sh", "-c", "echo out; echo err >&2; exit 3"]
    assert (e.oom_killed, e.timed_out) == (False, False)
