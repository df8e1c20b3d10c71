"""Who user code runs as on this runner, decided once at start."""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass

from flomation.engine.isolation.limits import IsolationSettings

__all__ = ["DEFAULT_UID_RANGE", "IsolationMode", "decide_isolation", "usable_uid_range"]

# The uids a root runner gives its runs when its settings say "auto": far above any account
# (Debian's adduser stops at 59999, systemd's dynamic users at 65519).
DEFAULT_UID_RANGE = (2_000_000, 2_000_999)


@dataclass(frozen=True, slots=True)
class IsolationMode:
    """Who code runs as on this runner; `refusal` is set when it cannot run at all."""

    uid: int | None
    gid: int | None
    description: str
    refusal: str | None = None
    uid_range: tuple[int, int] | None = None

    @property
    def switches_user(self) -> bool:
        return self.uid is not None or self.uid_range is not None


def decide_isolation(settings: IsolationSettings) -> IsolationMode:
    """Decides who user code runs as: never root unless the operator waived isolation."""
    if os.geteuid() != 0:
        user = pwd.getpwuid(os.geteuid()).pw_name
        return IsolationMode(None, None, f"the runner's own unprivileged user {user!r}")
    uid_range = settings.uid_range
    why_not_per_run = ""
    if uid_range == "auto":
        uid_range = None
        why_not_per_run = usable_uid_range(DEFAULT_UID_RANGE)
        if not why_not_per_run:
            uid_range = DEFAULT_UID_RANGE
    if uid_range is not None:
        first, last = uid_range
        if not 0 < first <= last:
            raise ValueError(f"uid_range must be 1 <= first <= last, got {settings.uid_range}")
        return IsolationMode(
            None, None, f"a uid of its own per run ({first}-{last})", uid_range=(first, last)
        )
    if why_not_per_run:
        why_not_per_run = f"; not a uid per run: {why_not_per_run}"
    try:
        entry = pwd.getpwnam(settings.sandbox_user)
    except KeyError:
        problem = f"the sandbox user {settings.sandbox_user!r} does not exist"
    else:
        if entry.pw_uid != 0 and entry.pw_gid != 0:
            return IsolationMode(
                entry.pw_uid,
                entry.pw_gid,
                f"sandbox user {settings.sandbox_user!r} (uid {entry.pw_uid}){why_not_per_run}",
            )
        problem = f"the sandbox user {settings.sandbox_user!r} has uid or gid 0"
    if settings.allow_unisolated:
        return IsolationMode(None, None, f"root, UNISOLATED ({problem}; waived by the operator)")
    return IsolationMode(
        None,
        None,
        "refused",
        refusal=(
            f"this runner runs as root and cannot isolate code: {problem}. Create that user "
            "or name another unprivileged one in the runner's settings, or start the runner "
            "with the explicit flag that allows unisolated code (it then runs as root)"
        ),
    )


def usable_uid_range(uids: tuple[int, int]) -> str:
    """Why this host cannot give runs the uids `uids` (a container whose user namespace does
    not map them, an account that has one), or "" when it can."""
    first, last = uids
    try:
        with open("/proc/self/uid_map") as uid_map:
            mapped = [tuple(int(n) for n in line.split()) for line in uid_map if line.strip()]
    except OSError:
        mapped = [(0, 0, 2**32 - 1)]  # no user namespaces: every uid exists
    if not any(inside <= first and last < inside + count for inside, _, count in mapped):
        return f"uids {first}-{last} are not mapped in this user namespace"
    taken = sorted(entry.pw_name for entry in pwd.getpwall() if first <= entry.pw_uid <= last)
    if taken:
        return f"uids {first}-{last} are used by {', '.join(taken[:3])}"
    return ""
