"""The fork server: a warm parent that forks one sandboxed child per code run.

`CodeRunner` starts it as `python -I <this file> <settings json>` with an empty environment
and no open descriptor but its control socket, so it holds nothing of the runner: no key, no
secret, no setting, no imported runner module. It imports only the standard library and never
sees user data: the code, the context and the shell environment travel to each child on the
child's own stdin pipe, so no run leaves anything in this process's memory for a later child
(every child starts as a copy of it) to find.

Protocol, one JSON object per SOCK_SEQPACKET message:

  runner -> server  {"op": "spawn", "id": n, "kind": "python" | "shell", "limits": {...}}
                    with four descriptors attached: the child's stdin, stdout, stderr and
                    control pipe ends
                    {"op": "kill", "id": n}
  server -> runner  {"op": "ready", "pid": ..., "uid": ..., "gid": ...}
                    {"op": "spawned", "id": n, "pid": ..., "spare": bool}
                    {"op": "spawn_failed", "id": n, "message": "..."}
                    {"op": "exited", "id": n, "status": <wait status>, "max_rss_kb": ...}
                    {"op": "spares", "pids": [...]}  (whenever new spares were started)

The child reads one JSON payload from stdin (python: {"code", "ctx"}; shell: {"command",
"env"}). A python child writes its result to the control pipe; a shell child writes there only
when its setup fails (the pipe closes on exec, so an empty control pipe means exec worked).

With the sandbox (bubblewrap, `settings["sandbox"]`), the child does the same set-up (its own
session, rlimits, the unprivileged uid), then execs `bwrap`, which runs the code in new user,
PID, IPC, UTS, cgroup (and, when asked, network) namespaces with a fresh /proc, a minimal /dev,
read-only system directories and size-limited private tmpfs mounts for /tmp, /var/tmp,
/dev/shm and the working directory: nothing the run writes reaches the host's disks, and it all
vanishes with the run's mount namespace. A python run execs a fresh interpreter inside with
`_bootstrap.py`'s source as its program: it reads the payload from stdin and writes the result
to the control pipe, as a forked child does without the sandbox. The sandbox
translates an exit by signal N into exit code 128 + N; the server reports such an exit as the
signal, so the runner describes both modes alike.

Spares (`settings["spares"]`, sandbox only): the server keeps that many sandboxed python
interpreters started ahead of their runs, each made as a python run's child is (its own
session, its own uid, rlimits at `settings["spare_limits"]`: the runner's ceilings, the rest
unset) but with a socket to the server as its stdin and /dev/null for the rest; inside, the
bootstrap does its imports and blocks on that socket. A python run whose limits a spare can
give (it can lower rlimits, not raise them; its tmpfs sizes are fixed) takes the oldest spare:
the server sends the run's limits over the socket with the run's four pipe ends attached and
closes the socket, and the bootstrap puts the pipes in place of its descriptors 0-3, lowers
its rlimits and goes on as a fresh run would. The spare's pid becomes the run's: killed,
reaped and reported like any run's child. A replacement starts at once; a spare that dies
unused is replaced (after MAX_SPARE_FAILURES such deaths in a row, none are made: runs start
fresh). Other runs start fresh, as without spares. The server never sees a payload either way.

When a child (the leader of its own process group) exits, the server kills its whole group
while the leader is still a zombie (so the group id cannot have been reused), reaps it and
removes its working directory. When the runner goes away (EOF on the socket) the server kills
every group it started and exits.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import gc
import json
import os
import resource
import select
import shutil
import signal
import socket
import sys
import tempfile
from typing import TYPE_CHECKING, Any, NoReturn

BOOTSTRAP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bootstrap.py")
if TYPE_CHECKING:
    from flomation.engine.isolation._bootstrap import (
        CONTROL_FD,
        SETUP_FAILED_EXIT,
        STDIN_FD,
        apply_limits,
        child_environment,
        read_all,
        replace_with_devnull,
        report_setup_failure,
        run_python,
    )
else:
    # By path: the flomation package is not importable here (and must not be imported).
    # Off the path again at once, so user code cannot import this directory's other modules.
    sys.path.append(os.path.dirname(BOOTSTRAP))
    try:
        from _bootstrap import (
            CONTROL_FD,
            SETUP_FAILED_EXIT,
            STDIN_FD,
            apply_limits,
            child_environment,
            read_all,
            replace_with_devnull,
            report_setup_failure,
            run_python,
        )
    finally:
        sys.path.remove(os.path.dirname(BOOTSTRAP))
        sys.modules.pop("_bootstrap", None)

MAX_MESSAGE = 65536
SHELL = "/bin/sh"

# Imported once here so that children (copies of this process) find them ready. Kept small:
# every page of this process makes each fork and each exit slower, so only light modules
# that code commonly needs are warmed. Nothing of Flomation is among them.
# linecache and traceback format a failed run's traceback (a sandboxed run imports them then).
WARM_MODULES = (
    "collections",
    "datetime",
    "functools",
    "itertools",
    "linecache",
    "math",
    "time",
    "traceback",
)

# Where a sandboxed run works (a private tmpfs): no host path, so nothing to clean up after a
# crash of the runner or of this server.
SANDBOX_WORKDIR = "/workdir"
# Host directories bound read-only into every sandbox, where they exist. A symlink (merged
# /usr) is recreated as the same symlink.
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# bubblewrap ends with 128 + N when its command was killed by signal N (a shell's convention).
SIGNAL_EXIT_BASE = 128

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
CLONE_NEWNET = 0x40000000
# How often to look for processes that left their run's process group (setsid) and outlived
# their parents: as the subreaper, the server inherits them, and kills them.
SWEEP_INTERVAL_S = 0.5
# Spares that die unused one after another before the server stops making them (a sandbox that
# cannot start: runs then start fresh, and report bubblewrap's error).
MAX_SPARE_FAILURES = 5
_libc = ctypes.CDLL(None, use_errno=True)


# --------------------------------------------------------------------------- server


class Server:
    def __init__(
        self,
        sock: socket.socket,
        uid: int | None,
        gid: int | None,
        uid_range: list[int] | None,
        work_root: str,
        sandbox: Sandbox | None = None,
        spares: int = 0,
        spare_limits: dict[str, Any] | None = None,
    ):
        self.sock = sock
        self.sandbox = sandbox
        self.uid = uid
        self.gid = gid
        self.uid_range = uid_range
        self.work_root = work_root
        # pid -> its working directory on the host (None in the sandbox: a private tmpfs)
        self.workdirs: dict[int, str | None] = {}
        self.run_ids: dict[int, int] = {}  # pid -> run id
        self.pids: dict[int, int] = {}  # run id -> pid
        self.run_uids: dict[int, int] = {}  # pid -> the uid of its run (per-run uids)
        self.last_uid = uid_range[0] - 1 if uid_range else 0
        # Spare sandboxed interpreters (python runs only), oldest first, and the socket on
        # which each waits for its run. Each is in `workdirs` as a live group of ours.
        self.spare_count = spares if sandbox is not None and spare_limits is not None else 0
        self.spare_limits = spare_limits or {}
        self.spares: list[int] = []
        self.spare_sockets: dict[int, socket.socket] = {}
        self.spare_failures = 0  # spares that died unused in a row

    def send(self, message: dict[str, Any]) -> None:
        # When the runner is gone the send fails; the main loop then sees EOF and shuts down.
        with contextlib.suppress(OSError):
            self.sock.send(json.dumps(message).encode())

    def serve(self) -> None:
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        self.send({"op": "ready", "pid": os.getpid(), "uid": self.uid, "gid": self.gid})
        self.fill_spares()
        while True:
            readable, _, _ = select.select([self.sock.fileno(), wake_r], [], [], SWEEP_INTERVAL_S)
            if wake_r in readable:
                drain(wake_r)
                self.reap()
            if not readable or wake_r in readable:  # idle, or a process ended
                self.sweep()
            if self.sock.fileno() in readable:
                message, fds, _, _ = socket.recv_fds(self.sock, MAX_MESSAGE, 8)
                if not message:
                    self.shutdown()
                    return
                try:
                    self.handle(json.loads(message), fds)
                except Exception as exc:  # a bad request must never end the server
                    for fd in fds:
                        close_quietly(fd)
                    self.send({"op": "error", "message": f"{type(exc).__name__}: {exc}"})

    def handle(self, request: dict[str, Any], fds: list[int]) -> None:
        op = request["op"]
        if op == "spawn":
            self.spawn(request, fds)
        elif op == "kill":
            pid = self.pids.get(request["id"])
            if pid is not None:
                kill_group(pid)
        else:
            raise ValueError(f"unknown op {op!r}")

    def spawn(self, request: dict[str, Any], fds: list[int]) -> None:
        run_id = request["id"]
        workdir = None
        try:
            if len(fds) != 4:
                raise ValueError(f"spawn needs 4 descriptors, got {len(fds)}")
            if request["kind"] == "python" and self.spare_fits(request["limits"]):
                spare = self.hand_to_spare(request["limits"], fds)
                if spare is not None:
                    self.started(run_id, spare, fds, spare=True)
                    self.fill_spares()  # the replacement, after the run got going
                    return
            uid, gid = self.identity_for_run()
            if self.sandbox is None:
                workdir = tempfile.mkdtemp(prefix="flomation-run-", dir=self.work_root)
                if uid is not None and gid is not None:
                    os.chown(workdir, uid, gid)
                os.chmod(workdir, 0o700)
            pid = os.fork()
        except Exception as exc:
            for fd in fds:
                close_quietly(fd)
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
            self.send({"op": "spawn_failed", "id": run_id, "message": str(exc)})
            return
        if pid == 0:
            try:
                child_main(request, fds, workdir, uid, gid, self.sandbox)
            finally:
                os._exit(SETUP_FAILED_EXIT)  # a child must never fall back into the server
        self.workdirs[pid] = workdir
        if self.uid_range is not None and uid is not None:
            self.run_uids[pid] = uid
        self.started(run_id, pid, fds, spare=False)

    def started(self, run_id: int, pid: int, fds: list[int], *, spare: bool) -> None:
        for fd in fds:
            os.close(fd)
        self.run_ids[pid] = run_id
        self.pids[run_id] = pid
        self.send({"op": "spawned", "id": run_id, "pid": pid, "spare": spare})

    # ----------------------------------------------------------------- spares

    def spare_fits(self, limits: dict[str, Any]) -> bool:
        """Whether a spare can give a run these limits: it can lower its rlimits, not raise
        them, and its tmpfs mounts have their size (the disk quota) already."""
        if self.spare_count == 0 or limits["disk_mb"] != self.spare_limits["disk_mb"]:
            return False
        for name in ("memory_mb", "cpu_s", "max_file_size_mb", "max_open_files", "max_processes"):
            ceiling = self.spare_limits.get(name)
            wanted = limits.get(name)
            if ceiling is not None and (wanted is None or wanted > ceiling):
                return False
        return True

    def hand_to_spare(self, limits: dict[str, Any], fds: list[int]) -> int | None:
        """Gives the oldest live spare this run's limits and pipe ends; its pid, or None when
        there is no spare (left)."""
        while self.spares:
            pid = self.spares.pop(0)
            sock = self.spare_sockets.pop(pid)
            try:
                socket.send_fds(sock, [json.dumps(limits).encode()], fds)
            except OSError:  # it died: reaped (and replaced) as any spare that died
                kill_group(pid)
                self.spare_failures += 1
                continue
            finally:
                sock.close()
            self.spare_failures = 0
            return pid
        return None

    def fill_spares(self) -> None:
        """Starts spares until there are as many as configured (unless they keep dying:
        then runs start fresh, and say why)."""
        changed = False
        while len(self.spares) < self.spare_count and self.spare_failures < MAX_SPARE_FAILURES:
            try:
                self.start_spare()
            except Exception:
                self.spare_failures += 1
                break
            changed = True
        if changed:
            self.send({"op": "spares", "pids": list(self.spares)})

    def start_spare(self) -> None:
        assert self.sandbox is not None
        uid, gid = self.identity_for_run()  # its own uid (per-run uids) from now on
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
            try:
                pid = os.fork()
                if pid == 0:
                    try:
                        spare_main(
                            theirs.fileno(), devnull, uid, gid, self.sandbox, self.spare_limits
                        )
                    finally:
                        os._exit(SETUP_FAILED_EXIT)
            finally:
                os.close(devnull)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.workdirs[pid] = None
        if self.uid_range is not None and uid is not None:
            self.run_uids[pid] = uid
        self.spares.append(pid)
        self.spare_sockets[pid] = ours

    def spare_died(self, pid: int) -> None:
        self.spares.remove(pid)
        self.spare_sockets.pop(pid).close()
        self.spare_failures += 1
        self.fill_spares()

    def identity_for_run(self) -> tuple[int | None, int | None]:
        """The sandbox user, or with per-run uids the next uid of the range no live run has
        (round robin, so a uid comes back only after the whole range was used)."""
        if self.uid_range is None:
            return self.uid, self.gid
        first, last = self.uid_range
        in_use = set(self.run_uids.values())
        for _ in range(last - first + 1):
            self.last_uid = first if self.last_uid >= last else self.last_uid + 1
            if self.last_uid not in in_use:
                return self.last_uid, self.last_uid
        raise RuntimeError(f"every uid of {first}-{last} is in use")

    def sweep(self) -> None:
        """Kills inherited orphans that are in no live run's process group.

        The server is a child subreaper: a process whose parent died is re-parented to it
        instead of init. One still in a live run's group dies with that run; any other left
        its group (setsid) and would otherwise outlive its run.
        """
        for pid in own_children():
            if pid in self.workdirs:
                continue
            try:
                group = os.getpgid(pid)
            except ProcessLookupError:
                continue
            if group in self.workdirs:
                continue
            if group == pid:
                kill_group(pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def reap(self) -> None:
        while True:
            try:
                # WNOWAIT leaves the leader a zombie, so its pid (= its group id) stays taken
                # while we kill what is left of its group.
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None:
                return
            pid = info.si_pid
            kill_group(pid)
            _, status, usage = os.wait4(pid, 0)
            run_id = self.run_ids.pop(pid, None)
            self.run_uids.pop(pid, None)
            if run_id is None:
                self.workdirs.pop(pid, None)  # a spare's (no directory)
                if pid in self.spares:
                    self.spare_died(pid)
                continue
            self.pids.pop(run_id, None)
            remove_workdir(self.workdirs.pop(pid))
            if self.sandbox is not None:
                status = signal_status(status)
            self.send(
                {"op": "exited", "id": run_id, "status": status, "max_rss_kb": usage.ru_maxrss}
            )

    def shutdown(self) -> None:
        for pid in self.workdirs:
            kill_group(pid)
        for pid in own_children():  # orphans that left their groups
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid, workdir in self.workdirs.items():
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            remove_workdir(workdir)


# Without the sandbox, runs' working directories are on the host, under a directory of this
# server's own that it holds an flock on while it lives: a server killed with the runner
# (kill -9 of the whole tree, the OOM killer) cannot remove it, the next one does.
RUNS_PREFIX = "flomation-runs-"
LOCK_NAME = ".lock"


def claim_work_root(work_root: str) -> str:
    """A fresh directory of this server's own under `work_root`, locked while the server
    lives; first removes those of servers that died (nobody holds their lock)."""
    for name in os.listdir(work_root):
        if name.startswith(RUNS_PREFIX):
            path = os.path.join(work_root, name)
            try:
                lock = os.open(os.path.join(path, LOCK_NAME), os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live server's
            finally:
                os.close(lock)
            shutil.rmtree(path, ignore_errors=True)
    # Made and locked under another name, so no other server's sweep can see it unlocked.
    making = tempfile.mkdtemp(prefix="flomation-new-", dir=work_root)
    lock = os.open(os.path.join(making, LOCK_NAME), os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)  # held (the descriptor stays open) until the server exits
    mine = os.path.join(work_root, RUNS_PREFIX + os.path.basename(making)[len("flomation-new-") :])
    os.rename(making, mine)
    # The sandbox user must reach its run's directory (0700, its own), not list the others.
    os.chmod(mine, 0o711)  # noqa: S103
    return mine


def remove_workdir(workdir: str | None) -> None:
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)


def signal_status(status: int) -> int:
    """A sandboxed run's wait status with bubblewrap's 128 + N exit turned back into signal N."""
    if os.WIFEXITED(status):
        code = os.WEXITSTATUS(status)
        if SIGNAL_EXIT_BASE < code < SIGNAL_EXIT_BASE + signal.NSIG:
            return code - SIGNAL_EXIT_BASE  # the wait status of a death by that signal
    return status


# --------------------------------------------------------------------------- sandbox


class Sandbox:
    """The bubblewrap command line shared by every run; only the sizes differ per run."""

    def __init__(self, bwrap: str, *, network: bool, hidden: list[str] | None = None) -> None:
        self.bwrap = bwrap
        self.network = network
        # The python bootstrap, read once here where it is surely readable (the sandbox user
        # may not reach the source tree); passed with -c, so it needs no path in the sandbox.
        with open(BOOTSTRAP) as source:
            self.bootstrap = source.read()
        hidden = hidden or []
        self.mounts = system_mounts()
        if network:
            self.mounts += resolver_mounts()
        self.mounts += masks(hidden, SYSTEM_DIRS)
        # Only python runs see the interpreter's prefixes: a shell run must not fail because
        # the run's user cannot reach them (a pyenv under /root), nor see them.
        prefixes = python_prefixes()
        self.python_mounts = [arg for prefix in prefixes for arg in ("--ro-bind", prefix, prefix)]
        self.python_mounts += masks(hidden, tuple(prefixes))

    def argv(self, kind: str, limits: dict[str, Any]) -> list[str]:
        size = str(limits["disk_mb"] * 1024 * 1024)
        argv = [
            self.bwrap,
            "--unshare-user",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
        ]
        if not self.network:
            argv.append("--unshare-net")
        argv += ["--die-with-parent", "--new-session", "--hostname", "sandbox"]
        argv += self.mounts
        if kind == "python":
            argv += self.python_mounts
        argv += ["--proc", "/proc", "--dev", "/dev"]
        for private in ("/tmp", "/var/tmp", "/dev/shm"):  # noqa: S108
            argv += ["--perms", "1777", "--size", size, "--tmpfs", private]
        argv += ["--perms", "0700", "--size", size, "--tmpfs", SANDBOX_WORKDIR]
        # /run stays an empty directory: the host's sockets there (a database's, say) would
        # be reachable even without a network. Then the root and /dev are made read-only, so
        # the private tmpfs mounts are the only places a run can write to (and fill up).
        argv += ["--dir", "/run", "--remount-ro", "/dev", "--remount-ro", "/"]
        argv += ["--chdir", SANDBOX_WORKDIR, "--"]
        return argv


def system_mounts() -> list[str]:
    mounts: list[str] = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            mounts += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            mounts += ["--ro-bind", path, path]
    return mounts


def python_prefixes() -> list[str]:
    """The interpreter's prefixes outside the system directories (a venv, pyenv, /opt)."""
    prefixes = sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix})
    return [
        prefix
        for prefix in prefixes
        if not any(prefix == root or prefix.startswith(root + "/") for root in SYSTEM_DIRS)
        and os.path.isdir(prefix)
    ]


