"""`CodeRunner`: runs python code and shell commands in sandboxed child processes.

Start it when the runner process boots, before it reads its key or any secret::

    code_runner = CodeRunner(IsolationSettings(sandbox_user="nobody"))
    await code_runner.start()
    ...
    result = await code_runner.run_python(code, {"input": ...}, Limits(timeout_s=10))
    result = await code_runner.run_shell("echo $NAME", {"NAME": "x"}, Limits())
    ...
    await code_runner.aclose()

Every run is a child forked by the fork server (`_forkserver.py`): its own process group,
an empty working directory removed afterwards, no inherited environment or descriptors,
rlimits, and an unprivileged user when the runner is root. Where bubblewrap works, each run is
also in a sandbox of its own (its own PID, mount, IPC and UTS namespaces, private size-limited
/tmp, /var/tmp, /dev/shm and working directory, no network when the settings say so); where it
does not, `gaps()` says what is not isolated. The runner's ceilings cap every run's limits.
Cancelling the awaiting task kills the child's whole process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from flomation.engine.isolation._client import ChildExit, ForkServerClient
from flomation.engine.isolation._pipes import PipeReader, write_and_close
from flomation.engine.isolation.errors import (
    CodeFailed,
    CodeTimedOut,
    IsolationError,
    IsolationUnavailable,
)
from flomation.engine.isolation.limits import IsolationSettings, Limits
from flomation.engine.isolation.mode import decide_isolation
from flomation.engine.isolation.sandbox import FALLBACK_GAP_OWN_USER, FALLBACK_GAPS, find_bwrap

__all__ = ["DEFAULT_PYTHONS", "CodeRunner", "LogLine", "PythonResult", "ShellResult"]

# Interpreters tried for the fork server when none is configured: this one first, then the
# system's, for when this one lives where the sandbox user cannot read it.
DEFAULT_PYTHONS: tuple[str, ...] = (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3")


@dataclass(frozen=True, slots=True)
class LogLine:
    stream: Literal["stdout", "stderr"]
    text: str


LogCallback = Callable[[LogLine], None]


@dataclass(frozen=True, slots=True)
class PythonResult:
    value: Any
    logs: list[LogLine] = field(default_factory=list)
    max_rss_kb: int = 0


@dataclass(frozen=True, slots=True)
class ShellResult:
    exit_code: int
    stdout: str
    stderr: str
    max_rss_kb: int = 0


class CodeRunner:
    """Runs user code isolated from the runner process; safe to share between tasks."""

    def __init__(self, settings: IsolationSettings | None = None) -> None:
        self.settings = settings or IsolationSettings()
        self.mode = decide_isolation(self.settings)
        configured = self.settings.python_executable
        candidates = (
            (configured,)
            if configured
            else tuple(p for p in dict.fromkeys(DEFAULT_PYTHONS) if os.path.exists(p))
        )
        self.python_executable = candidates[0]
        self._candidates = candidates
        # Why python code cannot run although shell commands can (an unreadable stdlib).
        self._python_refusal: str | None = None
        self._server: ForkServerClient | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        # The bwrap every run is sandboxed with (None: the fork server's isolation only), and
        # why there is no sandbox.
        self.bwrap: str | None = None
        self.sandbox_problem = ""
        # Why no code may run at all, found at start (the mode's own refusal comes first).
        self._refusal: str | None = self.mode.refusal

    @property
    def refusal(self) -> str | None:
        """Why this runner refuses python and shell code, or None."""
        return self._refusal

    @property
    def sandboxed(self) -> bool:
        return self.bwrap is not None

    def effective(self, limits: Limits) -> Limits:
        """`limits` as a run gets them: lowered to this runner's ceilings."""
        return self.settings.ceilings.clamp(limits)

    def gaps(self) -> list[str]:
        """What this runner cannot isolate, for its startup log (empty with the sandbox)."""
        if self._refusal is not None or self.sandboxed:
            return []
        gaps = [f"no sandbox ({self.sandbox_problem}):", *FALLBACK_GAPS]
        if not self.mode.switches_user:
            gaps.append(FALLBACK_GAP_OWN_USER)
        if not self.settings.isolate_network:
            gaps.append("code has the host's network (the settings allow it)")
        return gaps

    def describe(self) -> str:
        """One line for the startup log: who code runs as, in what."""
        if self._refusal is not None:
            return f"python and shell nodes are refused: {self._refusal}"
        where = "a bubblewrap sandbox per run" if self.sandboxed else "no sandbox"
        network = "no network" if self.settings.isolate_network else "the host's network"
        c = self.settings.ceilings
        return (
            f"user code runs as {self.mode.description}, in {where}, with {network}; "
            f"ceilings: {c.memory_mb} MB memory, {c.timeout_s:g} s wall time, {c.cpu_s} s CPU, "
            f"{c.output_bytes} output bytes, {c.disk_mb} MB disk"
        )

    async def start(self) -> None:
        """Starts the fork server. Call it at boot, before the process holds any secret.

        A runner that may not run code at all starts fine; its runs raise
        `IsolationUnavailable` with the reason. Raises `IsolationUnavailable` when the fork
        server cannot be started.
        """
        if self._refusal is not None:
            return
        self.bwrap, self.sandbox_problem = find_bwrap(self.settings)
        if self.bwrap is not None:
            problem = await self._probe_sandbox()
            if problem is not None:
                self.sandbox_problem = f"bubblewrap cannot create its sandbox here: {problem}"
                await self._stop_server()
                self.bwrap = None
        if self.bwrap is None:
            if self.settings.sandbox == "require":
                self._refusal = (
                    "the runner's settings require the code sandbox, and there is none: "
                    f"{self.sandbox_problem}"
                )
            elif self.settings.isolate_network and os.geteuid() != 0:
                self._refusal = (
                    "code must have no network here, and without the sandbox only a root "
                    f"runner can take it away ({self.sandbox_problem})"
                )
            if self._refusal is not None:
                return
        await self._ensure_server()
        if self.mode.switches_user or self.sandboxed:
            await self._choose_python()

    async def _probe_sandbox(self) -> str | None:
        """Runs `true` in the sandbox: None when that worked, else what went wrong."""
        try:
            await self._ensure_server()
            probe = await self.run_shell("true", {}, Limits(timeout_s=10))
        except IsolationError as exc:
            return exc.message
        if probe.exit_code != 0:
            return probe.stderr.strip() or f"exit code {probe.exit_code}"
        return None

    async def _choose_python(self) -> None:
        """Keeps the first interpreter whose standard library the sandbox user can read.

        A Python installed under /root, say, is out of its reach: every import but those the
        fork server made would fail, confusingly. Without any such interpreter python code is
        refused with the reason; shell commands still run.
        """
        problems = []
        for python in self._candidates:
            if python != self.python_executable:
                await self._restart_with(python, bwrap=self.bwrap)
            try:
                probe = await self.run_python(_STDLIB_PROBE, {}, Limits(timeout_s=10))
            except CodeFailed as exc:  # e.g. the sandbox cannot reach the interpreter
                problems.append(f"{python} ({exc.message})")
                continue
            if not probe.value:
                return
            problems.append(f"{python} ({', '.join(probe.value)})")
        self._python_refusal = (
            f"the sandbox user ({self.mode.description}) cannot read the Python standard "
            f"library of {'; '.join(problems)}; set the code runner's python executable to an "
            "interpreter that user can read (e.g. /usr/bin/python3)"
        )

    async def _restart_with(self, python: str, *, bwrap: str | None) -> None:
        async with self._lock:
            if self._server is not None:
                await self._server.aclose()
                self._server = None
            self.python_executable = python
            self.bwrap = bwrap
        await self._ensure_server()

    async def aclose(self) -> None:
        self._closed = True
        await self._stop_server()

    async def _stop_server(self) -> None:
        async with self._lock:
            if self._server is not None:
                await self._server.aclose()
                self._server = None

    @property
    def fork_server_pid(self) -> int | None:
        return self._server.pid if self._server is not None and self._server.alive else None

    async def run_python(
        self,
        code: str,
        ctx: Mapping[str, Any],
        limits: Limits,
        *,
        on_log: LogCallback | None = None,
    ) -> PythonResult:
        """Runs `code`, which defines `main(ctx)`, and returns what main returned.

        Lines printed to stdout and stderr are passed to `on_log` as they arrive and kept in
        the result. Raises `CodeFailed` (exception with the user's traceback, memory, non-JSON
        result, crash, output limit), `CodeTimedOut` or `IsolationUnavailable`.
        """
        if self._python_refusal is not None:
            raise IsolationUnavailable(self._python_refusal)
        limits = self.settings.ceilings.clamp(limits)
        logs: list[LogLine] = []

        def log(stream: Literal["stdout", "stderr"]) -> Callable[[str], None]:
            def emit(text: str) -> None:
                line = LogLine(stream, text)
                logs.append(line)
                if on_log is not None:
                    on_log(line)

            return emit

        payload = json.dumps({"code": code, "ctx": ctx}).encode()
        run = await self._run("python", payload, limits, log("stdout"), log("stderr"))
        if not run.control:
            if self.sandboxed and (problem := _sandbox_failure(run)) is not None:
                raise CodeFailed(f"could not set up the sandbox: {problem}", reason="setup")
            raise CodeFailed(_describe_death(run.exit, limits), reason="crashed")
        result = _decode_control(run.control)
        if result["ok"]:
            return PythonResult(result["value"], logs, run.exit.max_rss_kb)
        raise _python_failure(result, limits, sandboxed=self.sandboxed)

    async def run_shell(
        self,
        command: str,
        env: Mapping[str, str],
        limits: Limits,
        *,
        on_log: LogCallback | None = None,
    ) -> ShellResult:
        """Runs `command` with /bin/sh -c; the environment is `env` plus PATH, HOME, TMPDIR
        and LANG. A non-zero exit is a result, not an error (the node decides)."""
        limits = self.settings.ceilings.clamp(limits)
        stdout_line = None if on_log is None else (lambda t: on_log(LogLine("stdout", t)))
        stderr_line = None if on_log is None else (lambda t: on_log(LogLine("stderr", t)))
        payload = json.dumps({"command": command, "env": dict(env)}).encode()
        run = await self._run("shell", payload, limits, stdout_line, stderr_line)
        if run.control:
            failure = _decode_control(run.control)
            raise CodeFailed(f"could not run the command: {failure['message']}", reason="setup")
        if self.sandboxed and (problem := _sandbox_failure(run)) is not None:
            raise CodeFailed(f"could not set up the sandbox: {problem}", reason="setup")
        return ShellResult(
            exit_code=run.exit.exit_code,
            stdout=run.stdout.decode("utf-8", errors="replace"),
            stderr=run.stderr.decode("utf-8", errors="replace"),
            max_rss_kb=run.exit.max_rss_kb,
        )

    # ----------------------------------------------------------------------- internals

    async def _ensure_server(self) -> ForkServerClient:
        if self._refusal is not None:
            raise IsolationUnavailable(self._refusal)
        if self._closed:
            raise IsolationUnavailable("the code runner is closed")
        async with self._lock:
            if self._server is None or not self._server.alive:
                if self._server is not None:
                    await self._server.aclose()
                # A fresh interpreter (exec, empty environment), so restarting after the
                # runner holds secrets hands it none of them.
                self._server = await ForkServerClient.start(
                    python=self.python_executable,
                    uid=self.mode.uid,
                    gid=self.mode.gid,
                    uid_range=self.mode.uid_range,
                    isolate_network=self.settings.isolate_network,
                    work_root=self.settings.work_root or tempfile.gettempdir(),
                    timeout_s=self.settings.start_timeout_s,
                    sandbox=self.bwrap,
                    hidden_paths=self.settings.hidden_paths,
                    spares=self.settings.spares if self.bwrap is not None else 0,
                    spare_limits=self._spare_limits(),
                )
            return self._server

    def _spare_limits(self) -> dict[str, Any]:
        """What a spare starts with: the ceilings (a run can lower an rlimit, not raise it);
        the limits that have no ceiling are left unset until the run sets them."""
        c = self.settings.ceilings
        return {
            "memory_mb": c.memory_mb,
            "cpu_s": c.cpu_s,
            "disk_mb": c.disk_mb,
            "max_file_size_mb": None,
            "max_open_files": None,
            "max_processes": None,
        }

    @property
    def spare_pids(self) -> list[int]:
        """The pids (seen from the host) of the spare sandboxes ready for python runs."""
        return list(self._server.spare_pids) if self._server is not None else []

    @property
    def spare_runs(self) -> int:
        """How many python runs of the current fork server took a spare sandbox."""
        return self._server.spare_runs if self._server is not None else 0

    async def _run(
        self,
        kind: Literal["python", "shell"],
        payload: bytes,
        limits: Limits,
        on_stdout: Callable[[str], None] | None,
        on_stderr: Callable[[str], None] | None,
    ) -> _FinishedRun:
        server = await self._ensure_server()
        pipes = _Pipes()
        run_id = server.new_run()
        overflow: list[str] = []
        tasks: list[asyncio.Task[None]] = []

        def kill() -> None:
            server.kill(run_id)

        def overflowed(name: str) -> Callable[[], None]:
            def note() -> None:
                overflow.append(name)
                kill()

            return note

        readers = {
            "stdout": PipeReader(
                pipes.stdout_r,
                limits.max_output_bytes,
                on_overflow=overflowed("stdout"),
                on_line=on_stdout,
            ),
            "stderr": PipeReader(
                pipes.stderr_r,
                limits.max_output_bytes,
                on_overflow=overflowed("stderr"),
                on_line=on_stderr,
            ),
            "result": PipeReader(
                pipes.control_r, limits.max_result_bytes, on_overflow=overflowed("result")
            ),
        }
        wire_limits = limits.to_wire(apply_process_limit=self.mode.switches_user)
        try:
            async with asyncio.timeout(limits.timeout_s) as deadline:
                # Pipe I/O starts before the child exists: the payload waits in the pipe while
                # the server forks, so the child can read it at once.
                tasks.append(asyncio.create_task(write_and_close(pipes.take_stdin(), payload)))
                tasks.extend(asyncio.create_task(r.read_to_end()) for r in readers.values())
                try:
                    await server.spawn(run_id, kind, wire_limits, pipes.child_ends())
                finally:
                    pipes.close_child_ends()
                await asyncio.shield(server.spawned(run_id))
                # Shielded: cancelling this wait must not cancel the server's record of the exit.
                exit_ = await asyncio.shield(server.exited(run_id))
            # Output that is still in the pipes belongs to the result; a process that escaped
            # the group kill and holds a pipe open does not get to stall us.
            await asyncio.wait(tasks, timeout=self.settings.drain_grace_s)
        except TimeoutError:
            if not deadline.expired():
                raise
            kill()
            with contextlib.suppress(TimeoutError, IsolationUnavailable):
                async with asyncio.timeout(5):
                    await asyncio.shield(server.exited(run_id))
            raise CodeTimedOut(limits.timeout_s, ceiling="timeout_s" in limits.capped) from None
        except BaseException:
            kill()  # cancelled or failed: the process group must not outlive us
            raise
        finally:
            for task in tasks:
                task.cancel()
            if tasks:
                # Let them unregister their descriptors before those are closed (and reused).
                await asyncio.wait(tasks)
            for reader in readers.values():
                reader.close()
            pipes.close_all()
            server.forget(run_id)
        if overflow:
            limit = limits.max_result_bytes if overflow[0] == "result" else limits.max_output_bytes
            raise CodeFailed(
                f"the code's {overflow[0]} exceeded its limit of {limit} bytes; it was killed",
                reason="output_limit",
            )
        return _FinishedRun(
            exit_, readers["stdout"].data, readers["stderr"].data, readers["result"].data
        )


