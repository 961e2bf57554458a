"""User namespaces, idmapped binds, seccomp options, host programs, the
environment options and `gc()`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import containment
from containment import IdMaps, Sandbox, Seccomp

from .conftest import skip_or_fail

pytestmark = pytest.mark.root


def maps(**kw: Any) -> tuple[list[int], list[int]]:
    """The uid and gid maps the sandbox's program sees, as numbers."""
    r = containment.run(["cat", "/proc/self/uid_map", "/proc/self/gid_map"], capture_output=True, text=True, **kw)
    assert r.returncode == 0, r.stderr
    nums = [int(n) for n in r.stdout.split()]
    assert len(nums) == 6, r.stdout
    return nums[:3], nums[3:]


def in_allocator_range(first: int) -> bool:
    return first >= containment.RANGE_BASE and (first - containment.RANGE_BASE) % containment.DEFAULT_RANGE_SIZE == 0


def test_user_namespace_auto_is_an_exclusive_range() -> None:
    for kw in [{}, {"user_namespace": "auto"}, {"user_namespace": "range"}]:
        uid, gid = maps(**kw)
        assert uid == gid and uid[0] == 0 and uid[2] == 65536 and in_allocator_range(uid[1]), (kw, uid)
    assert containment.DEFAULT_RANGE_SIZE == 65536 and containment.RANGE_BASE == 1 << 30


def test_user_namespace_range_of_a_size() -> None:
    uid, gid = maps(user_namespace=("range", 1000))
    assert uid == gid and uid[0] == 0 and uid[2] == 1000 and in_allocator_range(uid[1])


def test_user_namespace_off_and_own() -> None:
    assert maps(user_namespace="off") == ([0, 0, 4294967295], [0, 0, 4294967295])
    # The caller (root) is root inside, and nothing else is mapped.
    assert maps(user_namespace="own") == ([0, 0, 1], [0, 0, 1])


def test_user_namespace_explicit_maps() -> None:
    m = IdMaps(uid=[(0, 200000, 1000)], gid=["0:300000:1000"])
    assert maps(user_namespace=m) == ([0, 200000, 1000], [0, 300000, 1000])
    two = IdMaps(uid=[(0, 200000, 10), (10, 400000, 5)])
    r = Sandbox(user_namespace=two).run(["cat", "/proc/self/uid_map", "/proc/self/gid_map"], capture_output=True)
    assert [int(n) for n in r.stdout.split()] == [0, 200000, 10, 10, 400000, 5] * 2
    # An id inside the maps is usable.
    r = containment.run(["/bin/sh", "-c", "id -u; id -g"], user=(12, 12), user_namespace=two, capture_output=True)
    assert r.stdout == b"12\n12\n"


def test_an_unmapped_user_is_a_value_error() -> None:
    with pytest.raises(ValueError) as info:
        containment.run(["true"], user=(70000, 70000))
    assert isinstance(info.value, containment.InvalidValueError)
    assert (info.value.kind, info.value.value) == ("id", "70000")
    with pytest.raises(containment.InvalidValueError):
        containment.run(["true"], user=(5, 5), user_namespace=("range", 5))
    with pytest.raises(containment.InvalidValueError):
        Sandbox(user=(1500, 1500), user_namespace=IdMaps(uid=[(0, 200000, 1000)])).start(["true"])
    # The same id with a map that has it works.
    wide = IdMaps(uid=[(0, 200000, 100000)])
    r = containment.run(["/bin/sh", "-c", "id -u; id -g"], user=(70000, 70000), user_namespace=wide, capture_output=True)
    assert r.stdout == b"70000\n70000\n"
    assert containment.run(["true"], user=(70000, 70000), user_namespace="off").returncode == 0


def test_overlapping_maps_are_refused_before_anything_runs() -> None:
    with pytest.raises(containment.InvalidValueError) as info:
        containment.run(["true"], user_namespace=IdMaps(uid=[(0, 1000, 10), (5, 2000, 10)]))
    assert "overlap" in str(info.value)