def masks(paths: list[str], shown: tuple[str, ...]) -> list[str]:
    """/dev/null over each of the runner's own files (its token file, its secrets file) that
    lies in a directory bound into the sandbox: a runner that is not root runs code as its own
    user, who can read them."""
    mounts: list[str] = []
    for path in paths:
        real = os.path.realpath(path)
        inside = any(real.startswith(root + "/") for root in shown)
        if inside and os.path.isfile(real):
            mounts += ["--ro-bind", "/dev/null", real]
    return mounts


def resolver_mounts() -> list[str]:
    """/etc/resolv.conf's target when it lies under /run (systemd-resolved), which is masked:
    without it code with network access could not resolve names."""
    resolv = os.path.realpath("/etc/resolv.conf")
    if resolv.startswith("/run/") and os.path.isfile(resolv):
        return ["--ro-bind", resolv, resolv]
    return []


def drain(fd: int) -> None:
    while True:
        try:
            if not os.read(fd, 512):
                return
        except BlockingIOError:
            return


def own_children() -> list[int]:
    me = os.getpid()
    try:
        with open(f"/proc/{me}/task/{me}/children") as children:
            return [int(pid) for pid in children.read().split()]
    except FileNotFoundError:  # a kernel without CONFIG_PROC_CHILDREN: scan every process
        found = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/stat") as stat:
                        fields = stat.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == me:
                    found.append(int(name))
        return found


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def close_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