_STDLIB_PROBE = """
import os
def main(ctx):
    stdlib = os.path.dirname(os.__file__)
    return [path for path in (stdlib, os.__file__) if not os.access(path, os.R_OK | os.F_OK)]
"""


@dataclass(frozen=True, slots=True)
class _FinishedRun:
    exit: ChildExit
    stdout: bytes
    stderr: bytes
    control: bytes


class _Pipes:
    """The four pipes of one child: stdin, stdout, stderr and control (the result)."""

    def __init__(self) -> None:
        self.stdin_r, self.stdin_w = os.pipe2(os.O_CLOEXEC)
        self.stdout_r, self.stdout_w = os.pipe2(os.O_CLOEXEC)
        self.stderr_r, self.stderr_w = os.pipe2(os.O_CLOEXEC)
        self.control_r, self.control_w = os.pipe2(os.O_CLOEXEC)
        self._open = {
            self.stdin_r,
            self.stdin_w,
            self.stdout_r,
            self.stdout_w,
            self.stderr_r,
            self.stderr_w,
            self.control_r,
            self.control_w,
        }

    def child_ends(self) -> list[int]:
        return [self.stdin_r, self.stdout_w, self.stderr_w, self.control_w]

    def close_child_ends(self) -> None:
        for fd in self.child_ends():
            self._close(fd)

    def take_stdin(self) -> int:
        """Hands the stdin write end over to its writer, which closes it."""
        self._open.discard(self.stdin_w)
        return self.stdin_w

    def close_all(self) -> None:
        # The readers close their own ends; closing an already closed number again could hit
        # a descriptor opened meanwhile by someone else, so only ends still ours are closed.
        for fd in list(self._open):
            if fd not in (self.stdout_r, self.stderr_r, self.control_r):
                self._close(fd)
        self._open.clear()

    def _close(self, fd: int) -> None:
        if fd in self._open:
            self._open.discard(fd)
            with contextlib.suppress(OSError):
                os.close(fd)


