"""Woken long polls of interchangeable runners take turns, and skip a claim already covered.

A new execution wakes every idle runner's long poll in its organisation (a wake-up does not
say which runner may take the work), and only one of them gets it: each of the others would
run a claim transaction for nothing, once per execution, which under a steady trickle of work
costs the API and the database more than the claim that succeeds. Runners of one organisation
with the same labels can claim exactly the same executions, so in each API process they form
a group whose woken long polls claim one at a time, and a claim that came back with slots to
spare has taken everything claimable when it began: a long poll woken by a publication made
before that claim began goes back to waiting without a claim of its own.

Why that loses nothing: a publication is made after its transaction committed (the after-commit
hook, or PostgreSQL's delivery of the NOTIFY), and a claim reads the publication stamp before
its statement starts, so the claim's snapshot holds every execution announced up to that stamp.
What a claim could not take then (a flow at its concurrency limit, a row another claim held
locked) is announced again when it becomes claimable (an end frees the flow, a failed claim
leaves the lease to run out and be requeued), and a long poll that times out claims once more
whatever the group says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping


class ClaimGroup:
    """The woken long polls, in one API process, of one organisation's runners that carry the
    same labels."""

    def __init__(self) -> None:
        # Held around a woken long poll's claim, so the next one in the group sees its result.
        self.lock = asyncio.Lock()
        self._covered = 0

    def covers(self, published: int | None) -> bool:
        """Whether a claim that began after the publication stamped `published` (None: no
        stamp, as without a notifier) left nothing claimable for this group."""
        return published is not None and 0 < published <= self._covered

    def record(self, published: int | None, *, claimed: int, limit: int) -> None:
        """A claim that began at stamp `published` took `claimed` of at most `limit`."""
        if published is not None and claimed < limit:
            self._covered = max(self._covered, published)


# A group outlives its long polls: a runner's next long poll, right after a claim, skips its
# own claim when the group covers what was published since (one group per organisation and
# label set that claimed in this process: few).
_GROUPS: dict[tuple[str, frozenset[tuple[str, str]]], ClaimGroup] = {}


def claim_group(organization_id: str, labels: Mapping[str, str]) -> ClaimGroup:
    key = (organization_id, frozenset(labels.items()))
    group = _GROUPS.get(key)
    if group is None:
        group = ClaimGroup()
        _GROUPS[key] = group
    return group
