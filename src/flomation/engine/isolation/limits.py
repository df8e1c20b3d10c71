"""Resource limits of one code run, and the settings of the code runner."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

SandboxChoice = Literal["auto", "require", "off"]


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
    # The size of each private tmpfs of a sandboxed run (working directory, /tmp, /var/tmp,
    # /dev/shm): its disk quota. Without the sandbox there is no quota.
    disk_mb: int = 256
    # The runner's CPU time ceiling, when lower than what the timeout gives.
    max_cpu_s: int | None = None
    # The names of the limits that a runner ceiling lowered (for the error messages).
    capped: frozenset[str] = field(default=frozenset())

    def __post_init__(self) -> None:
        for name in (
            "timeout_s",
            "memory_mb",
            "max_processes",
            "max_file_size_mb",
            "max_open_files",
            "max_output_bytes",
            "max_result_bytes",
            "disk_mb",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"limit {name} must be positive, got {getattr(self, name)!r}")

    @property
    def cpu_s(self) -> int:
        """CPU seconds: a backstop behind the wall-clock timeout (which the runner enforces),
        or the runner's CPU ceiling when that is lower."""
        backstop = math.ceil(self.timeout_s) + 1
        return backstop if self.max_cpu_s is None else min(backstop, self.max_cpu_s)

    def describe(self, name: str, value: str) -> str:
        """`value` followed by a note when a runner ceiling set it, for error messages."""
        return f"{value} (this runner's ceiling)" if name in self.capped else value

    def to_wire(self, *, apply_process_limit: bool) -> dict[str, Any]:
        """The limits the fork server applies with setrlimit in the child."""
        return {
            "memory_mb": self.memory_mb,
            "max_file_size_mb": self.max_file_size_mb,
            "max_open_files": self.max_open_files,
            "cpu_s": self.cpu_s,
            "max_processes": self.max_processes if apply_process_limit else None,
            "disk_mb": self.disk_mb,
        }


@dataclass(frozen=True, slots=True)
class Ceilings:
    """The most any code run on this runner may use, whatever its node asks for.

    A node's limits above a ceiling are lowered to it (a flow written for a bigger runner
    still runs, within this runner's means); the error of a run that hits such a limit says
    it was the runner's ceiling. `output_bytes` caps stdout and stderr (each) and a python
    node's result; `disk_mb` is the size of each private tmpfs of a sandboxed run.
    """

    memory_mb: int = 1024
    timeout_s: float = 900.0
    cpu_s: int = 900
    output_bytes: int = 10_000_000
    disk_mb: int = 256

    def __post_init__(self) -> None:
        for name in ("memory_mb", "timeout_s", "cpu_s", "output_bytes", "disk_mb"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ceiling {name} must be positive, got {getattr(self, name)!r}")

    def clamp(self, limits: Limits) -> Limits:
        """`limits` with every value above its ceiling lowered to the ceiling."""
        capped = set(limits.capped)
        values: dict[str, Any] = {}
        for name, ceiling in (
            ("memory_mb", self.memory_mb),
            ("timeout_s", self.timeout_s),
            ("max_output_bytes", self.output_bytes),
            ("max_result_bytes", self.output_bytes),
            ("disk_mb", self.disk_mb),
        ):
            if getattr(limits, name) > ceiling:
                values[name] = ceiling
                capped.add(name)
        if limits.max_cpu_s is None or limits.max_cpu_s > self.cpu_s:
            values["max_cpu_s"] = self.cpu_s
        if math.ceil(values.get("timeout_s", limits.timeout_s)) + 1 > self.cpu_s:
            capped.add("cpu_s")
        return replace(limits, **values, capped=frozenset(capped))


@dataclass(frozen=True, slots=True)
class IsolationSettings:
    """How the runner isolates user code.

    `sandbox_user` is the unprivileged user that code runs as when the runner is root.
    `allow_unisolated` is the operator's explicit acceptance of running code as root when no
    such user can be used; without it the code runner refuses python and shell nodes.
    `uid_range` (first, last), when set, replaces the sandbox user: each run gets a uid of its
    own from the range (with the same number as gid), so concurrent runs cannot see each
    other's processes (/proc/<pid>/environ of a shell holds its env) and share no process
    limit. The uids need no account; the range must be unused on the host. "auto": the
    range `mode.DEFAULT_UID_RANGE` where this host maps it and no account uses it, else the
    sandbox user.
    `isolate_network` gives code no network at all (an empty network namespace), for shared
    runners whose egress policy must also hold for code. Without the sandbox both need a root
    runner (a runner that cannot keep code off the network refuses code).
    `sandbox`: "auto" runs every run in a bubblewrap sandbox (see `_forkserver.py`) when
    `bwrap` is installed and can create namespaces here, else falls back to the fork server's
    own isolation and says what that cannot isolate; "require" refuses code without the
    sandbox; "off" never uses it. `bwrap` is its path (None: looked up on PATH).
    `ceilings` are the most any run may use, whatever its node asks for.
    `hidden_paths` are the runner's own files (its token file, its secrets file) that the
    sandbox covers when they lie in a directory it shows (/etc, say).
    `work_root` is where each run's empty working directory is made (default: the system's
    temporary directory).
    """

    sandbox_user: str = "nobody"
    allow_unisolated: bool = False
    uid_range: tuple[int, int] | Literal["auto"] | None = None
    isolate_network: bool = False
    work_root: str | None = None
    sandbox: SandboxChoice = "auto"
    bwrap: str | None = None
    ceilings: Ceilings = field(default_factory=Ceilings)
    hidden_paths: tuple[str, ...] = ()
    # The fork server's interpreter. None: this one, or else the system's when the sandbox
    # user cannot read this one's standard library (see runner.DEFAULT_PYTHONS).
    python_executable: str | None = None
    start_timeout_s: float = 10.0
    # How many sandboxed python interpreters to keep started ahead of their runs (0: none):
    # a python run takes one, which saves it the interpreter's start-up, and a new one starts
    # in the background. Each is a fresh sandbox used once. Only with the sandbox.
    spares: int = 2
    # How long to keep reading a child's pipes after it exited (a process that escaped its
    # process group may hold them open).
    drain_grace_s: float = 0.5