def _decode_control(data: bytes) -> dict[str, Any]:
    """The child's message on the control pipe (descriptor 3, where user code can write too)."""
    try:
        message = json.loads(data)
    except ValueError:
        message = None
    if not isinstance(message, dict) or "ok" not in message:
        raise CodeFailed(
            "the code's result could not be read: something else was written to its result "
            "channel (file descriptor 3)",
            reason="crashed",
        )
    return message


def _sandbox_failure(run: _FinishedRun) -> str | None:
    """bubblewrap's own error when it could not set up the sandbox (it then exits with 1
    before the code starts, its message on stderr), else None."""
    if run.exit.exit_code != 1 or run.stdout:
        return None
    first = run.stderr.decode("utf-8", errors="replace").partition("\n")[0]
    return first if first.startswith("bwrap: ") else None


# errno ENOSPC, as Python and the shell tools word it: a private tmpfs of the run is full.
_DISK_FULL = ("[Errno 28]", "No space left on device")


def disk_full_note(text: str, limits: Limits) -> str:
    """The disk quota, for an error that says a write found no space; else ""."""
    if not any(sign in text for sign in _DISK_FULL):
        return ""
    quota = limits.describe("disk_mb", f"{limits.disk_mb} MB")
    return f" (a run's working directory, /tmp, /var/tmp and /dev/shm hold at most {quota} each)"


