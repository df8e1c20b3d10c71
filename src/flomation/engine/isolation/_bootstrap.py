"""The part of a code run that runs as the run itself: reading the payload, calling the user's
`main(ctx)`, writing the result to the control pipe.

It imports only a few light standard modules (traceback and linecache only when a run failed),
because it is also the bootstrap of a sandboxed python run: the fork server passes this file's
source to a fresh interpreter inside the sandbox (`python -I -c SOURCE`), whose start-up time
every run pays (unless it takes a spare). Without the sandbox the
fork server's children call `run_python` directly (`_forkserver.py` imports this file by path,
not through the flomation package, which the fork server's interpreter may not have).

A spare (`python -I -c SOURCE spare`) is a sandboxed interpreter started ahead of its run, at
the runner's ceilings: its stdin is a socket to the fork server, on which it blocks until the
server hands it a run: the run's limits (JSON) with the run's four pipe ends attached. It puts
those in place of its own descriptors 0-3, lowers its rlimits to the run's, and goes on as any
sandboxed run: the payload from stdin, the result to the control pipe.
"""

from __future__ import annotations

import os
import resource
import sys

# typing costs a sandboxed run's start-up ~2.5 ms, and is only needed by the type checker
# (the annotations are never evaluated).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn

CODE_FILENAME = "<node code>"
STDIN_FD, STDOUT_FD, STDERR_FD, CONTROL_FD = 0, 1, 2, 3
SETUP_FAILED_EXIT = 121


def _json_codec() -> tuple[Callable[[bytes], Any], Callable[..., str]]:
    """`loads(bytes)` and `dumps(value, allow_nan=...)` on the json package's own C functions
    (`_json`, as json.loads and json.dumps use them), without the package: it imports `re`,
    ~5 ms of every sandboxed interpreter's start-up. The package where they are missing."""
    try:
        import _json

        inf = float("inf")

        class Context:  # what json.JSONDecoder gives its C scanner
            strict = True
            object_hook = None
            object_pairs_hook = None
            parse_float = float
            parse_int = int
            parse_constant = {"-Infinity": -inf, "Infinity": inf, "NaN": inf - inf}.__getitem__

        scan = _json.make_scanner(Context())  # type: ignore[arg-type]

        def default(value: Any) -> Any:
            raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

        def loads(data: bytes) -> Any:
            text = data.decode("utf-8")
            try:
                value, end = scan(text, 0)
            except StopIteration as exc:
                raise ValueError(f"Expecting value: char {exc.value}") from None
            if text[end:].strip():
                raise ValueError(f"Extra data: char {end}")
            return value

        def dumps(value: Any, *, allow_nan: bool = True) -> str:
            # As json.dumps(value, allow_nan=...) encodes (ensure_ascii, ", " and ": ").
            encoder = _json.make_encoder(
                {},
                default,
                _json.encode_basestring_ascii,
                None,
                ": ",
                ", ",
                False,
                False,
                allow_nan,
            )
            return "".join(encoder(value, 0))

        if loads(dumps({"a": [1.5, None]}).encode()) != {"a": [1.5, None]}:
            raise TypeError("_json is not what this code expects")
    except (ImportError, AttributeError, TypeError, ValueError):
        import json

        return json.loads, lambda value, allow_nan=True: json.dumps(value, allow_nan=allow_nan)
    return loads, dumps


json_loads, json_dumps = _json_codec()
# Every child's environment besides what the node passes: a fixed PATH, and a home and temp
# directory inside its own working directory.
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"


def read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def replace_with_devnull(fd: int) -> None:
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def report_setup_failure(exc: BaseException) -> NoReturn:
    message = {"ok": False, "reason": "setup", "message": f"{type(exc).__name__}: {exc}"}
    try:
        write_all(CONTROL_FD, json_dumps(message).encode())
    finally:
        os._exit(SETUP_FAILED_EXIT)


def apply_limits(limits: dict[str, Any]) -> None:
    """Sets the run's rlimits (soft = hard; CPU: SIGXCPU at the soft limit, SIGKILL one second
    later). A limit that is None is left as it is (a spare's, until its run lowers it)."""
    mib = 1024 * 1024

    def cap(which: int, soft: int | None, hard: int | None = None) -> None:
        if soft is not None:
            resource.setrlimit(which, (soft, soft if hard is None else hard))

    memory, file_size = limits["memory_mb"], limits["max_file_size_mb"]
    cap(resource.RLIMIT_AS, memory * mib)
    cap(resource.RLIMIT_FSIZE, None if file_size is None else file_size * mib)
    cap(resource.RLIMIT_CPU, limits["cpu_s"], limits["cpu_s"] + 1)
    cap(resource.RLIMIT_NOFILE, limits["max_open_files"])
    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_NPROC, limits.get("max_processes"))


