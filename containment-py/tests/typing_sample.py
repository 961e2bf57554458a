"""Typical uses of the API, checked with `mypy --strict` (tests/test_typing.py).

Never run: it only has to type-check. Each `reveal_type`-free assignment with an
annotation pins down what the stubs say.
"""

from __future__ import annotations

import datetime
import os
import signal
from pathlib import Path
from typing import IO, Any

import containment
from containment import (
    PIPE,
    STDOUT,
    Bridge,
    CompletedProcess,
    IdMaps,
    Process,
    Running,
    RunningInfo,
    Sandbox,
    Seccomp,
    Usage,
)


def run_variants() -> None:
    r: CompletedProcess[bytes] = containment.run(["echo", "hi"], memory="128M", cpus="1,3", capture_output=True, timeout=5)
    out: bytes = r.stdout
    code: int = r.returncode
    oom: bool = r.oom_killed
    timed_out: bool = r.timed_out
    usage: Usage = r.usage
    wall: float = usage.wall
    peak: int | None = usage.peak_memory
    r.check_returncode()

    t: CompletedProcess[str] = containment.run(["echo"], text=True, capture_output=True, input="x")
    text_out: str = t.stdout
    e: CompletedProcess[Any] = containment.run([b"cat"], encoding="latin-1", stdout=PIPE, stderr=STDOUT)

    containment.run(
        "true",
        chroot=Path("/srv/root"),
        memory=134217728,
        cpus=[1, 3],
        pids=64,
        net=Bridge("br0", "10.77.0.17/24", gateway="10.77.0.1", mtu=1500, create=True),
        binds=[("/data/out", "/out")],
        ro_binds={"/data/in": "/in"},
        tmpfs={"/tmp": "64M"},
        hostname="job-17",
        user=(1000, 1000),
        env={"PATH": containment.DEFAULT_PATH},
        cwd=b"/",
        timeout=datetime.timedelta(seconds=30),
        rlimits={"nofile": 64, "core": (0, 0), "as": "1G"},
        check=True,
        stdin=containment.DEVNULL,
        stdout=open(os.devnull, "wb"),
        stderr=containment.INHERIT,
    )
    containment.run(["true"], net="host")
    containment.run(["true"], overlay=("/srv/template", "/srv/upper"))
    del out, code, oom, timed_out, wall, peak, text_out, e


def builder() -> None:
    sb: Sandbox = (
        Sandbox(memory="128M")
        .chroot("/srv/rootfs")
        .cpus("1,3")
        .pids(64)
        .net(Bridge("br0", "10.77.0.17/24"))
        .bind_ro("/data/in", "/in")
        .bind("/data/out", "/out")
        .tmpfs("/tmp", "64M")
        .hostname("job-17")
        .timeout(30)
        .user(1000)
        .rlimit("nofile", 64)
    )
    done: CompletedProcess[bytes] = sb.run(["/bin/sh", "-c", "make test"], capture_output=True)
    del done

    p: Process[bytes] = sb.spawn(["cat"], stdin=PIPE, stdout=PIPE)
    with p:
        stdin: IO[bytes] | None = p.stdin
        if stdin is not None:
            stdin.write(b"data")
        pid: int = p.pid
        rc: int | None = p.poll()
        try:
            final: int = p.wait(timeout=1.5)
        except containment.TimeoutExpired as exc:
            p.send_signal(signal.SIGTERM)
            p.terminate()
            p.kill()
            print(exc.timeout)
        out, err = p.communicate(b"more", timeout=10)
        usage: Usage | None = p.usage
        del pid, rc, out, err, usage

    tp: Process[str] = sb.spawn(["cat"], stdin=PIPE, stdout=PIPE, text=True)
    if tp.stdout is not None:
        line: str = tp.stdout.readline()
        del line
    tp.kill()


def identity_and_security() -> None:
    sb = Sandbox(
        user_namespace=IdMaps(uid=[(0, 100000, 65536)], gid=["0:100000:65536"]),
        idmap_binds=False,
        seccomp=Seccomp(allow_ptrace=True, allow_user_namespaces=False, deny=["symlink"]),
    )
    sb = sb.user_namespace("auto").user_namespace(("range", 1000)).user_namespace("off").idmap_binds()
    sb = sb.seccomp().seccomp(False).seccomp(Seccomp())
    maps: list[tuple[int, int, int]] = IdMaps(uid=[[0, 1, 1]]).uid
    denied: list[str] = Seccomp(deny=("ptrace",)).deny
    size: int = containment.DEFAULT_RANGE_SIZE + containment.RANGE_BASE
    r: CompletedProcess[bytes] = sb.run(
        ["/opt/tool"], host_program=True, inherit_env=True, env_remove=["SECRET", b"TOKEN"], capture_output=True
    )
    containment.run(["true"], user_namespace="own", idmap_binds=True, seccomp=True, host_program=False)
    removed: int = containment.gc() + containment.gc(["containment", Path("jobs")])
    del maps, denied, size, r, removed


def long_lived() -> None:
    sb = Sandbox(memory="128M")
    with sb.start(name="build-17") as r:
        bare: Running[bytes] = r
        pid: int = r.pid
        name: str | None = r.name
        persistent: bool = r.is_persistent
        out: CompletedProcess[bytes] = r.run(["make"], capture_output=True, timeout=60)
        text: CompletedProcess[str] = r.run(["make"], capture_output=True, text=True, cwd="/src")
        p: Process[bytes] = r.spawn(["cat"], stdin=PIPE, stdout=PIPE, env={"A": "1"})
        p.kill()
        del bare, pid, name, persistent, out, text
    main: Running[str] = sb.start(["server"], stdout=PIPE, text=True, name="svc", persistent=True)
    if main.stdout is not None:
        line: str = main.stdout.readline()
        del line
    try:
        done: CompletedProcess[None] = main.wait(timeout=5)
        code: int = done.returncode
        del code
    except containment.TimeoutExpired:
        pass
    rc: int | None = main.poll()
    main.detach()
    other: Running[bytes] = Running.open("svc")
    ended: CompletedProcess[None] | None = other.stop(grace=datetime.timedelta(seconds=10))
    killed: CompletedProcess[None] | None = other.kill()
    infos: list[RunningInfo] = containment.list()
    for i in infos:
        uptime: float = i.uptime
        mem: int | None = i.memory_current
        limits: str = i.limits
        del uptime, mem, limits
    del rc, ended, killed


def errors() -> None:
    try:
        containment.run(["prog"])
    except containment.ProgramNotFoundError as e:
        filename: object = e.filename
        n: int | None = e.errno
        stage: str = e.stage
        del filename, n, stage
    except containment.SetupError as e:
        path: str | None = e.path
        del path
    except containment.InvalidValueError as e:
        kind: str = e.kind
        value: str | None = e.value
        del kind, value
    except containment.NeedsPrivilegeError as e:
        feature: str = e.feature
        how: str = e.how
        del feature, how
    except containment.CalledProcessError as e:
        rc: int = e.returncode
        oom: bool = e.oom_killed
        del rc, oom
    except containment.ContainmentError:
        pass
