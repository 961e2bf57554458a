"""Long-lived sandboxes: `Sandbox.start()`, `Running`, `Running.open()`, `list()`."""

from __future__ import annotations

import fcntl
import gc
import glob
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import containment
from containment import PIPE, Running, Sandbox

from .conftest import pid_gone

pytestmark = pytest.mark.root

_counter = itertools.count()


def leftovers(name: str) -> list[str]:
    """What a named sandbox leaves: its state directory and its cgroups."""
    found = glob.glob(f"/sys/fs/cgroup/*/containment/named-{name}") + glob.glob(
        f"/sys/fs/cgroup/containment/named-{name}"
    )
    if os.path.exists(f"/run/containment/{name}"):
        found.append(f"/run/containment/{name}")
    return found


def id_slot(r: Running) -> int:
    """The allocator slot of the sandbox's range of host ids."""
    uid_map = r.run(["cat", "/proc/self/uid_map"], capture_output=True).stdout.split()
    return (int(uid_map[1]) - containment.RANGE_BASE) // containment.DEFAULT_RANGE_SIZE


def remove_id_lease(slot: int) -> None:
    """Removes the lease file of a stopped persistent sandbox's id range, which the
    core leaves (unlocked) under /run/containment/ids; as the lease protocol does:
    under the lock, and only the file still at the path."""
    path = f"/run/containment/ids/{slot}"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises while a sandbox holds it
        if os.fstat(fd).st_ino == os.stat(path).st_ino:
            os.unlink(path)
    finally:
        os.close(fd)
    assert not os.path.exists(path)


def process_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def kill_if_running(name: str) -> None:
    try:
        Running.open(name).kill()
    except containment.InvalidValueError:
        pass


@pytest.fixture
def name() -> Iterator[str]:
    """A sandbox name of this test; nothing of it may be left afterwards."""
    n = f"pytest-{os.getpid()}-{next(_counter)}"
    yield n
    kill_if_running(n)  # only after a failure
    assert leftovers(n) == []


def shell(script: str) -> list[str]:
    return ["/bin/sh", "-c", script]


def test_start_without_a_program_then_run_programs_in_it(name: str) -> None:
    with Sandbox(hostname="lived", pids=32).start(name=name) as r:
        assert r.pid > 0 and r.name == name and not r.is_persistent and r.args is None
        assert r.returncode is None and r.stdin is None and r.stdout is None
        assert f"name='{name}'" in repr(r) and "running" in repr(r)
        assert os.path.isdir(f"/run/containment/{name}")
        r.run(shell("echo data > /tmp/f; readlink /proc/self/ns/pid > /tmp/ns"), check=True)
        # A file written by one program is seen by the next; so are the host
        # name and the PID namespace.
        out = r.run(shell("cat /tmp/f; hostname; cat /tmp/ns; readlink /proc/self/ns/pid"), capture_output=True)
        lines = out.stdout.decode().splitlines()
        assert out.returncode == 0 and lines[:2] == ["data", "lived"]
        assert lines[2] == lines[3] != os.readlink("/proc/self/ns/pid")
        with r.spawn(["cat"], stdin=PIPE, stdout=PIPE) as p:
            assert p.communicate(b"via spawn", timeout=10) == (b"via spawn", None)
        assert p.returncode == 0
        done = r.stop(grace=5)
    # Started without a main program: the init's outcome, killed.
    assert done is not None and done.returncode == -9 and done.args is None
    assert pid_gone(r.pid) and "stopped" in repr(r)
    assert leftovers(name) == []
    with pytest.raises(containment.InvalidValueError):
        r.run(["true"])
    # Stopping again gives the same.
    again = r.stop()
    assert again is not None and again.returncode == -9


def test_programs_see_the_main_programs_filesystem_hostname_and_pids(name: str) -> None:
    main = shell(
        "echo $$ > /tmp/main.pid; hostname > /tmp/host; readlink /proc/self/ns/pid > /tmp/ns; "
        "echo from-main > /tmp/shared; echo ready; while :; do sleep 0.05; done"
    )
    with Sandbox(hostname="box-1").start(main, name=name, stdout=PIPE) as r:
        assert r.stdout is not None and r.stdout.readline() == b"ready\n"
        assert r.args == main
        out = r.run(
            shell(
                "cat /tmp/shared; hostname; cat /tmp/host; readlink /proc/self/ns/pid; cat /tmp/ns; "
                "readlink /proc/$(cat /tmp/main.pid)/ns/pid; kill -0 $(cat /tmp/main.pid) && echo alive"
            ),
            capture_output=True,
            text=True,
        )
        lines = out.stdout.splitlines()
        assert out.returncode == 0, out.stderr
        assert lines[:3] == ["from-main", "box-1", "box-1"]
        assert lines[3] == lines[4] == lines[5] and lines[6] == "alive"
        r.run(shell("echo from-exec > /tmp/back"), check=True)
        assert r.run(["cat", "/tmp/back"], capture_output=True).stdout == b"from-exec\n"
    assert leftovers(name) == []


