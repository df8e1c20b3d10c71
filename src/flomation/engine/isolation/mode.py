"""Who user code runs as on this runner, decided once at start."""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass

from flomation.engine.isolation.limits import IsolationSettings

__all__ = ["IsolationMode", "decide_isolation"]


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
    if settings.uid_range is not None:
        first, last = settings.uid_range
        if not 0 < first <= last:
            raise ValueError(f"uid_range must be 1 <= first <= last, got {settings.uid_range}")
        return IsolationMode(
            None, None, f"a uid of its own per run ({first}-{last})", uid_range=(first, last)
        )
    try:
        entry = pwd.getpwnam(settings.sandbox_user)
    except KeyError:
        problem = f"the sandbox user {settings.sandbox_user!r} does not exist"
    else:
        if entry.pw_uid != 0 and entry.pw_gid != 0:
            return IsolationMode(
                entry.pw_uid,
                entry.pw_gid,
                f"sandbox user {settings.sandbox_user!r} (uid {entry.pw_uid})",
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
