"""Run a Linux program in a sandbox: namespaces, a private root, cgroup limits.

>>> import containment
>>> r = containment.run(["echo", "hi"], memory="64M", capture_output=True)
>>> r.returncode, r.stdout
(0, b'hi\\n')

``run()`` is shaped like ``subprocess.run``; ``Sandbox`` is a reusable
description with ``run()`` and ``spawn()`` (which returns a ``Process``, shaped
like ``subprocess.Popen``). Errors are ``ContainmentError`` subclasses.
"""

from ._containment import (
    DEFAULT_PATH,
    DEVNULL,
    INHERIT,
    PIPE,
    STDOUT,
    Bridge,
    CompletedProcess,
    Process,
    Sandbox,
    Usage,
    __version__,
    run,
)
from ._errors import (
    CalledProcessError,
    ContainmentError,
    ContainmentOSError,
    InitDiedError,
    InvalidValueError,
    NotExecutableError,
    ProgramNotFoundError,
    SetupError,
    TimeoutExpired,
    UnsupportedError,
)

__all__ = [
    "__version__",
    "run",
    "Sandbox",
    "Process",
    "CompletedProcess",
    "Usage",
    "Bridge",
    "PIPE",
    "STDOUT",
    "DEVNULL",
    "INHERIT",
    "DEFAULT_PATH",
    "ContainmentError",
    "InvalidValueError",
    "UnsupportedError",
    "InitDiedError",
    "ContainmentOSError",
    "SetupError",
    "ProgramNotFoundError",
    "NotExecutableError",
    "CalledProcessError",
    "TimeoutExpired",
]