# --------------------------------------------------------------------------- child setup


def spare_main(
    sock: int,
    devnull: int,
    uid: int | None,
    gid: int | None,
    sandbox: Sandbox,
    limits: dict[str, Any],
) -> NoReturn:
    """Runs in the forked child of a spare: as a python run's, but its stdin is the socket its
    run comes on, and the rest /dev/null until then."""
    try:
        isolate([sock, devnull, devnull, devnull], "/", uid, gid, limits)
        exec_sandboxed({"kind": "python", "limits": limits}, sandbox, spare=True)
    except BaseException as exc:
        report_setup_failure(exc)


def child_main(
    request: dict[str, Any],
    fds: list[int],
    workdir: str | None,
    uid: int | None,
    gid: int | None,
    sandbox: Sandbox | None,
) -> NoReturn:
    """Runs in the forked child: isolates itself, then runs the user code. Never returns."""
    try:
        isolate(fds, workdir or "/", uid, gid, request["limits"])
        if sandbox is not None:
            exec_sandboxed(request, sandbox)
        assert workdir is not None
        payload = json.loads(read_all(STDIN_FD))
        replace_with_devnull(STDIN_FD)
    except BaseException as exc:
        report_setup_failure(exc)
    if request["kind"] == "python":
        run_python(payload, workdir, CONTROL_FD)
    run_shell(payload, workdir)


