"""Resource limits of one code run, and the settings of the code runner."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Limits:
    """What one run of user code may use. Exceeding any of them ends the run with an error.

    `max_processes` is the RLIMIT_NPROC of the sandbox user: the kernel counts every process
    of that user, so concurrent runs share it. It only applies when the runner switches to a
    sandbox user (a non-root runner's own processes would count against it).
    """

    timeout_s: float = 30.0
    memory_mb: int = 512
    max_processes: int = 64
    max_file_size_mb: int = 64
    max_open_files: int = 256
    max_output_bytes: int = 1_000_000  # per stream: stdout, stderr
    max_result_bytes: int = 10_000_000  # a python node's encoded return value

    def __post_init__(self) -> None:
        for name in (
            "timeout_s",
            "memory_mb",
            "max_processes",
            "max_file_size_mb",
            "max_open_files",
            "max_output_bytes",
            "max_result_bytes",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"limit {name} must be positive, got {getattr(self, name)!r}")

    @property
    def cpu_s(self) -> int:
        """CPU seconds: a backstop behind the wall-clock timeout (which the runner enforces)."""
        return math.ceil(self.timeout_s) + 1

    def to_wire(self, *, apply_process_limit: bool) -> dict[str, Any]:
        """The limits the fork server applies with setrlimit in the child."""
        return {
            "memory_mb": self.memory_mb,
            "max_file_size_mb": self.max_file_size_mb,
            "max_open_files": self.max_open_files,
            "cpu_s": self.cpu_s,
            "max_processes": self.max_processes if apply_process_limit else None,
        }


@dataclass(frozen=True, slots=True)
class IsolationSettings:
    """How the runner isolates user code.

    `sandbox_user` is the unprivileged user that code runs as when the runner is root.
    `allow_unisolated` is the operator's explicit acceptance of running code as root when no
    such user can be used; without it the code runner refuses python and shell nodes.
    `uid_range` (first, last), when set, replaces the sandbox user: each run gets a uid of its
    own from the range (with the same number as gid), so concurrent runs cannot see each
    other's processes (/proc/<pid>/environ of a shell holds its env) and share no process
    limit. The uids need no account; the range must be unused on the host.
    `isolate_network` gives code no network at all (an empty network namespace), for shared
    runners whose egress policy must also hold for code. Both need a root runner.
    `work_root` is where each run's empty working directory is made (default: the system's
    temporary directory).
    """

    sandbox_user: str = "nobody"
    allow_unisolated: bool = False
    uid_range: tuple[int, int] | None = None
    isolate_network: bool = False
    work_root: str | None = None
    # The fork server's interpreter. None: this one, or else the system's when the sandbox
    # user cannot read this one's standard library (see runner.DEFAULT_PYTHONS).
    python_executable: str | None = None
    start_timeout_s: float = 10.0
    # How long to keep reading a child's pipes after it exited (a process that escaped its
    # process group may hold them open).
    drain_grace_s: float = 0.5
