"""Python code runs in a forked, sandboxed child: results, logs, failures and limits."""

from __future__ import annotations

import asyncio
import os
import textwrap
from pathlib import Path

import pytest

from flomation.engine.isolation import CodeFailed, CodeRunner, CodeTimedOut, Limits, LogLine
from tests.engine.isolation.processes import (
    processes_with,
    run_processes,
    wait_until_all_gone,
)
from tests.engine.isolation.sandbox import sandbox_settings

FAST = Limits(timeout_s=10)
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs a root runner to switch users")


def code(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


async def test_returns_what_main_returns(code_runner: CodeRunner) -> None:
    result = await code_runner.run_python(
        code("""
        def main(ctx):
            return {"double": ctx["input"]["n"] * 2, "names": sorted(ctx["vars"])}
        """),
        {"input": {"n": 21}, "vars": {"b": 1, "a": 2}},
        FAST,
    )
    assert result.value == {"double": 42, "names": ["a", "b"]}


async def test_printed_lines_are_streamed_as_logs(code_runner: CodeRunner) -> None:
    seen: list[LogLine] = []
    result = await code_runner.run_python(
        code("""
        import sys
        def main(ctx):
            print("first")
            print("second")
            print("oops", file=sys.stderr)
            return None
        """),
        {},
        FAST,
        on_log=seen.append,
    )
    assert result.value is None
    assert [(line.stream, line.text) for line in seen] == [
        ("stdout", "first"),
        ("stdout", "second"),
        ("stderr", "oops"),
    ]
    assert result.logs == seen


async def test_an_exception_gives_the_users_traceback_only(code_runner: CodeRunner) -> None:
    with pytest.raises(CodeFailed) as failure:
        await code_runner.run_python(
            code("""
            def helper(x):
                return {}[x]
            def main(ctx):
                return helper("missing")
            """),
            {},
            FAST,
        )
    assert failure.value.reason == "code"
    assert failure.value.message == "KeyError: 'missing'"
    trace = failure.value.traceback
    assert 'File "<node code>", line 4, in main' in trace
    assert 'File "<node code>", line 2, in helper' in trace
    assert "return {}[x]" in trace  # the user's source line is shown
    assert "_forkserver" not in trace
    assert "flomation" not in trace


async def test_a_syntax_error_names_the_line(code_runner: CodeRunner) -> None:
    with pytest.raises(CodeFailed) as failure:
        await code_runner.run_python("def main(ctx):\n    return (\n", {}, FAST)
    assert failure.value.reason == "code"
    assert "SyntaxError" in failure.value.message
    assert 'File "<node code>", line 2' in failure.value.traceback


async def test_code_without_main_is_a_clear_error(code_runner: CodeRunner) -> None:
    with pytest.raises(CodeFailed, match=r"must define a function main\(ctx\)"):
        await code_runner.run_python("x = 1\n", {}, FAST)


async def test_a_value_that_is_not_json_is_a_code_error(code_runner: CodeRunner) -> None:
    with pytest.raises(CodeFailed) as failure:
        await code_runner.run_python("def main(ctx):\n    return {1, 2}\n", {}, FAST)
    assert failure.value.reason == "result"
    assert "not JSON" in failure.value.message
    assert "set" in failure.value.message


async def test_exit_instead_of_return_is_a_code_error(code_runner: CodeRunner) -> None:
    with pytest.raises(CodeFailed) as failure:
        await code_runner.run_python("import sys\ndef main(ctx):\n    sys.exit(3)\n", {}, FAST)
    assert failure.value.reason == "exit"


async def test_timeout_kills_the_whole_process_group(code_runner: CodeRunner) -> None:
    started: asyncio.Queue[str] = asyncio.Queue()
    run = asyncio.create_task(
        code_runner.run_python(
            code("""
            import os, time
            def main(ctx):
                child = os.fork()
                if child == 0:
                    time.sleep(60)
                    os._exit(0)
                print("forked")
                time.sleep(60)
            """),
            {},
            Limits(timeout_s=2),
            on_log=lambda line: started.put_nowait(line.text),
        )
    )
    await asyncio.wait_for(started.get(), 10)
    assert code_runner.fork_server_pid is not None
    processes = await run_processes(code_runner)  # the leader and its child, at least
    assert len(processes) >= 2
    with pytest.raises(CodeTimedOut, match=r"within 2 s"):
        await run
    assert await wait_until_all_gone(processes)


async def test_background_processes_die_with_the_code(code_runner: CodeRunner) -> None:
    marker = "60.0101"  # a sleep only this test starts, found by its command line
    await code_runner.run_python(
        code(f"""
        import subprocess
        def main(ctx):
            return subprocess.Popen(["sleep", "{marker}"]).pid
        """),
        {},
        FAST,
    )
    for _ in range(150):
        if not processes_with(f"sleep\0{marker}"):
            break
        await asyncio.sleep(0.02)
    assert processes_with(f"sleep\0{marker}") == []


async def test_a_memory_bomb_ends_with_a_memory_error(code_runner: CodeRunner) -> None:
    with pytest.raises(CodeFailed) as failure:
        await code_runner.run_python(
            code("""
            def main(ctx):
                hog = []
                while True:
                    hog.append(bytearray(1024 * 1024))
            """),
            {},
            Limits(timeout_s=10, memory_mb=96),
        )
    assert failure.value.reason == "memory"
    assert "memory limit of 96 MB" in failure.value.message


@as_root
async def test_a_fork_bomb_is_stopped_by_the_process_limit(code_runner: CodeRunner) -> None:
    with pytest.raises(CodeFailed) as failure:
        await code_runner.run_python(
            code("""
            import os
            def main(ctx):
                while True:
                    os.fork()
            """),
            {},
            Limits(timeout_s=10, max_processes=16),
        )
    assert failure.value.reason == "code"
    assert "BlockingIOError" in failure.value.message
    after = await code_runner.run_python("def main(ctx):\n    return 'alive'\n", {}, FAST)
    assert after.value == "alive"


async def test_a_crash_is_reported_and_the_fork_server_survives(code_runner: CodeRunner) -> None:
    server = code_runner.fork_server_pid
    with pytest.raises(CodeFailed) as failure:
        await code_runner.run_python(
            "import os, signal\ndef main(ctx):\n    os.kill(os.getpid(), signal.SIGSEGV)\n",
            {},
            FAST,
        )
    assert failure.value.reason == "crashed"
    assert "SIGSEGV" in failure.value.message
    assert code_runner.fork_server_pid == server
    after = await code_runner.run_python("def main(ctx):\n    return 1\n", {}, FAST)
    assert after.value == 1


async def test_too_much_output_is_stopped(code_runner: CodeRunner) -> None:
    with pytest.raises(CodeFailed) as failure:
        await code_runner.run_python(
            "def main(ctx):\n    while True:\n        print('x' * 1000)\n",
            {},
            Limits(timeout_s=10, max_output_bytes=50_000),
        )
    assert failure.value.reason == "output_limit"
    assert "stdout exceeded its limit of 50000 bytes" in failure.value.message


async def test_the_environment_holds_nothing_of_the_runner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLOMATION_RUNNER_KEY", "do-not-leak")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    runner = CodeRunner(sandbox_settings())
    await runner.start()
    try:
        result = await runner.run_python(
            "import os\ndef main(ctx):\n    return dict(os.environ)\n", {}, FAST
        )
        assert runner.fork_server_pid is not None
        server_environ = Path(f"/proc/{runner.fork_server_pid}/environ").read_bytes()
    finally:
        await runner.aclose()
    # PWD: bubblewrap's, set to the working directory it starts the code in.
    assert set(result.value) - {"PWD"} == {"PATH", "HOME", "TMPDIR", "LANG"}
    assert "do-not-leak" not in str(result.value)
    assert server_environ == b""


async def test_no_descriptor_of_the_runner_is_inherited(code_runner: CodeRunner) -> None:
    with open(__file__, "rb"):  # a descriptor the runner holds during the run
        result = await code_runner.run_python(
            code("""
            import os
            def main(ctx):
                return sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
            """),
            {},
            FAST,
        )
    # 0-3 are stdin, stdout, stderr and the result pipe; the last is listdir's own.
    assert result.value[:4] == [0, 1, 2, 3]
    assert len(result.value) == 5


async def test_the_working_directory_is_empty_and_removed_afterwards(
    code_runner: CodeRunner,
) -> None:
    result = await code_runner.run_python(
        code("""
        import os
        def main(ctx):
            found = os.listdir(".")
            open("scratch.txt", "w").write("left behind")
            return {"cwd": os.getcwd(), "found": found}
        """),
        {},
        FAST,
    )
    assert result.value["found"] == []
    assert not os.path.exists(result.value["cwd"])


@as_root
async def test_code_runs_as_the_sandbox_user(code_runner: CodeRunner) -> None:
    result = await code_runner.run_python(
        code("""
        import os
        def main(ctx):
            workdir = os.stat(".")
            return [os.getuid(), os.geteuid(), os.getgroups(), workdir.st_uid, workdir.st_mode]
        """),
        {},
        FAST,
    )
    uid, euid, groups, owner, mode = result.value
    assert (uid, euid, groups) == (65534, 65534, [])
    assert owner == 65534  # its working directory is its own
    assert mode & 0o777 == 0o700


@as_root
async def test_code_cannot_read_a_root_only_directory(
    code_runner: CodeRunner, tmp_path: Path
) -> None:
    private = tmp_path / "data"
    private.mkdir(mode=0o700)
    (private / "runner.key").write_text("secret key")
    assert private.stat().st_uid == 0
    with pytest.raises(CodeFailed) as failure:
        await code_runner.run_python(
            f"def main(ctx):\n    return open({str(private / 'runner.key')!r}).read()\n",
            {},
            FAST,
        )
    # The sandbox does not even show the host's directory; without it, permissions hold.
    expected = "FileNotFoundError" if code_runner.sandboxed else "PermissionError"
    assert expected in failure.value.message


async def test_cancelling_the_run_kills_the_process(code_runner: CodeRunner) -> None:
    started: asyncio.Queue[str] = asyncio.Queue()
    task = asyncio.create_task(
        code_runner.run_python(
            "import time\ndef main(ctx):\n    print('started')\n    time.sleep(60)\n",
            {},
            Limits(timeout_s=60),
            on_log=lambda line: started.put_nowait(line.text),
        )
    )
    await asyncio.wait_for(started.get(), 10)
    assert code_runner.fork_server_pid is not None
    processes = await run_processes(code_runner)
    assert processes
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_until_all_gone(processes, within_s=1.0)


async def test_concurrent_runs_keep_their_own_context(code_runner: CodeRunner) -> None:
    results = await asyncio.gather(
        *(
            code_runner.run_python("def main(ctx):\n    return ctx['n'] ** 2\n", {"n": n}, FAST)
            for n in range(6)
        )
    )
    assert [r.value for r in results] == [0, 1, 4, 9, 16, 25]


async def test_garbage_on_the_result_channel_is_a_clear_error(code_runner: CodeRunner) -> None:
    with pytest.raises(CodeFailed, match="result could not be read"):
        await code_runner.run_python(
            "import os\ndef main(ctx):\n    os.write(3, b'not json')\n    return 1\n", {}, FAST
        )


async def test_a_process_that_leaves_its_group_is_killed_too(code_runner: CodeRunner) -> None:
    marker = "60.0202"
    await code_runner.run_python(
        code(f"""
        import os, time
        def main(ctx):
            child = os.fork()
            if child == 0:
                os.setsid()  # out of the run's process group
                os.execvp("sleep", ["sleep", "{marker}"])
            time.sleep(0.2)
            return child
        """),
        {},
        FAST,
    )
    for _ in range(150):
        if not processes_with(f"sleep\0{marker}"):
            break
        await asyncio.sleep(0.02)
    assert processes_with(f"sleep\0{marker}") == []
