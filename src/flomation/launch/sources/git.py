"""Git triggers: watch a branch with `git ls-remote`; on a new head, fetch into a bare cache
repository under the data directory and list what changed.

The cursor is `{"head": sha}`. The first poll records the head (and fills the cache) without
firing. A new head fires one execution whose dedupe key is the trigger and the new head's SHA,
with the commits reachable from the new head and not from the old one (at most
`MAX_COMMITS`): after a force-push these are exactly the commits the branch gained. When the old
head cannot be found (a cache on another host after a lease move, a rewritten history already
gone), the latest commits of the new head are reported with `forced: true`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flomation.launch.egress import EgressRefused
from flomation.launch.sources.base import SourceContext, apply, fail, next_poll
from flomation.launch.sources.gitcli import (
    FETCH_TIMEOUT_S,
    LOCAL_TIMEOUT_S,
    LS_REMOTE_TIMEOUT_S,
    GitAccess,
    GitError,
    git_access,
    git_environment,
    public_url,
    run_git,
)
from flomation.triggers.config import GitConfig
from flomation.triggers.schemas import Fire, Outcome, TriggerWork

MAX_COMMITS = 100
UNKNOWN_BASE_COMMITS = 20
_CACHE_REF = "refs/flomation/head"
_SEEN_REF = "refs/flomation/seen"


@dataclass(frozen=True)
class Change:
    commits: list[dict[str, Any]]
    forced: bool


def dedupe_key(trigger_id: str, sha: str) -> str:
    return f"git:{trigger_id}:{sha}"


def _parse_log(output: bytes) -> list[dict[str, Any]]:
    commits: list[dict[str, Any]] = []
    for record in output.decode(errors="replace").split("\x1e"):
        if not record.strip():
            continue
        parts = record.split("\x1f")
        if len(parts) < 4:
            continue
        sha, author, message, files = parts[0].strip(), parts[1], parts[2], parts[3]
        commits.append(
            {
                "sha": sha,
                "author": author,
                "message": message.strip(),
                "files": [line for line in files.splitlines() if line.strip()],
            }
        )
    commits.reverse()  # oldest first, like a push event
    return commits


class GitSource:
    def __init__(self, context: SourceContext) -> None:
        self.context = context

    def _cache(self, trigger_id: str) -> Path:
        return self.context.data_dir / "launch" / "git" / f"{trigger_id}.git"

    async def run(self, work: TriggerWork) -> None:
        config = work.config
        assert isinstance(config, GitConfig)
        try:
            # Before anything else, the secret included: a refused URL gets nothing.
            access = await git_access(self.context.egress, config.url)
            secret = await self._secret(work, config)
            async with git_environment(
                config.url, secret, known_hosts=self.context.data_dir / "launch" / "known_hosts"
            ) as env:
                env.update(access.env)
                if access.ssh_options:
                    env["GIT_SSH_COMMAND"] += " " + " ".join(access.ssh_options)
                head = await self._remote_head(config, access, env)
                old = (work.cursor or {}).get("head")
                if old == head:
                    change = None
                else:
                    change = await self._update_cache(work.id, config, access, env, old, head)
        except (GitError, EgressRefused) as exc:
            await fail(
                self.context, work, f"{public_url(config.url)}: {exc}", interval_s=config.interval_s
            )
            return
        next_at = next_poll(self.context, config.interval_s)
        if not isinstance(old, str) or change is None:
            # Baseline (first poll) or nothing new.
            await apply(self.context, work, Outcome(cursor={"head": head}, next_fire_at=next_at))
            return
        fire = Fire(
            input={
                "repository": public_url(config.url),
                "branch": config.branch,
                "before": old,
                "after": head,
                "forced": change.forced,
                "commits": change.commits,
            },
            dedupe_key=dedupe_key(work.id, head),
            trigger_data={"branch": config.branch, "sha": head},
        )
        await apply(
            self.context,
            work,
            Outcome(
                cursor={"head": head},
                next_fire_at=next_at,
                fires=[fire],
                fired_at=self.context.clock.now(),
            ),
        )

    async def _secret(self, work: TriggerWork, config: GitConfig) -> str | None:
        if config.credentials is None:
            return None
        value = await self.context.secret(work.organization_id, config.credentials)
        if value is None:
            raise GitError(f"the secret {config.credentials} holding the credentials is not set")
        return value

    async def _remote_head(self, config: GitConfig, access: GitAccess, env: dict[str, str]) -> str:
        ref = f"refs/heads/{config.branch}"
        result = await run_git(
            ["ls-remote", "--", access.url, ref],
            env=env,
            timeout_s=LS_REMOTE_TIMEOUT_S,
            config=access.config,
        )
        for line in result.stdout.decode(errors="replace").splitlines():
            sha, _, name = line.partition("\t")
            if name.strip() == ref:
                return sha.strip()
        raise GitError(f"the branch {config.branch} does not exist")

    async def _update_cache(
        self,
        trigger_id: str,
        config: GitConfig,
        access: GitAccess,
        env: dict[str, str],
        old: Any,
        head: str,
    ) -> Change | None:
        """Fetch the branch into the cache and list the new commits (None on a baseline)."""
        cache = self._cache(trigger_id)
        if not (cache / "HEAD").exists():
            cache.parent.mkdir(parents=True, exist_ok=True)
            await run_git(
                ["init", "--bare", "--quiet", str(cache)], env=env, timeout_s=LOCAL_TIMEOUT_S
            )
        refspec = f"+refs/heads/{config.branch}:{_CACHE_REF}"
        await run_git(
            ["fetch", "--quiet", "--no-tags", "--", access.url, refspec],
            env=env,
            timeout_s=FETCH_TIMEOUT_S,
            cwd=cache,
            config=access.config,
        )
        if not isinstance(old, str):
            await self._mark_seen(cache, env, head)
            return None
        old_known = (
            await run_git(
                ["cat-file", "-e", f"{old}^{{commit}}"],
                env=env,
                timeout_s=LOCAL_TIMEOUT_S,
                cwd=cache,
                check=False,
            )
        ).returncode == 0
        log_format = "--format=%x1e%H%x1f%an <%ae>%x1f%B%x1f"
        if old_known:
            ancestor = await run_git(
                ["merge-base", "--is-ancestor", old, head],
                env=env,
                timeout_s=LOCAL_TIMEOUT_S,
                cwd=cache,
                check=False,
            )
            forced = ancestor.returncode != 0
            args = ["log", f"--max-count={MAX_COMMITS}", log_format, "--name-only", "--no-renames"]
            args += [head, "--not", old, "--"]
        else:
            forced = True
            args = ["log", f"--max-count={UNKNOWN_BASE_COMMITS}", log_format, "--name-only"]
            args += ["--no-renames", head, "--"]
        result = await run_git(args, env=env, timeout_s=LOCAL_TIMEOUT_S, cwd=cache)
        await self._mark_seen(cache, env, head)
        return Change(commits=_parse_log(result.stdout), forced=forced)

    async def _mark_seen(self, cache: Path, env: dict[str, str], head: str) -> None:
        # Keeps the last seen head reachable in the cache, so after a force-push the old
        # commits are still there to compare with.
        await run_git(
            ["update-ref", _SEEN_REF, head], env=env, timeout_s=LOCAL_TIMEOUT_S, cwd=cache
        )