def _python_failure(
    result: Mapping[str, Any], limits: Limits, *, sandboxed: bool = False
) -> CodeFailed:
    reason = result["reason"]
    traceback = result.get("traceback", "")
    if reason == "memory":
        memory = limits.describe("memory_mb", f"{limits.memory_mb} MB")
        return CodeFailed(
            f"the code exceeded its memory limit of {memory} (MemoryError)",
            reason="memory",
            traceback=traceback,
        )
    if reason == "setup":
        return CodeFailed(f"could not set up the sandbox: {result['message']}", reason="setup")
    if reason == "exit":
        return CodeFailed(
            f"the code called exit ({result['message']}) instead of returning from main(ctx)",
            reason="exit",
            traceback=traceback,
        )
    note = disk_full_note(result["message"], limits) if sandboxed else ""
    return CodeFailed(result["message"] + note, reason=reason, traceback=traceback)


def _describe_death(exit_: ChildExit, limits: Limits) -> str:
    if exit_.signal == signal.SIGXCPU:
        cpu = limits.describe("cpu_s", f"{limits.cpu_s} s")
        return f"the code used more than its CPU time limit of {cpu}"
    if exit_.signal is not None:
        name = signal.Signals(exit_.signal).name
        memory = limits.describe("memory_mb", f"{limits.memory_mb} MB")
        return (
            f"the code's process was killed by {name} before main(ctx) returned "
            f"(its memory limit is {memory})"
        )
    return f"the code's process exited with code {exit_.exit_code} before main(ctx) returned"
