"""Finding bubblewrap, and saying what a runner without it cannot isolate."""

from __future__ import annotations

import os
import shutil

from flomation.engine.isolation.limits import IsolationSettings

__all__ = ["FALLBACK_GAPS", "FALLBACK_GAP_OWN_USER", "find_bwrap"]

# Where `bwrap` is looked for besides PATH (a runner started with an empty PATH).
KNOWN_BWRAP = ("/usr/bin/bwrap", "/usr/local/bin/bwrap")

# What the fork server's own isolation (rlimits, an unprivileged uid, its own process group)
# does not give, in the words of the runner's startup log.
FALLBACK_GAPS = (
    "code can see every process of the host in /proc (command lines, and the environment of "
    "processes of the same user)",
    "runs share the host's /tmp, /var/tmp and /dev/shm: files a run leaves there outlive it "
    "and later runs see them",
    "no disk quota (only the per-file size limit)",
)
# And for a runner that is not root (code then runs as the runner's own user):
FALLBACK_GAP_OWN_USER = (
    "code runs as the runner's own user and can read what it can: the runner's token file, "
    "its secrets file, its environment in /proc"
)


def find_bwrap(settings: IsolationSettings) -> tuple[str | None, str]:
    """The `bwrap` to use and "", or None and why there is none."""
    if settings.sandbox == "off":
        return None, "the sandbox is turned off in the runner's settings"
    if settings.bwrap is not None:
        if os.access(settings.bwrap, os.X_OK):
            return settings.bwrap, ""
        return None, f"the configured bwrap {settings.bwrap!r} is not an executable file"
    found = shutil.which("bwrap")
    if found is None:
        found = next((path for path in KNOWN_BWRAP if os.access(path, os.X_OK)), None)
    if found is None:
        return None, "bubblewrap (bwrap) is not installed (Debian: apt-get install bubblewrap)"
    return found, ""
