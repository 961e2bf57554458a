"""`Sandbox.spawn()` and `Process`: waiting, signals, pipes, cleanup, Ctrl-C, threads, fork."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import containment
from containment import PIPE, Sandbox

from .conftest import pid_gone

pytestmark = pytest.mark.root


def test_spawn_wait_poll() -> None:
    p = Sandbox().spawn(["/bin/sh", "-c", "sleep 0.3; exit 7"])
    assert p.pid > 0 and p.returncode is None and p.poll() is None and p.usage is None
    assert p.wait() == 7
    assert (p.returncode, p.poll(), p.oom_killed, p.timed_out) == (7, 7, False, False)
    assert p.usage is not None and p.usage.wall >= 0.3
    assert pid_gone(p.pid)
    assert "returncode=7" in repr(p)


def test_wait_timeout_leaves_it_running_then_kill() -> None:
    p = Sandbox().spawn(["sleep", "30"])
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as info:
        p.wait(timeout=0.2)
    assert isinstance(info.value, containment.TimeoutExpired)
    assert info.value.timeout == 0.2 and info.value.cmd == ["sleep", "30"]
    assert 0.2 <= time.monotonic() - start < 2
    assert p.poll() is None and not pid_gone(p.pid)
    with pytest.raises(containment.TimeoutExpired):
        p.wait(timeout=0)
    p.kill()
    assert p.wait(timeout=10) == -9
    assert pid_gone(p.pid)


@pytest.mark.parametrize(
    ("method", "expected"),
    [("terminate", -signal.SIGTERM), ("kill", -signal.SIGKILL), ("int", -signal.SIGINT), ("usr1", -signal.SIGUSR1)],
)
def test_signals_reach_the_program(method: str, expected: int) -> None:
    p = Sandbox().spawn(["sleep", "30"])
    time.sleep(0.1)
    if method == "terminate":
        p.terminate()
    elif method == "kill":
        p.kill()
    elif method == "int":
        p.send_signal(signal.SIGINT)
    else:
        p.send_signal(signal.SIGUSR1)
    assert p.wait(timeout=10) == expected
    p.kill()  # after the end: nothing happens
    p.send_signal(0)


def test_program_that_handles_a_signal() -> None:
    p = Sandbox().spawn(["/bin/sh", "-c", "trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done"], stdout=PIPE)
    assert p.stdout is not None
    assert p.stdout.readline() == b"ready\n"
    p.terminate()
    assert p.wait(timeout=10) == 42
    p.stdout.close()


def test_bad_signal_numbers() -> None:
    with Sandbox().spawn(["sleep", "30"]) as p:
        with pytest.raises(containment.InvalidValueError):
            p.send_signal(65)
        with pytest.raises(containment.InvalidValueError):
            p.send_signal(-1)
        with pytest.raises(TypeError):
            p.send_signal("TERM")  # type: ignore[arg-type]


def test_pipes_are_binary_file_objects() -> None:
    p = Sandbox().spawn(["/bin/sh", "-c", "read x; echo got $x; echo err >&2"], stdin=PIPE, stdout=PIPE, stderr=PIPE)
    assert p.stdin is not None and p.stdout is not None and p.stderr is not None
    p.stdin.write(b"hello\n")
    p.stdin.flush()
    assert p.stdout.readline() == b"got hello\n"
    assert p.stderr.read() == b"err\n"
    assert p.wait(timeout=10) == 0
    for f in (p.stdin, p.stdout, p.stderr):
        f.close()


def test_pipes_in_text_mode() -> None:
    with Sandbox().spawn(["cat"], stdin=PIPE, stdout=PIPE, text=True) as p:
        assert p.stdin is not None and p.stdout is not None
        p.stdin.write("héllo\n")
        p.stdin.flush()
        assert p.stdout.readline() == "héllo\n"
        out, err = p.communicate("more")
        assert (out, err) == ("more", None)
        assert p.returncode == 0


def test_communicate_with_input_and_large_output() -> None:
    data = os.urandom(3 << 20)
    p = Sandbox().spawn(["/bin/sh", "-c", "cat; head -c 3000000 /dev/zero >&2"], stdin=PIPE, stdout=PIPE, stderr=PIPE)
    out, err = p.communicate(data, timeout=60)
    assert out == data and err == bytes(3000000)
    assert p.returncode == 0
    assert p.stdin is not None and p.stdin.closed


def test_communicate_timeout_keeps_the_output_and_can_go_on() -> None:
    with Sandbox().spawn(["/bin/sh", "-c", "echo early; sleep 1; echo late"], stdout=PIPE) as p:
        with pytest.raises(containment.TimeoutExpired) as info:
            p.communicate(timeout=0.3)
        assert info.value.output == b"early\n"
        out, err = p.communicate(timeout=20)
        assert (out, err) == (b"early\nlate\n", None)
        with pytest.raises(ValueError):
            p.communicate(b"too late")


def test_communicate_needs_a_stdin_pipe_for_input() -> None:
    with Sandbox().spawn(["true"]) as p:
        with pytest.raises(containment.InvalidValueError):
            p.communicate(b"x")
        assert p.communicate() == (None, None)


def test_context_manager_kills_and_reaps() -> None:
    with Sandbox(memory="64M").spawn(["/bin/sh", "-c", "sleep 60 & sleep 60 & wait"], stdout=PIPE) as p:
        pid = p.pid
        assert not pid_gone(pid)
    assert pid_gone(pid)
    assert p.returncode == -9
    assert p.stdout is not None and p.stdout.closed
    # The autouse fixture checks that its cgroups are gone too.


def test_context_manager_on_exception() -> None:
    with pytest.raises(RuntimeError):
        with Sandbox().spawn(["sleep", "60"]) as p:
            raise RuntimeError("boom")
    assert p.returncode == -9 and pid_gone(p.pid)


def test_dropping_a_process_kills_and_reaps_it() -> None:
    p = Sandbox(memory="64M").spawn(["sleep", "60"])
    pid = p.pid
    del p
    import gc

    gc.collect()
    assert pid_gone(pid)


def test_ctrl_c_during_wait_raises_promptly_and_kills() -> None:
    p = Sandbox(memory="64M").spawn(["sleep", "60"])
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        p.wait()
    timer.join()
    assert time.monotonic() - start < 2
    assert p.returncode == -9
    assert pid_gone(p.pid)


def test_ctrl_c_during_run_raises_promptly_and_kills() -> None:
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        containment.run(["/bin/sh", "-c", "sleep 60"], capture_output=True, memory="64M")
    timer.join()
    assert time.monotonic() - start < 2


def test_gil_is_released_while_waiting() -> None:
    p = Sandbox().spawn(["sleep", "0.5"])
    counter = 0

    def count() -> None:
        nonlocal counter
        while p.returncode is None:
            counter += 1
            time.sleep(0.01)

    t = threading.Thread(target=count)
    t.start()
    assert p.wait() == 0
    t.join()
    assert counter >= 20


def test_eight_threads_spawn_at_once() -> None:
    sb = Sandbox(memory="64M", pids=16)
    barrier = threading.Barrier(8)

    def job(i: int) -> tuple[int, bytes]:
        barrier.wait()
        r = sb.run(["/bin/sh", "-c", f"echo {i}; exit {i}"], capture_output=True)
        return r.returncode, r.stdout

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(job, range(8)))
    assert results == [(i, f"{i}\n".encode()) for i in range(8)]


def test_wait_and_kill_from_two_threads() -> None:
    p = Sandbox().spawn(["sleep", "60"])
    codes: list[int] = []
    waiters = [threading.Thread(target=lambda: codes.append(p.wait())) for _ in range(3)]
    for w in waiters:
        w.start()
    time.sleep(0.2)
    p.kill()
    for w in waiters:
        w.join(10)
    assert codes == [-9, -9, -9]


def test_sandbox_outlives_the_thread_that_spawned_it() -> None:
    box: list[containment.Process[bytes]] = []
    t = threading.Thread(target=lambda: box.append(Sandbox().spawn(["/bin/sh", "-c", "sleep 0.5; exit 3"])))
    t.start()
    t.join()
    assert box[0].wait(timeout=10) == 3


def test_fork_then_run_in_the_child() -> None:
    """After os.fork() (here while other threads spawn sandboxes) the child can run
    a sandbox: no lock of the module is held across the fork."""
    stop = threading.Event()
    sb = Sandbox(memory="64M")

    def busy() -> None:
        while not stop.is_set():
            sb.run(["true"])

    threads = [threading.Thread(target=busy) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.1)
        pid = os.fork()
        if pid == 0:  # the child: no pytest from here on
            code = 99
            try:
                code = containment.run(["/bin/sh", "-c", "exit 7"], memory="32M", timeout=20).returncode
            finally:
                os._exit(code)
        deadline = time.monotonic() + 30
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail("the forked child hung")
            time.sleep(0.02)
        assert os.waitstatus_to_exitcode(status) == 7
    finally:
        stop.set()
        for t in threads:
            t.join()


def test_python_inside_a_subprocess_sees_keyboard_interrupt() -> None:
    """Ctrl-C in a real interpreter (its own process group), not only in pytest."""
    code = (
        "import containment, os, signal, threading, time\n"
        "p = containment.Sandbox().spawn(['sleep', '60'])\n"
        "threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()\n"
        "t = time.monotonic()\n"
        "try:\n"
        "    p.wait()\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', round(time.monotonic() - t, 1) < 2, p.returncode, flush=True)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30)
    assert r.stdout == b"interrupted True -9\n", r.stderr


def test_no_descriptor_leaks() -> None:
    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    sb = Sandbox(memory="64M")
    sb.run(["true"], capture_output=True)  # warm up lazily opened descriptors
    before = fds()
    for _ in range(10):
        sb.run(["/bin/sh", "-c", "echo x; echo y >&2"], capture_output=True, input=b"in")
        sb.run(["true"], stdout=PIPE, stderr=containment.STDOUT)
        with sb.spawn(["cat"], stdin=PIPE, stdout=PIPE, stderr=PIPE) as p:
            p.communicate(b"data")
        q = sb.spawn(["true"], stdout=PIPE)
        q.wait()
        assert q.stdout is not None
        q.stdout.close()
        with pytest.raises(containment.ProgramNotFoundError):
            sb.run(["/nonexistent"], capture_output=True)
    assert fds() == before
