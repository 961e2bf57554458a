"""`containment.run()` and `Sandbox.run()`: every argument, with the exact outcome."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import containment
from containment import PIPE, STDOUT, Sandbox

from .conftest import skip_or_fail

pytestmark = pytest.mark.root

FIVE_MB = 5 * 1024 * 1024


def sh(script: str, **kwargs: Any) -> containment.CompletedProcess[bytes]:
    return containment.run(["/bin/sh", "-c", script], capture_output=True, **kwargs)


# --- outcomes ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", [0, 1, 42, 255])
def test_exit_codes_are_transparent(code: int) -> None:
    r = containment.run(["/bin/sh", "-c", f"exit {code}"])
    assert r.returncode == code
    assert (r.oom_killed, r.timed_out, r.stdout, r.stderr) == (False, False, None, None)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV, signal.SIGTERM])
def test_death_by_signal_is_a_negative_returncode(sig: signal.Signals) -> None:
    r = containment.run(["/bin/sh", "-c", f"kill -{sig.name[3:]} $$"], rlimits={"core": 0})
    assert r.returncode == -int(sig)
    assert not r.oom_killed and not r.timed_out


def test_usage_is_reported() -> None:
    r = sh("i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done", memory="64M")
    u = r.usage
    assert r.returncode == 0
    assert 0 < u.wall < 30 and u.user + u.system > 0
    assert u.peak_memory is not None and 0 < u.peak_memory <= 64 << 20


def test_check_returncode_and_check() -> None:
    ok = containment.run(["true"], check=True)
    ok.check_returncode()
    with pytest.raises(containment.CalledProcessError) as info:
        containment.run(["false"]).check_returncode()
    assert info.value.returncode == 1


# --- standard descriptors ---------------------------------------------------------------


def test_capture_output_separates_stdout_and_stderr() -> None:
    r = sh("echo out; echo err >&2")
    assert (r.stdout, r.stderr) == (b"out\n", b"err\n")
    assert r.args == ["/bin/sh", "-c", "echo out; echo err >&2"]


def test_text_mode_decodes_with_universal_newlines() -> None:
    r = containment.run(["/bin/sh", "-c", r"printf 'a\r\nb\rc\n'; printf 'caf\303\251' >&2"], capture_output=True, text=True)
    assert (r.stdout, r.stderr) == ("a\nb\nc\n", "café")
    latin = containment.run(["printf", r"\351"], stdout=PIPE, encoding="latin-1")
    assert latin.stdout == "é"
    replaced = containment.run(["printf", r"\377"], stdout=PIPE, text=True, encoding="utf-8", errors="replace")
    assert replaced.stdout == "\ufffd"


def test_input_goes_to_stdin_and_input_text() -> None:
    assert containment.run(["cat"], input=b"hello", capture_output=True).stdout == b"hello"
    assert containment.run(["cat"], input="héllo", capture_output=True, text=True).stdout == "héllo"
    assert containment.run(["cat"], input=b"", capture_output=True).stdout == b""
    assert containment.run(["cat"], input=bytearray(b"ba"), stdout=PIPE).stdout == b"ba"


def test_large_output_on_both_pipes_and_large_input_do_not_deadlock() -> None:
    data = os.urandom(FIVE_MB)
    r = containment.run(
        ["/bin/sh", "-c", f"head -c {FIVE_MB} /dev/zero >&2 & cat; wait"],
        input=data,
        capture_output=True,
        timeout=60,
    )
    assert r.returncode == 0
    assert r.stdout == data
    assert r.stderr == bytes(FIVE_MB)


def test_stderr_to_stdout() -> None:
    r = containment.run(["/bin/sh", "-c", "echo a; echo b >&2; echo c"], stdout=PIPE, stderr=STDOUT)
    assert (r.stdout, r.stderr) == (b"a\nb\nc\n", None)


def test_stderr_to_stdout_into_a_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with open(out, "wb") as f:
        containment.run(["/bin/sh", "-c", "echo a; echo b >&2"], stdout=f, stderr=STDOUT)
    assert out.read_bytes() == b"a\nb\n"


def test_stderr_to_an_inherited_stdout() -> None:
    code = "import containment; containment.run(['/bin/sh', '-c', 'echo a; echo b >&2'], stderr=containment.STDOUT)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"a\nb\n", b"")


def test_devnull_and_inherit() -> None:
    r = containment.run(["/bin/sh", "-c", "echo a; echo b >&2; cat"], stdin=containment.DEVNULL, stdout=containment.DEVNULL, stderr=PIPE)
    assert (r.returncode, r.stdout, r.stderr) == (0, None, b"b\n")
    assert containment.run(["true"], stdout=containment.INHERIT).returncode == 0


def test_descriptor_numbers_and_file_objects(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.write_bytes(b"from a file\n")
    dst = tmp_path / "out"
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        r = containment.run(["cat"], stdin=fin, stdout=fout.fileno())
    assert r.returncode == 0
    assert dst.read_bytes() == b"from a file\n"


# --- the command ------------------------------------------------------------------------


def test_default_environment_is_minimal_and_host_secrets_stay_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET", "hunter2")
    r = containment.run(["env"], capture_output=True)
    assert sorted(r.stdout.decode().splitlines()) == ["HOME=/", "PATH=" + containment.DEFAULT_PATH]


def test_env_replaces_the_environment() -> None:
    r = containment.run(["env"], env={"A": "1", "B": "two words"}, capture_output=True)
    assert sorted(r.stdout.decode().splitlines()) == ["A=1", "B=two words"]


def test_non_utf8_arguments_and_environment_are_byte_exact() -> None:
    r = containment.run([b"printf", b"%s|%s", b"\xff\xfe", "caf\udce9"], stdout=PIPE)
    assert r.stdout == b"\xff\xfe|caf\xe9"
    r = containment.run(["/bin/sh", "-c", 'printf %s "$K"'], env={b"K": b"\x80v"}, stdout=PIPE)
    assert r.stdout == b"\x80v"


def test_cwd_and_executable() -> None:
    assert containment.run(["pwd"], cwd="/usr/bin", stdout=PIPE).stdout == b"/usr/bin\n"
    assert containment.run(["pwd"], cwd=Path("/usr"), stdout=PIPE).stdout == b"/usr\n"
    r = containment.run(["my-name", "-c", 'echo "$0"'], executable="/bin/sh", stdout=PIPE)
    assert r.stdout == b"my-name\n"


def test_single_string_args_is_the_program() -> None:
    assert containment.run("true").returncode == 0
    assert containment.run(Path("/bin/true")).args == Path("/bin/true")


# --- the sandbox ------------------------------------------------------------------------


def test_hostname() -> None:
    assert containment.run(["hostname"], stdout=PIPE).stdout == b"sandbox\n"
    assert containment.run(["hostname"], hostname="job-17", stdout=PIPE).stdout == b"job-17\n"


def test_binds_read_write_and_read_only(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "file").write_text("data\n")
    (tmp_path / "out").mkdir()
    r = sh(
        "cat /in/file; echo made > /out/new; echo x > /in/nope",
        ro_binds={tmp_path / "in": "/in"},
        binds=[(str(tmp_path / "out"), "/out")],
    )
    assert r.stdout == b"data\n"
    assert b"Read-only file system" in r.stderr
    assert r.returncode != 0
    assert (tmp_path / "out" / "new").read_text() == "made\n"
    assert not (tmp_path / "in" / "nope").exists()


def test_bind_spec_strings_and_chained_binds(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("spec\n")
    r = sh("cat /spec/f", ro_binds=[f"{tmp_path}:/spec"])
    assert r.stdout == b"spec\n"
    sb = Sandbox().bind_ro(tmp_path, "/chained")
    assert sb.run(["cat", "/chained/f"], capture_output=True).stdout == b"spec\n"


def test_non_utf8_paths_are_byte_exact(tmp_path: Path) -> None:
    host = os.fsencode(tmp_path) + b"/caf\xe9"
    os.mkdir(host)
    with open(host + b"/\xff.txt", "wb") as f:
        f.write(b"odd\n")
    r = containment.run([b"ls", b"/in\xe9"], ro_binds=[(host, b"/in\xe9")], capture_output=True)
    assert (r.returncode, r.stdout) == (0, b"\xff.txt\n"), r.stderr
    # The same path as a str with surrogate escapes is the same path.
    r = containment.run(["cat", os.fsdecode(b"/x/\xff.txt")], ro_binds={os.fsdecode(host): "/x"}, capture_output=True)
    assert r.stdout == b"odd\n"


def test_tmpfs_with_a_size_fills_up() -> None:
    r = sh("head -c 2000000 /dev/zero > /scratch/f", tmpfs={"/scratch": "1M"})
    assert r.returncode != 0
    assert b"No space left on device" in r.stderr
    r = sh("echo ok > /t/f && cat /t/f", tmpfs=["/t:1M"])
    assert r.stdout == b"ok\n"
    assert Sandbox().tmpfs("/u").run(["/bin/sh", "-c", "echo ok > /u/f"]).returncode == 0


def test_chroot(rootfs: Path) -> None:
    r = containment.run(["/bin/cat", "/etc/marker"], chroot=rootfs, capture_output=True)
    assert (r.returncode, r.stdout) == (0, b"rootfs\n")
    r = containment.run(["ls", "/"], chroot=os.fsencode(rootfs), capture_output=True)
    assert b"bin" in r.stdout.split() and b"usr" not in r.stdout.split()


def test_overlay_keeps_the_template_unchanged(rootfs: Path) -> None:
    r = containment.run(["/bin/sh", "-c", "echo new > /etc/new && cat /etc/new"], overlay=rootfs, capture_output=True)
    assert (r.returncode, r.stdout) == (0, b"new\n"), r.stderr
    assert not (rootfs / "etc" / "new").exists()


def test_readonly_root(rootfs: Path) -> None:
    r = containment.run(["touch", "/newfile"], chroot=rootfs, readonly_root=True, capture_output=True)
    assert r.returncode != 0 and b"Read-only file system" in r.stderr
    assert not (rootfs / "newfile").exists()


def test_private_tmp_is_writable() -> None:
    assert sh("echo x > /tmp/f && cat /tmp/f").stdout == b"x\n"


def test_memory_limit_oom() -> None:
    r = sh("head -c 200000000 /dev/zero | tail -c 100000000 > /dev/null", memory="32M", timeout=60)
    assert r.oom_killed is True
    assert r.returncode != 0
    assert not r.timed_out


def test_memory_limit_program_survives_its_child_oom() -> None:
    # The child volunteers as the OOM killer's victim (raising oom_score_adj needs no privilege).
    hog = "(echo 1000 > /proc/self/oom_score_adj; head -c 200000000 /dev/zero | tail -c 100000000 > /dev/null)"
    r = sh(f"{hog}; echo survived", memory="32M", timeout=60)
    assert r.stdout == b"survived\n", r
    assert r.returncode == 0
    assert r.oom_killed is True


def test_cpus() -> None:
    allowed = sorted(os.sched_getaffinity(0))
    cpu = allowed[-1]
    for spec in (str(cpu), [cpu], cpu):
        r = sh("grep Cpus_allowed_list /proc/self/status", cpus=spec)
        assert r.stdout.split() == [b"Cpus_allowed_list:", str(cpu).encode()]


def test_pids_limit_makes_fork_fail() -> None:
    r = sh("for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1 & done; wait", pids=4, timeout=30)
    assert b"fork" in r.stderr.lower() or b"resource temporarily unavailable" in r.stderr.lower(), r.stderr


def test_timeout_kills_the_sandbox() -> None:
    start = time.monotonic()
    r = containment.run(["sleep", "30"], timeout=0.5)
    assert (r.timed_out, r.returncode, r.oom_killed) == (True, -9, False)
    assert time.monotonic() - start < 10
    with pytest.raises(containment.CalledProcessError) as info:
        Sandbox(timeout=0.3).run(["sleep", "30"], check=True)
    assert info.value.timed_out and "timeout" in str(info.value)
    # The run's timeout replaces the sandbox's.
    assert Sandbox(timeout=0.2).run(["sleep", "0.5"], timeout=20).returncode == 0


def test_rlimits() -> None:
    r = sh("ulimit -n; ulimit -Sc; ulimit -Hc", rlimits={"nofile": 64, "core": (0, 0)})
    assert r.stdout.split() == [b"64", b"0", b"0"]
    r = Sandbox().rlimit("nofile", 32, 48).run(["/bin/sh", "-c", "ulimit -Sn; ulimit -Hn"], capture_output=True)
    assert r.stdout.split() == [b"32", b"48"]


def test_user_and_groups() -> None:
    r = sh("id -u; id -g; id -G", user=(65534, 65534), groups=[65534, 100])
    assert r.stdout.split()[:2] == [b"65534", b"65534"]
    assert b"100" in r.stdout.split()[2:]
    assert Sandbox().user(1234).run(["id", "-g"], capture_output=True).stdout == b"1234\n"


def test_capabilities_and_seccomp() -> None:
    def status(**kw: Any) -> dict[str, str]:
        out = containment.run(["cat", "/proc/self/status"], capture_output=True, **kw).stdout.decode()
        return dict(line.split(":\t", 1) for line in out.splitlines() if ":\t" in line)

    default = status()
    assert int(default["CapEff"], 16) == 0 and default["Seccomp"].strip() == "2"
    assert int(status(capabilities=["CAP_NET_BIND_SERVICE"])["CapEff"], 16) == 1 << 10
    assert status(seccomp=False)["Seccomp"].strip() == "0"


def test_sysfs() -> None:
    assert sh("ls /sys/class", sysfs=True).returncode == 0
    assert sh("ls /sys/class").returncode != 0


def test_network_none_and_host() -> None:
    def links(**kw: Any) -> set[str]:
        out = containment.run(["cat", "/proc/net/dev"], capture_output=True, **kw).stdout.decode()
        return {line.split(":")[0].strip() for line in out.splitlines()[2:]}

    assert links() == {"lo"}
    assert links(net="none") == {"lo"}
    with open("/proc/net/dev") as f:
        host = {line.split(":")[0].strip() for line in f.read().splitlines()[2:]}
    assert links(net="host") == host


def test_bridge_network_in_a_private_namespace() -> None:
    """A thread in its own network namespace (the test's, not the host's) creates a
    bridge through `create=` and starts a sandbox on it."""
    out: list[Any] = []

    def in_netns() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x40000000) != 0:  # CLONE_NEWNET, this thread only
            out.append(OSError(ctypes.get_errno(), "unshare"))
            return
        try:
            bridge = containment.Bridge("pybr0", "10.77.42.17/24", create="10.77.42.1/24")
            out.append(containment.run(["ip", "-4", "-o", "addr", "show", "eth0"], net=bridge, capture_output=True))
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            out.append(e)

    t = threading.Thread(target=in_netns)
    t.start()
    t.join(60)
    (r,) = out
    if isinstance(r, BaseException):
        raise r
    assert r.returncode == 0, r.stderr
    assert b"10.77.42.17/24" in r.stdout


def test_one_sandbox_many_runs() -> None:
    sb = Sandbox(memory="64M", pids=16, hostname="reused")
    for i in range(5):
        r = sb.run(["/bin/sh", "-c", f"hostname; exit {i}"], capture_output=True)
        assert (r.returncode, r.stdout) == (i, b"reused\n")


def test_gil_is_released_while_running() -> None:
    ticks = 0
    stop = threading.Event()

    def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.01)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        containment.run(["sleep", "0.5"])
    finally:
        stop.set()
        t.join()
    assert ticks >= 20


def test_overlay_with_an_upper_directory_keeps_the_changes(rootfs: Path, tmp_path: Path) -> None:
    upper = tmp_path / "changes"
    upper.mkdir()
    r = containment.run(["/bin/sh", "-c", "echo kept > /etc/kept"], overlay=(rootfs, upper), capture_output=True)
    assert r.returncode == 0, r.stderr
    assert (upper / "upper" / "etc" / "kept").read_text() == "kept\n"
    assert not (rootfs / "etc" / "kept").exists()
    r = Sandbox().overlay(rootfs, upper).run(["cat", "/etc/kept"], capture_output=True)
    assert r.stdout == b"kept\n"


def test_private_tmp_can_be_turned_off() -> None:
    r = sh("ls -d /tmp", private_tmp=False)
    assert r.returncode != 0 and b"No such file or directory" in r.stderr


def test_cpu_quota_slows_a_busy_loop() -> None:
    r = sh("i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done", cpu_quota=0.2, timeout=60)
    cpu = r.usage.user + r.usage.system
    assert r.returncode == 0 and cpu > 0.05
    assert r.usage.wall > 2 * cpu, r.usage


def test_cpu_weight() -> None:
    assert containment.run(["true"], cpu_weight=500).returncode == 0


def memory_hierarchy() -> Path:
    v1 = Path("/sys/fs/cgroup/memory")
    return v1 if v1.is_dir() else Path("/sys/fs/cgroup")


def test_cgroup_parent() -> None:
    rel = f"containment-pytest-{os.getpid()}"
    parent = memory_hierarchy() / rel
    parent.mkdir()
    try:
        r = containment.run(["/bin/sh", "-c", "cat /proc/self/cgroup"], memory="64M", cgroup_parent=rel, capture_output=True)
        assert r.returncode == 0
        assert [d for d in parent.iterdir() if d.is_dir()] == []  # removed after the run
    finally:
        parent.rmdir()
    with pytest.raises(containment.ContainmentOSError) as info:
        containment.run(["true"], memory="64M", cgroup_parent="no/such/parent")
    assert info.value.op == "cgroup parent" and info.value.errno == 2
    assert info.value.path == str(memory_hierarchy() / "no/such/parent")


def test_a_kept_network_namespace_serves_the_next_bridged_sandbox() -> None:
    # In a thread of its own, moved into a new network namespace with a bridge, so
    # the host's network is never touched; the namespace goes with the thread.
    ip = shutil.which("ip") or "/usr/sbin/ip"
    if not os.path.exists(ip):
        skip_or_fail("needs ip (Debian package iproute2)")
    seen: dict[str, object] = {}

    def body() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x40000000) != 0:  # CLONE_NEWNET
            seen["error"] = f"unshare: errno {ctypes.get_errno()}"
            return
        for args in (["link", "add", "ctbr-py", "type", "bridge"], ["addr", "add", "10.77.9.1/24", "dev", "ctbr-py"],
                     ["link", "set", "ctbr-py", "up"]):
            subprocess.run([ip, *args], check=True)

        def ns(addr: str, reuse: bool) -> str:
            net = containment.Bridge("ctbr-py", addr, reuse=reuse)
            r = containment.run(["readlink", "/proc/self/ns/net"], net=net, capture_output=True)
            assert r.returncode == 0, r
            return r.stdout.decode().strip()

        seen["reused"] = [ns("10.77.9.2/24", True), ns("10.77.9.3/24", True)]
        seen["new"] = ns("10.77.9.4/24", False)
        seen["ports"] = subprocess.run([ip, "-o", "link", "show", "master", "ctbr-py"], capture_output=True,
                                       check=True).stdout.decode().count("ctm")
        seen["released"] = containment.release_kept_namespaces()

    t = threading.Thread(target=body)
    t.start()
    t.join()
    assert "error" not in seen, seen
    reused, new = seen["reused"], seen["new"]
    assert isinstance(reused, list) and reused[0] == reused[1] and reused[0].startswith("net:["), seen
    assert new != reused[0], seen
    assert seen["ports"] >= 1 and seen["released"] == 1, seen


def test_a_kept_loopback_namespace_serves_the_next_sandbox() -> None:
    if os.geteuid() != 0:
        skip_or_fail("needs root: only root keeps network namespaces")

    def ns(net: str) -> str:
        r = containment.run(["readlink", "/proc/self/ns/net"], net=net, capture_output=True)  # type: ignore[arg-type]
        assert r.returncode == 0, r
        return r.stdout.decode().strip()

    containment.release_kept_namespaces()  # whatever an earlier test left
    first = ns("none-reused")
    assert first.startswith("net:[") and ns("none-reused") == first
    assert ns("none") != first
    assert containment.release_kept_namespaces() == 1


def test_an_unprivileged_caller_keeps_no_loopback_namespace() -> None:
    # Only root keeps namespaces: another user's net="none-reused" works as "none".
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        skip_or_fail("needs root and setpriv (util-linux) to run a caller as nobody")
        return
    script = ("import containment\n"
              "r = containment.run(['true'], net='none-reused')\n"
              "print(r.returncode, containment.release_kept_namespaces())\n")
    out = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", script],
                         capture_output=True, text=True, cwd="/")
    assert out.stdout.split() == ["0", "0"], out


def test_a_host_without_standard_descriptors_still_spawns(tmp_path: Path) -> None:
    # A daemon may run with 0, 1 and 2 closed; the sandbox's own descriptors must
    # not take those numbers (spawning failed with EBADF at the init's setup), for
    # a plain and for a named sandbox. What happened goes to a file: 0-2 are gone.
    report = tmp_path / "report"
    script = (
        "import os, sys, containment\n"
        "for fd in (0, 1, 2):\n"
        "    os.close(fd)\n"
        "out = []\n"
        "try:\n"
        "    r = containment.run(['/bin/sh', '-c', 'echo hi'], capture_output=True, memory='64M')\n"
        "    out.append(repr((r.returncode, r.stdout)))\n"
        "    name = 'ctm-pytest-nostd-%d' % os.getpid()\n"
        "    with containment.Sandbox(memory='64M').start(name=name) as running:\n"
        "        out.append(repr(running.run(['/bin/true']).returncode))\n"
        "except Exception as e:\n"
        "    out.append('error ' + repr(e))\n"
        "open(sys.argv[1], 'w').write('\\n'.join(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(report)], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert report.read_text().splitlines() == ["(0, b'hi\\n')", "0"]
