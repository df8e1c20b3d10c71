"""The runner's side of the fork server: starting it, talking to it, noticing its death."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flomation.engine.isolation._pipes import wait_ready
from flomation.engine.isolation.errors import IsolationUnavailable

FORKSERVER_SCRIPT = Path(__file__).with_name("_forkserver.py")
MAX_MESSAGE = 65536


@dataclass(frozen=True, slots=True)
class ChildExit:
    """How a child ended: its raw wait status and its peak memory."""

    status: int
    max_rss_kb: int

    @property
    def signal(self) -> int | None:
        return os.WTERMSIG(self.status) if os.WIFSIGNALED(self.status) else None

    @property
    def exit_code(self) -> int:
        """The exit code, or 128 + the signal number for a killed child (as shells report)."""
        if os.WIFSIGNALED(self.status):
            return 128 + os.WTERMSIG(self.status)
        return os.WEXITSTATUS(self.status)


class _PendingRun:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.spawned: asyncio.Future[int] = loop.create_future()
        self.exited: asyncio.Future[ChildExit] = loop.create_future()

    def fail(self, error: BaseException) -> None:
        for future in (self.spawned, self.exited):
            if not future.done():
                future.set_exception(error)
                # Read the exception so an unawaited future does not warn.
                future.exception()


class ForkServerClient:
    """One running fork server. Not restartable: `CodeRunner` starts a new one if it dies."""

    def __init__(self, process: asyncio.subprocess.Process, sock: socket.socket) -> None:
        self._process = process
        self._sock = sock
        self._runs: dict[int, _PendingRun] = {}
        self._next_id = 0
        self._reader: asyncio.Task[None] | None = None
        self.alive = True
        self.pid = process.pid
        # The spare sandboxes the server keeps ready (their pids), and how many runs took one.
        self.spare_pids: list[int] = []
        self.spare_runs = 0

    @classmethod
    async def start(
        cls,
        *,
        python: str,
        uid: int | None,
        gid: int | None,
        uid_range: tuple[int, int] | None,
        isolate_network: bool,
        work_root: str,
        timeout_s: float,
        sandbox: str | None = None,
        hidden_paths: tuple[str, ...] = (),
        spares: int = 0,
        spare_limits: dict[str, Any] | None = None,
    ) -> ForkServerClient:
        """`sandbox`: the path of `bwrap` when every run is to be sandboxed with it; `spares`:
        how many sandboxed python interpreters to keep started ahead of their runs, with
        `spare_limits` (the wire limits of the runner's ceilings; None: left unset)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        settings = {
            "fd": theirs.fileno(),
            "uid": uid,
            "gid": gid,
            "uid_range": uid_range,
            "isolate_network": isolate_network,
            "work_root": work_root,
            "sandbox": sandbox,
            "hidden_paths": list(hidden_paths),
            "spares": spares,
            "spare_limits": spare_limits,
        }
        try:
            # -I: no PYTHON* variables, no user site, not the script's directory on sys.path;
            # env={}: nothing of the runner's environment (its settings, its key); only the
            # socket is passed on, and start_new_session keeps terminal signals away from it.
            process = await asyncio.create_subprocess_exec(
                python,
                "-I",
                str(FORKSERVER_SCRIPT),
                json.dumps(settings),
                env={},
                cwd="/",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                pass_fds=[theirs.fileno()],
                start_new_session=True,
            )
        except OSError as exc:
            ours.close()
            raise IsolationUnavailable(f"could not start the fork server: {exc}") from exc
        finally:
            theirs.close()
        ours.setblocking(False)
        client = cls(process, ours)
        try:
            async with asyncio.timeout(timeout_s):
                first = await asyncio.get_running_loop().sock_recv(ours, MAX_MESSAGE)
            if not first:
                returncode = await process.wait()
                raise IsolationUnavailable(
                    f"the fork server ({python}) exited with code {returncode} while starting; "
                    "its error is on the runner's stderr"
                )
            ready = json.loads(first)
            if ready.get("op") != "ready":
                raise IsolationUnavailable(f"the fork server did not start: {ready!r}")
        except (TimeoutError, OSError, ValueError, IsolationUnavailable) as exc:
            await client.aclose()
            if isinstance(exc, IsolationUnavailable):
                raise
            raise IsolationUnavailable(f"the fork server did not start: {exc!r}") from exc
        client._reader = asyncio.create_task(client._read_messages(), name="forkserver-reader")
        return client

    def new_run(self) -> int:
        """Reserves a run id; `spawn` it, then await `spawned` and `exited`, then `forget`."""
        if not self.alive:
            raise IsolationUnavailable("the fork server has stopped")
        self._next_id += 1
        self._runs[self._next_id] = _PendingRun(asyncio.get_running_loop())
        return self._next_id

    async def spawn(self, run_id: int, kind: str, limits: dict[str, Any], fds: list[int]) -> None:
        """Asks for a child of this run with these pipe ends (their numbers in our process)."""
        await self._send({"op": "spawn", "id": run_id, "kind": kind, "limits": limits}, fds)

    def spawned(self, run_id: int) -> asyncio.Future[int]:
        """The child's pid once it was forked."""
        return self._runs[run_id].spawned

    def exited(self, run_id: int) -> asyncio.Future[ChildExit]:
        return self._runs[run_id].exited

    def kill(self, run_id: int) -> None:
        """Kills the run's whole process group (no-op once it has exited). Never blocks."""
        if not self.alive or run_id not in self._runs or self._runs[run_id].exited.done():
            return
        with contextlib.suppress(OSError):
            self._sock.send(json.dumps({"op": "kill", "id": run_id}).encode())

    def forget(self, run_id: int) -> None:
        self._runs.pop(run_id, None)

    async def aclose(self) -> None:
        """Stops the server: it kills every child it still has, then exits."""
        self.alive = False
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._sock.close()
        try:
            async with asyncio.timeout(5):
                await self._process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()
        self._fail_all(IsolationUnavailable("the code runner was closed"))

    async def _send(self, message: dict[str, Any], fds: list[int]) -> None:
        data = json.dumps(message).encode()
        while True:
            try:
                socket.send_fds(self._sock, [data], fds)
                return
            except BlockingIOError:
                await wait_ready(self._sock.fileno(), writable=True)
            except OSError as exc:
                self.alive = False
                raise IsolationUnavailable(f"the fork server is gone: {exc}") from exc

    async def _read_messages(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await loop.sock_recv(self._sock, MAX_MESSAGE)
                if not data:
                    break
                self._dispatch(json.loads(data))
        except (OSError, ValueError):
            pass  # a broken socket or message: the server is treated as gone
        self.alive = False
        returncode = await self._process.wait()
        self._fail_all(
            IsolationUnavailable(f"the fork server stopped unexpectedly (exit {returncode})")
        )

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("op") == "spares":
            self.spare_pids = list(message["pids"])
            return
        if message.get("op") == "spawned" and message.get("spare"):
            self.spare_runs += 1
        run = self._runs.get(message.get("id", -1))
        if run is None:
            return
        op = message["op"]
        if op == "spawned" and not run.spawned.done():
            run.spawned.set_result(message["pid"])
        elif op == "spawn_failed":
            run.fail(IsolationUnavailable(f"could not start the sandbox: {message['message']}"))
        elif op == "exited" and not run.exited.done():
            run.exited.set_result(ChildExit(message["status"], message["max_rss_kb"]))

    def _fail_all(self, error: IsolationUnavailable) -> None:
        for run in self._runs.values():
            run.fail(error)