def isolate(
    fds: list[int], workdir: str, uid: int | None, gid: int | None, limits: dict[str, Any]
) -> None:
    os.setsid()  # its own session and process group: one killpg ends all it starts
    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
    # Lift the received descriptors above 0-3 first, so placing one cannot overwrite another.
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds]
    for target, fd in enumerate(high):
        os.dup2(fd, target, inheritable=target != CONTROL_FD)
    close_inherited(keep_up_to=CONTROL_FD)
    os.chdir(workdir)
    apply_limits(limits)
    if uid is not None and gid is not None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        if 0 in (os.getuid(), os.geteuid(), os.getgid(), os.getegid()):
            raise PermissionError("could not drop root privileges")
    # After the uid change (which resets them): no privilege gain through setuid binaries,
    # and death with the fork server.
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.environ.clear()


def exec_sandboxed(request: dict[str, Any], sandbox: Sandbox, *, spare: bool = False) -> NoReturn:
    """Replaces the child with bubblewrap running the code (set-up errors go to the caller)."""
    argv = sandbox.argv(request["kind"], request["limits"])
    if request["kind"] == "python":
        # The bootstrap reads the payload from stdin itself and needs the control pipe.
        env = child_environment(SANDBOX_WORKDIR, {"TMPDIR": "/tmp"})  # noqa: S108
        argv += [sys.executable, "-I", "-c", sandbox.bootstrap, *(["spare"] if spare else [])]
        os.set_inheritable(CONTROL_FD, True)
    else:
        payload = json.loads(read_all(STDIN_FD))
        replace_with_devnull(STDIN_FD)
        extra = {str(k): str(v) for k, v in payload["env"].items()}
        env = child_environment(SANDBOX_WORKDIR, {"TMPDIR": "/tmp", **extra})  # noqa: S108
        argv += [SHELL, "-c", payload["command"]]
    # Python ignores these, and an ignored signal stays ignored across exec.
    for signum in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(signum, signal.SIG_DFL)
    os.execve(sandbox.bwrap, argv, env)  # noqa: S606


