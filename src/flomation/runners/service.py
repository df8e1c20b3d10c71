"""Rules of the runners domain: tokens, registration, authenticating signed requests, the
runners list. Every function takes the caller's session and never commits."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from flomation.auth.tokens import RUNNER_TOKEN_PREFIX, generate_token, hash_token
from flomation.config import Settings, get_settings
from flomation.errors import Conflict, NotFound, Unauthorized
from flomation.pagination import PageParams, split_page
from flomation.runners import repository
from flomation.runners.schemas import (
    RunnerItem,
    RunnerTokenCreate,
    RunnerTokenCreated,
    RunnerTokenItem,
)
from flomation.signing import (
    SignatureInvalid,
    SignedRequest,
    SigningKey,
    VerifyKey,
    derive_signing_key,
    verify_request,
)
from flomation.sized_lru import SizedLRU
from flomation.timeutil import isoformat

MAX_SUBFLOW_DEPTH = 10


def api_signing_key(settings: Settings) -> SigningKey:
    """The API's Ed25519 key, derived from the secret key: the same in every API process."""
    return _signing_key(settings.secret_key_bytes())


@functools.lru_cache(maxsize=4)
def _signing_key(secret: bytes) -> SigningKey:
    # Every signed answer needs it; deriving and loading the key each time costs ~0.1 ms.
    return derive_signing_key(secret)


def heartbeat_interval_s(lease_seconds: float, offline_after_s: float | None = None) -> float:
    """A third of the lease, or of the time after which a silent runner is listed offline when
    that is shorter: two heartbeats may be lost before a lease expires or a live runner looks
    offline, and a runner killed without a goodbye is listed offline within `offline_after_s`."""
    if offline_after_s is None:
        return lease_seconds / 3
    return min(lease_seconds, offline_after_s) / 3


# --------------------------------------------------------------------------- tokens


async def create_token(
    session: AsyncSession, *, organization_id: str, created_by: str | None, body: RunnerTokenCreate
) -> RunnerTokenCreated:
    secret = generate_token(RUNNER_TOKEN_PREFIX)
    token = await repository.insert_token(
        session,
        organization_id=organization_id,
        name=body.name,
        token_hash=hash_token(secret),
        labels=body.labels,
        created_by=created_by,
        expires_at=body.expires_at,
    )
    return RunnerTokenCreated(
        id=token.id,
        name=token.name,
        labels=body.labels,
        expires_at=isoformat(body.expires_at),
        token=secret,
    )


async def list_tokens(
    session: AsyncSession, organization_id: str, page: PageParams[str]
) -> tuple[list[RunnerTokenItem], str | None]:
    """A page of the organisation's runner tokens, newest first, and the next cursor."""
    rows, next_cursor = split_page(
        await repository.list_tokens(session, organization_id, page), page, key=lambda row: row.id
    )
    items = [
        RunnerTokenItem(
            id=row.id,
            name=row.name,
            labels=dict(row.labels or {}),
            created_at=isoformat(row.created_at),
            expires_at=isoformat(row.expires_at),
            revoked_at=isoformat(row.revoked_at),
            last_used_at=isoformat(row.last_used_at),
        )
        for row in rows
    ]
    return items, next_cursor


async def revoke_token(session: AsyncSession, *, organization_id: str, token_id: str) -> None:
    if not await repository.revoke_token(session, organization_id, token_id):
        raise NotFound(f"No runner token {token_id}")


# --------------------------------------------------------------------------- registration


def merge_labels(token_labels: dict[str, str], asked: dict[str, str]) -> dict[str, str]:
    """The token's labels win and cannot be overridden; the runner may add keys of its own."""
    clashes = {
        key: (token_labels[key], value)
        for key, value in asked.items()
        if key in token_labels and token_labels[key] != value
    }
    if clashes:
        described = ", ".join(
            f"{key}={mine!r} (the token says {theirs!r})" for key, (theirs, mine) in clashes.items()
        )
        raise Conflict(
            f"The runner's labels contradict its token's: {described}; drop them from --labels "
            "or use a token without them",
            extra={"labels": sorted(clashes)},
        )
    return {**asked, **token_labels}


@dataclass(frozen=True, slots=True)
class Registration:
    runner_id: str
    organization_id: str
    labels: dict[str, str]