def test_user_namespace_and_idmap_values() -> None:
    for bad in ["bogus", ("range", 0), ("range", 65537)]:
        with pytest.raises(containment.InvalidValueError):
            Sandbox(user_namespace=bad)
    for wrong in [5, ("range", "5"), ("other", 5), ["range", 5], b"auto"]:
        with pytest.raises(TypeError):
            Sandbox(user_namespace=wrong)
    with pytest.raises(containment.InvalidValueError):
        IdMaps(uid=[])
    with pytest.raises(containment.InvalidValueError):
        IdMaps(uid=[(0, 1, 0)])
    with pytest.raises(containment.InvalidValueError):
        IdMaps(uid=[(0, 4294967295, 2)])
    with pytest.raises(containment.InvalidValueError):
        IdMaps(uid=["0:1"])
    with pytest.raises(containment.InvalidValueError):
        IdMaps(uid=[(-1, 1, 1)])
    for wrong_map in ["0:1:1", [(0, 1)], [(0, 1, 1.5)], [(0, 1, True)], 5]:
        with pytest.raises(TypeError):
            IdMaps(uid=wrong_map)
    with pytest.raises(TypeError):
        Sandbox(idmap_binds="no")
    m = IdMaps(uid=[(0, 1000, 5)])
    assert (m.uid, m.gid) == ([(0, 1000, 5)], [(0, 1000, 5)])
    assert repr(m) == "IdMaps(uid=[(0, 1000, 5)], gid=[(0, 1000, 5)])"
    assert m == IdMaps(uid=["0:1000:5"], gid=[[0, 1000, 5]]) and len({m, IdMaps(uid=[(0, 1000, 5)])}) == 1
    assert m != IdMaps(uid=[(0, 1000, 5)], gid=[(0, 2000, 5)])


@pytest.fixture
def root_dir() -> Iterator[Path]:
    """A host directory owned by root, mode 0700."""
    d = Path(tempfile.mkdtemp(prefix="containment-idmap-"))
    os.chown(d, 0, 0)
    os.chmod(d, 0o700)
    yield d
    shutil.rmtree(d)


def test_idmapped_binds_keep_owners(root_dir: Path) -> None:
    r = containment.run(
        ["/bin/sh", "-c", "id -u; touch /data/f && echo written; stat -c %u /data"],
        binds={root_dir: "/data"},
        capture_output=True,
        text=True,
    )
    assert r.stdout == "0\nwritten\n0\n", r.stderr
    st = os.stat(root_dir / "f")
    assert (st.st_uid, st.st_gid) == (0, 0)


def test_without_idmapped_binds_the_sandboxs_root_is_nobody_there(root_dir: Path) -> None:
    r = containment.run(
        ["/bin/sh", "-c", "touch /data/f"], binds={root_dir: "/data"}, idmap_binds=False, capture_output=True
    )
    assert r.returncode == 1 and b"Permission denied" in r.stderr
    assert os.listdir(root_dir) == []
    # The chained form is the same.
    r2 = Sandbox().bind(root_dir, "/data").idmap_binds(False).run(["/bin/sh", "-c", "touch /data/f"])
    assert r2.returncode == 1 and os.listdir(root_dir) == []


def needs(path: str) -> str:
    """A program of the host's system, which the default root shows."""
    if not os.access(path, os.X_OK):
        skip_or_fail(f"needs {path} on the host")
    return path


def unshare_user(**kw: Any) -> containment.CompletedProcess[bytes]:
    return containment.run([needs("/usr/bin/unshare"), "--user", "true"], capture_output=True, **kw)


def test_seccomp_refuses_user_namespaces_unless_allowed() -> None:
    denied = unshare_user()
    assert denied.returncode != 0 and b"Operation not permitted" in denied.stderr
    assert unshare_user(seccomp=True).returncode != 0
    assert unshare_user(seccomp=Seccomp(allow_user_namespaces=True)).returncode == 0
    assert unshare_user(seccomp=False).returncode == 0
    assert Sandbox().seccomp(Seccomp(allow_user_namespaces=True)).run([needs("/usr/bin/unshare"), "--user", "true"]).returncode == 0