def test_programs_run_with_the_sandboxs_limits_and_identity() -> None:
    sb = Sandbox(rlimits={"nofile": 64}, user=(1000, 1000), pids=16)
    with sb.start() as r:
        out = r.run(shell("ulimit -n; id -u; id -g"), capture_output=True, text=True)
        assert out.stdout == "64\n1000\n1000\n", out.stderr


def test_stop_lets_a_program_that_handles_term_finish(name: str) -> None:
    main = shell("trap 'echo term; exit 3' TERM; echo ready; while :; do sleep 0.05; done")
    r = Sandbox().start(main, name=name, stdout=PIPE)
    assert r.stdout is not None and r.stdout.readline() == b"ready\n"
    start = time.monotonic()
    done = r.stop(grace=10)
    assert time.monotonic() - start < 5
    assert done is not None and (done.returncode, done.args, done.stdout, done.timed_out) == (3, main, None, False)
    assert done.usage.wall > 0
    assert r.stdout.read() == b"term\n"
    r.stdout.close()
    assert r.returncode == 3 and r.wait().returncode == 3 and r.poll() == 3
    assert pid_gone(r.pid) and leftovers(name) == []


def test_stop_kills_programs_that_ignore_term_after_the_grace(name: str) -> None:
    main = shell("trap '' TERM; echo ready; while :; do sleep 0.05; done")
    r = Sandbox(memory="64M").start(main, name=name, stdout=PIPE)
    assert r.stdout is not None and r.stdout.readline() == b"ready\n"
    other = r.spawn(shell("trap '' TERM; while :; do sleep 0.05; done"))
    time.sleep(0.2)
    start = time.monotonic()
    done = r.stop(grace=1)
    took = time.monotonic() - start
    assert 1 <= took < 5
    assert done is not None and done.returncode == -9
    assert other.wait(timeout=10) == -9
    r.stdout.close()
    assert pid_gone(r.pid) and leftovers(name) == []


def test_stop_with_grace_releases_the_gil() -> None:
    r = Sandbox().start(shell("trap '' TERM; while :; do sleep 0.05; done"))
    time.sleep(0.1)
    t = threading.Thread(target=r.stop, kwargs={"grace": 1})
    counter = 0
    t.start()
    while t.is_alive():
        counter += 1
        time.sleep(0.01)
    t.join()
    assert counter >= 40 and r.returncode == -9


def test_wait_for_the_main_program(name: str) -> None:
    r = Sandbox().start(shell("sleep 0.5; exit 7"), name=name)
    with pytest.raises(containment.TimeoutExpired) as info:
        r.wait(timeout=0.1)
    assert info.value.timeout == 0.1
    assert r.poll() is None and r.returncode is None
    done = r.wait(timeout=10)
    assert (done.returncode, done.oom_killed, done.timed_out) == (7, False, False)
    assert done.usage.wall >= 0.5
    # The sandbox ended with its main program: nothing of it is left.
    assert pid_gone(r.pid) and leftovers(name) == []
    with pytest.raises(containment.ContainmentError):
        r.run(["true"])
    stopped = r.stop()
    assert stopped is not None and stopped.returncode == 7


def test_wait_for_a_sandbox_without_a_program_ends_when_another_thread_kills_it() -> None:
    r = Sandbox().start()
    timer = threading.Timer(0.3, r.kill)
    timer.start()
    done = r.wait(timeout=10)
    timer.join()
    assert done.returncode == -9 and done.args is None
    assert r.kill() is not None and pid_gone(r.pid)


def test_ctrl_c_during_wait_kills_the_sandbox() -> None:
    r = Sandbox(memory="64M").start(["sleep", "60"])
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        r.wait()
    timer.join()
    assert time.monotonic() - start < 2
    assert r.returncode == -9 and pid_gone(r.pid)


def test_main_program_pipes_and_context_manager() -> None:
    with Sandbox().start(["cat"], stdin=PIPE, stdout=PIPE) as r:
        assert r.stdin is not None and r.stdout is not None
        r.stdin.write(b"line\n")
        r.stdin.flush()
        assert r.stdout.readline() == b"line\n"
        pid = r.pid
    # Left the block: stopped (cat dies of the SIGTERM), pipes closed.
    assert r.returncode == -signal.SIGTERM and pid_gone(pid)
    assert r.stdin.closed and r.stdout.closed


