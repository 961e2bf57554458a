"""Run a Linux program in a sandbox: namespaces, a private root, cgroup limits.

>>> import containment
>>> r = containment.run(["echo", "hi"], memory="64M", capture_output=True)
>>> r.returncode, r.stdout
(0, b'hi\\n')

``run()`` is shaped like ``subprocess.run``; ``Sandbox`` is a reusable
description with ``run()`` and ``spawn()`` (which returns a ``Process``, shaped
like ``subprocess.Popen``) and ``start()`` (which returns a ``Running``: a
sandbox that stays up, to run programs in over time). ``Running.open(name)``
and ``list()`` find named sandboxes other processes started. Errors are
``ContainmentError`` subclasses.
"""

from ._containment import (
    DEFAULT_PATH,
    DEFAULT_RANGE_SIZE,
    DEVNULL,
    INHERIT,
    MAX_KEPT_NAMESPACES,
    PIPE,
    RANGE_BASE,
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
    __version__,
    release_kept_namespaces,
    run,
)
from ._containment import gc as gc  # public, not in __all__ (see below)
from ._containment import list as list
from ._errors import (
    CalledProcessError,
    ContainmentError,
    ContainmentOSError,
    InitDiedError,
    InvalidValueError,
    NeedsPrivilegeError,
    NotExecutableError,
    ProgramNotFoundError,
    SetupError,
    TimeoutExpired,
    UnsupportedError,
)

# `list` and `gc` are public (`containment.list()`, `containment.gc()`) but not
# in `__all__`: `from containment import *` would shadow the built-in `list` and
# the `gc` module.
__all__ = [
    "__version__",
    "run",
    "Sandbox",
    "Process",
    "Running",
    "RunningInfo",
    "CompletedProcess",
    "Usage",
    "Bridge",
    "Seccomp",
    "IdMaps",
    "PIPE",
    "STDOUT",
    "DEVNULL",
    "INHERIT",
    "DEFAULT_PATH",
    "DEFAULT_RANGE_SIZE",
    "RANGE_BASE",
    "MAX_KEPT_NAMESPACES",
    "release_kept_namespaces",
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