PTRACE = "import ctypes; libc = ctypes.CDLL(None, use_errno=True); print(libc.ptrace(0, 0, 0, 0), ctypes.get_errno())"


def test_seccomp_refuses_ptrace_unless_allowed() -> None:
    python = needs("/usr/bin/python3")

    def ptrace(**kw: Any) -> str:
        return containment.run([python, "-c", PTRACE], capture_output=True, text=True, **kw).stdout

    assert ptrace() == "-1 1\n"  # EPERM
    assert ptrace(seccomp=Seccomp(allow_ptrace=True)) == "0 0\n"
    assert ptrace(seccomp=Seccomp(allow_user_namespaces=True)) == "-1 1\n"


def test_seccomp_denies_more_system_calls() -> None:
    script = "ln -s a /tmp/link && echo linked"
    assert containment.run(["/bin/sh", "-c", script], capture_output=True).stdout == b"linked\n"
    r = containment.run(
        ["/bin/sh", "-c", script], seccomp=Seccomp(deny=["symlink", "symlinkat"]), capture_output=True, text=True
    )
    assert r.returncode == 1 and "Operation not permitted" in r.stderr and r.stdout == ""


def test_seccomp_values() -> None:
    s = Seccomp(allow_ptrace=True, deny=["symlink"])
    assert (s.allow_ptrace, s.allow_user_namespaces, s.deny) == (True, False, ["symlink"])
    assert repr(s) == "Seccomp(allow_ptrace=True, allow_user_namespaces=False, deny=['symlink'])"
    assert s == Seccomp(allow_ptrace=True, deny=("symlink",)) and s != Seccomp()
    assert len({Seccomp(), Seccomp()}) == 1
    with pytest.raises(containment.InvalidValueError) as info:
        Seccomp(deny=["not_a_syscall"])
    assert info.value.value == "not_a_syscall"
    for wrong in [{"deny": "ptrace"}, {"deny": [5]}, {"allow_ptrace": 1}]:
        with pytest.raises(TypeError):
            Seccomp(**wrong)
    with pytest.raises(TypeError):
        Sandbox(seccomp="on")
    assert repr(Sandbox(seccomp=s)) == repr(Sandbox().seccomp(s)) == f"Sandbox().seccomp({s!r})"
    assert repr(Sandbox().seccomp()) == "Sandbox().seccomp(True)"
    assert repr(Sandbox().seccomp(False)) == "Sandbox().seccomp(False)"


def test_running_sandboxes_keep_their_seccomp_policy() -> None:
    with Sandbox(seccomp=Seccomp(allow_user_namespaces=True)).start() as r:
        assert r.run([needs("/usr/bin/unshare"), "--user", "true"]).returncode == 0
    with Sandbox().start() as r:
        assert r.run([needs("/usr/bin/unshare"), "--user", "true"], stderr=containment.DEVNULL).returncode != 0


@pytest.fixture
def host_box(tmp_path: Path) -> Path:
    """A static busybox on the host, at a path the sandbox's root does not have."""
    if not Path("/bin/busybox").is_file():
        skip_or_fail("needs a static /bin/busybox (Debian package busybox-static)")
    p = tmp_path / "busybox"
    shutil.copy2("/bin/busybox", p)
    os.chmod(p, 0o755)
    return p