async def register_runner(
    session: AsyncSession,
    *,
    token: str,
    name: str,
    labels: dict[str, str],
    max_concurrent_executors: int,
    public_key: str,
    version: str,
    offline_after_s: float,
) -> Registration:
    found = await repository.usable_token(session, hash_token(token))
    if found is None:
        raise Unauthorized("The runner token is unknown, expired or revoked")
    VerifyKey.from_base64(public_key)  # refuse a key that is not one
    merged = merge_labels(dict(found.labels or {}), labels)
    await repository.retire_offline_namesakes(
        session,
        organization_id=found.organization_id,
        name=name,
        offline_after_s=offline_after_s,
    )
    runner_id = await repository.insert_runner(
        session,
        organization_id=found.organization_id,
        token_id=found.id,
        name=name,
        labels=merged,
        public_key=public_key,
        max_concurrent_executors=max_concurrent_executors,
        version=version,
    )
    await repository.touch_token(session, found.id)
    _forget_label_sets(found.organization_id)
    return Registration(runner_id=runner_id, organization_id=found.organization_id, labels=merged)


# --------------------------------------------------------------------------- signed requests


@dataclass(frozen=True, slots=True)
class AuthenticatedRunner:
    """A runner whose request verified: what the protocol endpoints act as."""

    runner_id: str
    organization_id: str
    labels: dict[str, str]
    max_concurrent_executors: int
    nonce: str


# Runner id -> its public key (base64), as last read from the database. A runner's key never
# changes under its id (registering again makes a new runner), and every request still checks
# in the database, in the statement that accepts it, that the runner is active with this key.
_KNOWN_KEYS = SizedLRU[str, str](max_entries=4096)


@functools.lru_cache(maxsize=1024)
def _verify_key(public_key: str) -> VerifyKey:
    """The parsed key: parsing costs more than a dictionary look-up (a bad key is not kept)."""
    return VerifyKey.from_base64(public_key)


def _remember_key(runner_id: str, public_key: str) -> None:
    _KNOWN_KEYS.put(runner_id, public_key)


def _unknown_runner(runner_id: str) -> SignatureInvalid:
    _KNOWN_KEYS.forget(runner_id)
    return SignatureInvalid(
        f"Runner {runner_id} is not registered or was deleted; start it again with a runner token",
        extra={"code": "runner_unknown"},
    )


async def authenticate(
    session: AsyncSession,
    signed: SignedRequest,
    *,
    method: str,
    path: str,
    body: bytes,
    max_skew_s: float,
    now: float | None = None,
) -> AuthenticatedRunner:
    """Verify a signed request: a live runner, a fresh timestamp, a good signature, a new nonce.

    Marks the runner seen. Every refusal is a 401 that says what to fix, checked in this
    order: an unknown or deleted runner, then a stale timestamp or a bad signature, then a
    replayed nonce; a refused request writes nothing. With the runner's key known to this
    process, a good request costs one statement (`session` may be in autocommit).
    """
    runner_id = signed.runner_id
    at = time.time() if now is None else now

    def verify(public_key: str) -> None:
        verify_request(
            _verify_key(public_key),
            signed,
            method=method,
            path=path,
            body=body,
            now=at,
            max_skew_s=max_skew_s,
        )

    public_key = _KNOWN_KEYS.get(runner_id)
    if public_key is not None:
        try:
            verify(public_key)
        except SignatureInvalid:
            # Refused either way; read the runner again so the refusal says the first thing
            # wrong (an unknown or deleted runner before a bad signature).
            public_key = None
        else:
            accepted = await _accept(session, signed, public_key)
            if accepted is not None:
                return accepted
    public_key = await repository.active_public_key(session, runner_id)
    if public_key is None:
        raise _unknown_runner(runner_id)
    verify(public_key)
    _remember_key(runner_id, public_key)
    accepted = await _accept(session, signed, public_key)
    if accepted is None:  # deleted since the read above
        raise _unknown_runner(runner_id)
    return accepted


