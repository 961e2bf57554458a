"""Shared fixtures: the root guard, a busybox rootfs, and the leak checks.

Tests marked ``root`` need root (every sandbox does: namespaces need
CAP_SYS_ADMIN). They skip with a reason when not run as root, unless
CONTAINMENT_MUST_WORK=1, where they fail instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

MUST_WORK = os.environ.get("CONTAINMENT_MUST_WORK") == "1"
BUSYBOX = Path("/bin/busybox")
# The applets the tests use inside a chroot.
APPLETS = ["sh", "echo", "cat", "ls", "id", "hostname", "true", "false", "sleep", "touch", "mkdir", "head", "env"]


def skip_or_fail(reason: str) -> None:
    """Skips with `reason`, or fails when CONTAINMENT_MUST_WORK=1."""
    if MUST_WORK:
        pytest.fail(f"CONTAINMENT_MUST_WORK=1 but: {reason}")
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "root: needs root (namespaces, cgroups); skips otherwise")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("root") and os.geteuid() != 0:
        skip_or_fail("needs root: sandboxes need CAP_SYS_ADMIN")


def own_cgroups() -> set[str]:
    """Cgroups of this process under the default parent of each hierarchy
    (they are named `<supervisor pid>.<start time>.<n>`)."""
    prefix = f"{os.getpid()}."
    found = set()
    for parent in glob.glob("/sys/fs/cgroup/*/containment") + glob.glob("/sys/fs/cgroup/containment"):
        for entry in os.listdir(parent):
            if entry.startswith(prefix):
                found.add(os.path.join(parent, entry))
    return found


@pytest.fixture(autouse=True)
def no_leaked_cgroups() -> Iterator[None]:
    """Every test leaves no cgroup of this process behind."""
    before = own_cgroups()
    yield
    leaked = own_cgroups() - before
    assert not leaked, f"cgroups left behind: {sorted(leaked)}"


def pid_gone(pid: int) -> bool:
    """Whether no process `pid` exists (a zombie counts as existing)."""
    return not os.path.exists(f"/proc/{pid}")


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A minimal root file system: a static busybox and its applets."""
    if not BUSYBOX.is_file():
        skip_or_fail("needs a static /bin/busybox (Debian package busybox-static)")
    root = tmp_path_factory.mktemp("rootfs")
    for d in ["bin", "proc", "dev", "tmp", "etc", "data"]:
        (root / d).mkdir()
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    for applet in APPLETS:
        (root / "bin" / applet).symlink_to("busybox")
    (root / "etc" / "marker").write_text("rootfs\n")
    (root / "bin" / "noexec").write_text("#!/bin/sh\necho never\n")
    os.chmod(root / "bin" / "noexec", stat.S_IRUSR | stat.S_IWUSR)
    return root