def close_inherited(keep_up_to: int) -> None:
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        os.closerange(keep_up_to + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        return
    for name in names:
        if int(name) > keep_up_to:
            close_quietly(int(name))


# --------------------------------------------------------------------------- shell child


def run_shell(payload: dict[str, Any], workdir: str) -> NoReturn:
    try:
        env = child_environment(workdir, {str(k): str(v) for k, v in payload["env"].items()})
        # Python ignores these, and an ignored signal stays ignored across exec.
        for signum in (signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(signum, signal.SIG_DFL)
        os.execve(SHELL, [SHELL, "-c", payload["command"]], env)  # noqa: S606
    except BaseException as exc:
        report_setup_failure(exc)


# --------------------------------------------------------------------------- entry


def check_libc(result: int, call: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{call} failed: {os.strerror(errno)}")


def main() -> None:
    settings = json.loads(sys.argv[1])
    for name in WARM_MODULES:
        __import__(name)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    check_libc(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)")
    sandbox = None
    if settings.get("sandbox"):
        # The sandbox gives each run its own network namespace when code has no network.
        sandbox = Sandbox(
            settings["sandbox"],
            network=not settings["isolate_network"],
            hidden=settings.get("hidden_paths"),
        )
    elif settings["isolate_network"]:
        # A network namespace of our own, with nothing in it (not even loopback up): every
        # child inherits it, so code has no network at all, at no cost per run.
        check_libc(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
    work_root = settings["work_root"]
    if sandbox is None:
        work_root = claim_work_root(work_root)
    sock = socket.socket(fileno=settings["fd"])
    # Everything allocated so far lives as long as the server: out of the collector's sight,
    # a child's garbage collections do not touch (and so copy) those pages.
    gc.freeze()
    server = Server(
        sock,
        settings["uid"],
        settings["gid"],
        settings["uid_range"],
        work_root,
        sandbox,
        spares=settings.get("spares", 0),
        spare_limits=settings.get("spare_limits"),
    )
    try:
        server.serve()
    finally:
        if sandbox is None:
            shutil.rmtree(work_root, ignore_errors=True)


if __name__ == "__main__":
    main()