async def _accept(
    session: AsyncSession, signed: SignedRequest, public_key: str
) -> AuthenticatedRunner | None:
    """Record the verified request (None when its runner is not active with `public_key`)."""
    accepted = await repository.accept_request(
        session, runner_id=signed.runner_id, public_key=public_key, nonce=signed.nonce
    )
    if accepted is None:
        _KNOWN_KEYS.forget(signed.runner_id)
        return None
    if not accepted.nonce_is_new:
        raise SignatureInvalid("This request was sent before (its nonce is used): refused")
    return AuthenticatedRunner(
        runner_id=signed.runner_id,
        organization_id=accepted.organization_id,
        labels=dict(accepted.labels),
        max_concurrent_executors=accepted.max_concurrent_executors,
        nonce=signed.nonce,
    )


async def prune_nonces(session: AsyncSession, *, max_skew_s: float) -> int:
    """Forget nonces old enough that their requests are refused as stale anyway."""
    return await repository.prune_nonces(session, older_than_s=2 * max_skew_s + 5)


async def serialize_runner(session: AsyncSession, runner_id: str) -> None:
    """One of this runner's lease-touching transactions at a time (see the repository)."""
    await repository.serialize_runner(session, runner_id)


async def record_running(session: AsyncSession, runner_id: str, running: int) -> None:
    await repository.mark_seen(session, runner_id, running=running)


async def say_goodbye(session: AsyncSession, runner: AuthenticatedRunner) -> None:
    """The runner is exiting cleanly: list it offline now rather than after the heartbeat TTL,
    and refuse whatever it might still sign."""
    await repository.mark_stopped(session, runner.runner_id)
    _KNOWN_KEYS.forget(runner.runner_id)
    _forget_label_sets(runner.organization_id)


# --------------------------------------------------------------------------- the runners list


async def list_runners(
    session: AsyncSession,
    organization_id: str,
    *,
    offline_after_s: float,
    page: PageParams[str],
) -> tuple[list[RunnerItem], str | None]:
    """A page of the organisation's runners, newest first, and the next cursor."""
    rows, next_cursor = split_page(
        await repository.list_runners(
            session, organization_id, offline_after_s=offline_after_s, page=page
        ),
        page,
        key=lambda row: row[0].id,
    )
    items = [
        RunnerItem(
            id=runner.id,
            name=runner.name,
            labels=dict(runner.labels or {}),
            status="online" if online else "offline",
            max_concurrent_executors=runner.max_concurrent_executors,
            running=runner.running if online else 0,
            last_seen_at=isoformat(runner.last_seen_at),
            registered_at=isoformat(runner.registered_at),
            version=runner.version,
        )
        for runner, online in rows
    ]
    return items, next_cursor


async def delete_runner(session: AsyncSession, *, organization_id: str, runner_id: str) -> None:
    if not await repository.delete_runner(session, organization_id, runner_id):
        raise NotFound(f"No runner {runner_id}")
    _forget_label_sets(organization_id)


# Organisation id -> its online label sets, for `RECENT_LABEL_SETS_TTL_S` after the read.
_RECENT_LABEL_SETS = SizedLRU[str, list[dict[str, str]]](max_entries=10_000)
RECENT_LABEL_SETS_TTL_S = 1.0


async def recent_online_label_sets(
    session: AsyncSession, organization_id: str
) -> list[dict[str, str]]:
    """`online_label_sets` as read at most `RECENT_LABEL_SETS_TTL_S` ago in this process.

    For the "waiting for a runner" detail of each new execution, a hint that spares every
    request a read: whether a runner is online is itself only known to a heartbeat's interval,
    registering or deleting a runner in this process forgets the entry at once, and queue
    maintenance rewrites the detail of waiting executions from a fresh read.
    """
    recent = _RECENT_LABEL_SETS.get(organization_id)
    if recent is not None:
        return recent
    label_sets = await online_label_sets(session, organization_id)
    _RECENT_LABEL_SETS.put(organization_id, label_sets, ttl_s=RECENT_LABEL_SETS_TTL_S)
    return label_sets


def _forget_label_sets(organization_id: str) -> None:
    _RECENT_LABEL_SETS.forget(organization_id)


async def online_label_sets(
    session: AsyncSession, organization_id: str, *, offline_after_s: float | None = None
) -> list[dict[str, str]]:
    """The label sets of the organisation's online runners, so that a queued execution can say
    which labels nobody offers ("waiting for a runner with location=onprem")."""
    if offline_after_s is None:
        offline_after_s = get_settings().runner_offline_after_seconds
    return await repository.online_label_sets(
        session, organization_id, offline_after_s=offline_after_s
    )
