"""The exceptions of containment.

Every error the library raises is a :class:`ContainmentError`. Each also derives
from the built-in exception a Python programmer would catch for it:

- :class:`InvalidValueError` is a :class:`ValueError` (a bad size, CPU list,
  address, path, argument, or an inconsistent combination of arguments);
- :class:`ContainmentOSError` and its subclasses are :class:`OSError` with
  ``errno``, ``strerror`` and ``filename`` set;
- :class:`ProgramNotFoundError` is a :class:`FileNotFoundError` and
  :class:`NotExecutableError` a :class:`PermissionError`, as with ``subprocess``;
- :class:`NeedsPrivilegeError` is a :class:`PermissionError` (what was asked
  for needs root, or a delegated cgroup);
- :class:`CalledProcessError` and :class:`TimeoutExpired` are the ``subprocess``
  exceptions of the same names.

Wrong Python types raise :class:`TypeError`. The mapping from the Rust library's
errors is in ``src/errors.rs``.
"""

from __future__ import annotations

import subprocess
from typing import Optional

__all__ = [
    "ContainmentError",
    "InvalidValueError",
    "UnsupportedError",
    "NeedsPrivilegeError",
    "InitDiedError",
    "ContainmentOSError",
    "SetupError",
    "ProgramNotFoundError",
    "NotExecutableError",
    "CalledProcessError",
    "TimeoutExpired",
]


class ContainmentError(Exception):
    """Base class of every exception raised by containment."""


class InvalidValueError(ContainmentError, ValueError):
    """A value was rejected before anything was created.

    ``kind`` says what the value was meant to be: ``"size"``, ``"cpuset"``,
    ``"address"``, ``"mount"``, ``"path"``, ``"argument"``, ``"environment"``,
    ``"hostname"``, ``"id"``, ``"number"``, ``"signal"``, or ``"config"`` for an
    inconsistent configuration as a whole (then ``value`` is None).
    """

    kind: str = "value"
    value: Optional[str] = None
    reason: Optional[str] = None
    expected: Optional[str] = None


class UnsupportedError(ContainmentError):
    """The kernel or the host lacks something the sandbox needs (``feature``)."""

    feature: str = ""
    reason: str = ""


class NeedsPrivilegeError(ContainmentError, PermissionError):
    """What was asked for (``feature``) needs privileges the caller lacks;
    ``how`` says what would make it work (run as root, a delegated cgroup...)."""

    feature: str = ""
    how: str = ""


class InitDiedError(ContainmentError):
    """The sandbox's init ended without saying how the program did."""


class ContainmentOSError(ContainmentError, OSError):
    """A system call failed: ``errno``, ``strerror``, and the operation ``op``
    and the ``path`` (also ``filename``) involved, where known."""

    op: Optional[str] = None
    path: Optional[str] = None


class SetupError(ContainmentOSError):
    """Setting up the sandbox failed inside it, at ``stage`` (``"mount"``,
    ``"pivot-root"``, ``"chdir"``, ...), on ``path`` if any."""

    stage: str = "unknown"


class ProgramNotFoundError(SetupError, FileNotFoundError):
    """The program does not exist inside the sandbox (``filename`` is the program)."""

    stage: str = "exec"


class NotExecutableError(SetupError, PermissionError):
    """The program exists inside the sandbox but cannot be executed."""

    stage: str = "exec"


class CalledProcessError(ContainmentError, subprocess.CalledProcessError):
    """Raised by ``check=True`` and ``check_returncode()`` when the program did
    not exit with 0; ``oom_killed`` and ``timed_out`` say why it may have died."""

    oom_killed: bool = False
    timed_out: bool = False

    def __str__(self) -> str:
        text = subprocess.CalledProcessError.__str__(self)
        if self.timed_out:
            text += " (the sandbox's timeout passed)"
        if self.oom_killed:
            text += " (the OOM killer struck: out of memory)"
        return text


class TimeoutExpired(ContainmentError, subprocess.TimeoutExpired):
    """``wait()`` or ``communicate()`` ran out of time; the sandbox still runs."""