def test_main_program_in_text_mode_and_stderr_to_stdout() -> None:
    r = Sandbox().start(shell("echo out; echo err >&2"), stdout=PIPE, stderr=containment.STDOUT, text=True)
    assert r.stdout is not None and r.stderr is None
    assert r.stdout.read() == "out\nerr\n"
    assert r.wait(timeout=10).returncode == 0
    r.stdout.close()


def test_run_timeout_kills_the_program_not_the_sandbox() -> None:
    with Sandbox().start() as r:
        start = time.monotonic()
        out = r.run(shell("echo before; exec sleep 30"), capture_output=True, timeout=0.5)
        assert time.monotonic() - start < 5
        assert (out.returncode, out.timed_out, out.stdout) == (-9, True, b"before\n")
        assert r.run(["true"]).returncode == 0
        with pytest.raises(containment.CalledProcessError):
            r.run(["false"], check=True)


def test_detach_then_open_run_and_stop_from_another_process(name: str) -> None:
    r = Sandbox(pids=32).start(name=name, persistent=True)
    assert r.is_persistent
    slot = id_slot(r)
    r.run(shell("echo kept > /tmp/f"), check=True)
    r.detach()
    r.detach()  # again: nothing more
    assert "detached" in repr(r)
    for method in (r.stop, r.kill, r.wait):
        with pytest.raises(containment.InvalidValueError):
            method()
    code = (
        "import containment\n"
        f"r = containment.Running.open({name!r})\n"
        "print(r.pid, r.name, flush=True)\n"
        "print(r.run(['cat', '/tmp/f'], capture_output=True).stdout.decode(), end='', flush=True)\n"
        "try:\n"
        "    r.wait()\n"
        "except containment.UnsupportedError:\n"
        "    print('cannot wait', flush=True)\n"
        "print(r.stop(grace=5), flush=True)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout == f"{r.pid} {name}\nkept\ncannot wait\nNone\n", out.stderr
    assert leftovers(name) == []
    # The init was this process's child: a zombie until the handle goes.
    pid = r.pid
    assert process_state(pid) == "Z"
    del r, method
    gc.collect()
    assert pid_gone(pid)
    remove_id_lease(slot)
    with pytest.raises(containment.InvalidValueError):
        Running.open(name)
    assert name not in [i.name for i in containment.list()]


def test_persistent_sandbox_outlives_the_process_that_started_it(name: str, tmp_path: Path) -> None:
    code = (
        "import containment, sys\n"
        f"r = containment.Sandbox(memory='64M', hostname='kept').start(name={name!r}, persistent=True)\n"
        "r.run(['/bin/sh', '-c', 'echo from-first > /tmp/f'], check=True)\n"
        "r.detach()\n"
        "print(r.pid, file=open(sys.argv[1], 'w'))\n"
    )
    # Not through pipes: the sandbox's init keeps the descriptors 0-2 of the
    # process that started it, so a pipe would stay open while it runs.
    pid_file = tmp_path / "pid"
    with open(tmp_path / "log", "w+") as log:
        out = subprocess.run(
            [sys.executable, "-c", code, str(pid_file)], stdin=subprocess.DEVNULL, stdout=log, stderr=log, timeout=60
        )
        log.seek(0)
        assert out.returncode == 0, log.read()
    pid = int(pid_file.read_text())
    slot: int | None = None
    try:
        assert not pid_gone(pid)
        infos = [i for i in containment.list() if i.name == name]
        assert len(infos) == 1
        info = infos[0]
        assert (info.pid, info.limits) == (pid, "memory=64M")
        assert info.uptime >= 0 and isinstance(info.memory_current, int) and info.memory_current > 0
        assert name in repr(info)
        r = Running.open(name)
        assert (r.pid, r.name, r.args) == (pid, name, None)
        slot = id_slot(r)
        got = r.run(shell("cat /tmp/f; hostname"), capture_output=True, text=True)
        assert got.stdout == "from-first\nkept\n"
        with pytest.raises(containment.UnsupportedError):
            r.wait()
        # Dropping an opened handle leaves the sandbox running.
        del r
        gc.collect()
        again = Running.open(name)
        assert again.run(["true"]).returncode == 0
        with again:
            pass
        assert again.stop() is None
    finally:
        kill_if_running(name)
        if slot is not None:
            remove_id_lease(slot)
    assert leftovers(name) == []
    # Its init was reparented when its starter ended; the system's init reaps it.
    deadline = time.monotonic() + 10
    while not pid_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid_gone(pid)


def test_a_sandbox_that_is_not_persistent_cannot_be_detached(name: str) -> None:
    with Sandbox().start(name=name) as r:
        with pytest.raises(containment.InvalidValueError):
            r.detach()
        assert r.run(["true"]).returncode == 0
        # Another handle in the same process sees it too.
        other = Running.open(name)
        assert other.pid == r.pid and other.run(["true"]).returncode == 0
        del other
        gc.collect()
        assert r.run(["true"]).returncode == 0


def test_names_are_validated_and_unique(name: str) -> None:
    for bad in ["", ".hidden", "-x", "a/b", "a b", "ids", "net", "x" * 65, "é"]:
        with pytest.raises(containment.InvalidValueError) as info:
            Sandbox().start(name=bad)
        assert isinstance(info.value, ValueError) and info.value.kind == "argument"
        with pytest.raises(containment.InvalidValueError):
            Running.open(bad)
    with pytest.raises(TypeError):
        Sandbox().start(name=5)  # type: ignore[arg-type]
    with pytest.raises(containment.InvalidValueError) as info:
        Sandbox().start(persistent=True)
    assert info.value.kind == "config"
    with Sandbox().start(name=name) as r:
        with pytest.raises(containment.InvalidValueError) as info:
            Sandbox().start(name=name)
        assert info.value.kind == "config" and name in str(info.value)
        assert r.run(["true"]).returncode == 0
    with pytest.raises(containment.InvalidValueError):
        Running.open(name)


def test_program_arguments_need_a_program() -> None:
    with pytest.raises(TypeError):
        Sandbox().start(stdout=PIPE)
    with pytest.raises(TypeError):
        Sandbox().start(env={"A": "1"})


def test_a_failed_start_leaves_nothing(name: str) -> None:
    with pytest.raises(containment.ProgramNotFoundError):
        Sandbox(memory="64M").start(["/nonexistent"], name=name)
    # The core leaves the name's directory, empty (its lock file is removed).
    state = f"/run/containment/{name}"
    if os.path.isdir(state):
        assert os.listdir(state) == []
        os.rmdir(state)
    assert leftovers(name) == []
    with Sandbox().start(name=name) as r:  # the name is free again
        assert r.run(["true"]).returncode == 0


def test_list_shows_named_sandboxes(name: str) -> None:
    with Sandbox(pids=16).start(name=name) as r:
        info = {i.name: i for i in containment.list()}[name]
        assert (info.pid, info.limits, info.memory_current) == (r.pid, "pids=16", None)
        assert 0 <= info.uptime < 60
    assert name not in [i.name for i in containment.list()]


def test_dropping_a_started_sandbox_kills_it(name: str) -> None:
    r = Sandbox(memory="64M").start(name=name)
    pid = r.pid
    del r
    gc.collect()
    assert pid_gone(pid) and leftovers(name) == []


def test_a_forked_copy_does_not_stop_the_sandbox() -> None:
    with Sandbox().start() as r:
        pid = os.fork()
        if pid == 0:  # the child: drops its copy of the handle
            code = 1
            try:
                del r
                gc.collect()
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert r.run(["true"]).returncode == 0 and r.returncode is None


def test_threads_run_programs_in_one_sandbox_at_once() -> None:
    with Sandbox(pids=64).start() as r:
        results: list[bytes] = []
        lock = threading.Lock()

        def job(i: int) -> None:
            out = r.run(["/bin/sh", "-c", f"echo {i}"], capture_output=True).stdout
            with lock:
                results.append(out)

        threads = [threading.Thread(target=job, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == sorted(f"{i}\n".encode() for i in range(8))


def test_no_descriptor_leaks(name: str) -> None:
    def fds() -> dict[str, str]:
        out = {}
        for f in os.listdir("/proc/self/fd"):
            try:
                out[f] = os.readlink(f"/proc/self/fd/{f}")
            except FileNotFoundError:
                pass
        return out

    sb = Sandbox(memory="64M")
    with sb.start() as warm:
        warm.run(["true"], capture_output=True)
    before = fds()
    for _ in range(5):
        with sb.start(name=name) as r:
            r.run(shell("echo x; echo y >&2"), capture_output=True, input=b"in")
            Running.open(name).run(["true"])
            with r.spawn(["cat"], stdin=PIPE, stdout=PIPE) as p:
                p.communicate(b"data")
        m = sb.start(["cat"], stdin=PIPE, stdout=PIPE, stderr=PIPE)
        m.kill()
        for f in (m.stdin, m.stdout, m.stderr):
            assert f is not None
            f.close()
        del m
        gc.collect()
    assert fds() == before