def child_environment(workdir: str, extra: dict[str, str]) -> dict[str, str]:
    env = {"PATH": BASE_PATH, "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8"}
    env.update(extra)
    return env


# --------------------------------------------------------------------------- python child


def run_python(
    payload: dict[str, Any], workdir: str, control: int, *, set_environment: bool = True
) -> NoReturn:
    leader = os.getpid()
    if set_environment:  # a sandboxed interpreter was started with its environment
        os.environ.update(child_environment(workdir, {}))
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    result: dict[str, Any]
    try:
        result = {"ok": True, "value": call_main(payload["code"], payload["ctx"])}
    except BaseException as exc:
        try:
            result = describe_failure(exc, payload["code"])
        except BaseException:  # e.g. no memory left to format it: the exception alone
            result = {
                "ok": False,
                "reason": failure_reason(exc),
                "message": f"{type(exc).__name__}: {exc}",
                "traceback": "",
            }
    if os.getpid() != leader:
        # A process the user code forked came back here: only the leader reports.
        os._exit(0)
    try:
        encoded = json_dumps(result, allow_nan=False)
    except Exception as exc:
        encoded = json_dumps(
            {
                "ok": False,
                "reason": "result",
                "message": f"main(ctx) returned a value that is not JSON: {exc}",
            }
        )
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        write_all(control, encoded.encode())
        os._exit(0)


def call_main(code: str, ctx: Any) -> Any:
    compiled = compile(code, CODE_FILENAME, "exec")
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compiled, namespace)  # noqa: S102 - running the user's code is the point
    main = namespace.get("main")
    if not callable(main):
        raise NoMainError("the code must define a function main(ctx)")
    return main(ctx)


def failure_reason(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, SystemExit):
        return "exit"
    return "code"


class NoMainError(Exception):
    pass


def describe_failure(exc: BaseException, code: str) -> dict[str, Any]:
    if isinstance(exc, NoMainError):
        return {"ok": False, "reason": "code", "message": str(exc), "traceback": ""}
    tb = exc.__traceback__
    # Hide our own frames: the traceback starts at the first frame of the user's code.
    while tb is not None and tb.tb_frame.f_code.co_filename != CODE_FILENAME:
        tb = tb.tb_next
    reason = failure_reason(exc)
    if reason == "memory":
        # The finished frames of the code still hold what filled the memory: cleared, so
        # that there is memory to import and format with (their lines stay known).
        frame_tb = exc.__traceback__
        while frame_tb is not None:
            try:  # noqa: SIM105 - contextlib would cost every run's start-up
                frame_tb.tb_frame.clear()
            except RuntimeError:  # still executing: ours
                pass
            frame_tb = frame_tb.tb_next
    # Imported only now: they cost every run's start-up several milliseconds. The code is
    # registered (again: user code may have cleared the cache) so that the traceback shows
    # its lines.
    import linecache
    import traceback

    linecache.cache[CODE_FILENAME] = (len(code), None, code.splitlines(True), CODE_FILENAME)
    return {
        "ok": False,
        "reason": reason,
        "message": "".join(traceback.format_exception_only(type(exc), exc)).strip(),
        "traceback": "".join(traceback.format_exception(type(exc), exc, tb)),
    }


def run_python_in_sandbox() -> NoReturn:
    """The bootstrap of a sandboxed python run (this file's source, run with -c)."""
    try:
        if sys.argv[1:] == ["spare"]:
            del sys.argv[1:]  # the code sees the argv of a fresh run
            take_run()
        payload = json_loads(read_all(STDIN_FD))
        replace_with_devnull(STDIN_FD)
    except BaseException as exc:
        report_setup_failure(exc)
    run_python(payload, os.getcwd(), CONTROL_FD, set_environment=False)


def take_run() -> None:
    """A spare's wait for its run: the run's limits and pipe ends from the fork server."""
    import _socket

    server = _socket.socket(fileno=STDIN_FD)
    message, ancillary, _, _ = server.recvmsg(65536, _socket.CMSG_SPACE(4 * 4))
    if not message:  # the server closed the socket: never used
        os._exit(0)
    fds = [
        int.from_bytes(data[i : i + 4], sys.byteorder, signed=True)
        for level, kind, data in ancillary
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS
        for i in range(0, len(data) - len(data) % 4, 4)
    ]
    server.detach()
    if len(fds) != 4:
        os._exit(SETUP_FAILED_EXIT)  # no control pipe to report on
    # Received while 0-3 were open, so all above them: placing one overwrites none of them.
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    apply_limits(json_loads(message))


if __name__ == "__main__":
    run_python_in_sandbox()