def test_host_program_runs_a_host_file_whatever_the_root_holds(rootfs: Path, host_box: Path) -> None:
    sb = Sandbox(chroot=rootfs)
    with pytest.raises(containment.ProgramNotFoundError):
        sb.run([host_box, "echo", "hi"])
    # argv[0] is the file name: `busybox echo hi`.
    r = sb.run([host_box, "echo", "hi"], host_program=True, capture_output=True)
    assert r.stdout == b"hi\n", r.stderr
    # With `executable`, args[0] is argv[0]: busybox runs its `echo` applet.
    r = sb.run(["echo", "from", "arg0"], executable=host_box, host_program=True, capture_output=True)
    assert r.stdout == b"from arg0\n"
    r = containment.run([str(host_box), "cat", "/etc/marker"], chroot=rootfs, host_program=True, capture_output=True)
    assert r.stdout == b"rootfs\n"
    with sb.spawn([host_box, "true"], host_program=True) as p:
        assert p.wait(timeout=10) == 0
    with sb.start([host_box, "sleep", "30"], host_program=True) as running:
        assert running.run(["/bin/echo", "inside"], capture_output=True).stdout == b"inside\n"


def test_environment_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTAINMENT_PYTEST_VAR", "v1")

    def env(**kw: Any) -> list[str]:
        return containment.run(["/usr/bin/env"], capture_output=True, text=True, **kw).stdout.splitlines()

    default = env()
    assert "CONTAINMENT_PYTEST_VAR=v1" not in default and "HOME=/" in default
    assert "CONTAINMENT_PYTEST_VAR=v1" in env(inherit_env=True)
    assert "CONTAINMENT_PYTEST_VAR=v1" not in env(inherit_env=True, env_remove=["CONTAINMENT_PYTEST_VAR"])
    assert sorted(env(env_remove=["PATH"])) == ["HOME=/"]
    assert env(env={"A": "1", "B": "2"}, env_remove=[b"B"]) == ["A=1"]
    with pytest.raises(containment.InvalidValueError):
        env(env={"A": "1"}, inherit_env=True)
    with pytest.raises(TypeError):
        env(env_remove="PATH")
    with Sandbox().start() as r:
        got = r.run(["/usr/bin/env"], inherit_env=True, env_remove=["HOME"], capture_output=True, text=True)
        lines = got.stdout.splitlines()
        assert "CONTAINMENT_PYTEST_VAR=v1" in lines and not any(line.startswith("HOME=") for line in lines)


def cgroup_parent_dir() -> Path:
    """The default cgroup parent of the `pids` hierarchy (v1) or the unified one
    (v2). Sandboxes remove it when their last group goes, so it may be absent."""
    for root in ["/sys/fs/cgroup/pids", "/sys/fs/cgroup"]:
        if os.path.exists(os.path.join(root, "cgroup.procs")) and (
            root.endswith("/pids") or os.path.exists(os.path.join(root, "cgroup.controllers"))
        ):
            return Path(root) / "containment"
    skip_or_fail("no pids cgroup hierarchy")
    raise AssertionError


def test_gc_removes_groups_of_dead_supervisors() -> None:
    parent = cgroup_parent_dir()
    # A pid that no longer runs: spawn a process and reap it.
    p = subprocess.Popen(["true"])
    p.wait()
    made_parent = not parent.exists()
    stale = parent / f"{p.pid}.1.0"
    stale.mkdir(parents=True)
    try:
        assert containment.gc() >= 1
        assert not stale.exists()
        assert containment.gc(["containment-pytest-missing"]) >= 0
    finally:
        if stale.exists():
            stale.rmdir()
        if made_parent:
            try:
                parent.rmdir()
            except OSError:
                pass  # a sandbox of another process uses it now
    with pytest.raises(containment.InvalidValueError):
        containment.gc(["../escape"])
    with pytest.raises(TypeError):
        containment.gc("containment")


def test_needs_privilege_error_names_what_is_missing() -> None:
    code = (
        "import os, containment\n"
        "os.setegid(65534); os.seteuid(65534)\n"
        "try:\n"
        "    containment.run(['true'], user_namespace='off')\n"
        "except containment.NeedsPrivilegeError as e:\n"
        "    print(isinstance(e, PermissionError), e.feature, '|', e.how)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout == "True a sandbox without a user namespace | run as root, or keep the default\n", r.stderr
