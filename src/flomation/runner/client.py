"""The runner's HTTP client for the API: every request signed with the runner's key, every
answer checked against the API's key before anything acts on it.

Errors are mapped at this boundary: `ApiUnavailable` (network trouble, 5xx, 429: retry later),
`ApiRefused` (a 4xx the API meant), `RunnerUnknown` (this runner was deleted: stop), and
`SignatureInvalid` (an answer that is not the API's: never acted on).
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from flomation import __version__
from flomation.engine.egress import IDLE_CONNECTION_EXPIRY_S
from flomation.protocol import (
    ClaimedConnection,
    ClaimedExecution,
    ClaimRequest,
    ClaimResponse,
    GoodbyeRequest,
    RegisterRequest,
    RegisterResponse,
    describe,
)
from flomation.runner.config import RunnerSettings
from flomation.signing import (
    HEADER_NONCE,
    HEADER_SIGNATURE,
    UNREGISTERED,
    SignatureInvalid,
    SigningKey,
    VerifyKey,
    canonical_json,
    sign_request,
    verify_response,
)

log = logging.getLogger("flomation.runner.client")

API_PREFIX = "/api/v1/runner"
Answer = TypeVar("Answer", bound=BaseModel)
Read = TypeVar("Read")


class ApiError(Exception):
    """Base of the client's errors."""


class ApiUnavailable(ApiError):
    """The API could not be reached or answered that it cannot serve now; try again later."""


class ApiRefused(ApiError):
    """The API refused the request (a 4xx): retrying the same request will not help."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        super().__init__(f"{status}: {problem.get('detail') or problem.get('title') or problem}")


class RunnerUnknown(ApiRefused):
    """The API does not know this runner (deleted by an admin): it must stop."""


class AnswerInvalid(ApiUnavailable):
    """The API's answer is not what the protocol says (an API of another version, or a proxy
    answering in its place): nothing acts on it, and the call is tried again later."""


def _read(answer: type[Answer], raw: bytes, what: str) -> Answer:
    try:
        return answer.model_validate_json(raw)
    except ValidationError as exc:
        raise AnswerInvalid(f"{what}: not a {answer.__name__}: {describe(exc)}") from exc


class Unreadable(BaseModel):
    """A claimed execution the runner cannot read, with its id and attempt when it has them."""

    payload: Any
    key: tuple[str, int] | None
    why: str


def read_claim(raw: bytes) -> tuple[ClaimResponse, list[Unreadable]]:
    """The claim answer. A claimed execution that cannot be read is set apart, with why, so
    that the others of the claim still start; a broken answer as a whole is `AnswerInvalid`."""
    try:
        return ClaimResponse.model_validate_json(raw), []
    except ValidationError:
        pass
    try:
        answer = json.loads(raw)
        items = list(answer["executions"])
    except (ValueError, TypeError, KeyError) as exc:
        raise AnswerInvalid(f"the claim answer is not a ClaimResponse: {exc!r}") from exc
    readable: list[ClaimedExecution] = []
    unreadable: list[Unreadable] = []
    for item in items:
        try:
            readable.append(ClaimedExecution.model_validate(item))
        except ValidationError as exc:
            unreadable.append(Unreadable(payload=item, key=_claim_key(item), why=describe(exc)))
    envelope = _read(ClaimResponse, json.dumps({**answer, "executions": []}).encode(), "claim")
    return envelope.model_copy(update={"executions": readable}), unreadable


def _claim_key(item: Any) -> tuple[str, int] | None:
    """(id, attempt) of a claim item, when it has them."""
    try:
        return str(item["id"]), int(item["attempt"])
    except Exception:
        return None


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"detail": response.text[:500]}
    return body if isinstance(body, dict) else {"detail": str(body)[:500]}


def _tls_verify(settings: RunnerSettings) -> ssl.SSLContext | bool:
    """`--ca-cert` names the private CA; else the system store (or SSL_CERT_FILE)."""
    if settings.ca_cert is None:
        return True
    return ssl.create_default_context(cafile=str(settings.ca_cert))


class ApiClient:
    """Signed calls to the runner endpoints. Not retrying by itself: callers decide."""

    def __init__(
        self,
        settings: RunnerSettings,
        key: SigningKey,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._key = key
        self._pinned = (
            VerifyKey.from_base64(settings.api_public_key) if settings.api_public_key else None
        )
        self.api_key: VerifyKey | None = self._pinned
        self.runner_id: str | None = None
        self._http = httpx.AsyncClient(
            base_url=settings.api,
            timeout=settings.request_timeout_s,
            verify=_tls_verify(settings),
            transport=transport,
            headers={"User-Agent": f"flomation-runner/{__version__}"},
            # Many concurrent report, heartbeat and subflow calls share a few connections,
            # dropped when idle before the API's keep-alive timeout could close one in use.
            limits=httpx.Limits(
                max_connections=20,
                max_keepalive_connections=10,
                keepalive_expiry=IDLE_CONNECTION_EXPIRY_S,
            ),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def register(self, *, labels: dict[str, str], max_concurrent: int) -> RegisterResponse:
        """Register this process's key. With `--api-public-key` the answer must be signed by
        that key; otherwise the key the API names is trusted from here on (first use)."""
        body = RegisterRequest(
            token=self._settings.token.get_secret_value(),
            name=self._settings.name,
            labels=labels,
            max_concurrent_executors=max_concurrent,
            public_key=self._key.public_key_base64(),
            version=__version__,
        )
        raw, response, nonce = await self._send(
            "POST",
            f"{API_PREFIX}/register",
            _encoded(body),
            runner_id=UNREGISTERED,
            timeout_s=None,
        )
        answer = _read(RegisterResponse, raw, "registration")
        named = VerifyKey.from_base64(answer.api_public_key)
        if self._pinned is not None and named != self._pinned:
            raise SignatureInvalid(
                "The API's public key is not the pinned one (--api-public-key): refusing to "
                "register with an API that is not ours"
            )
        verify_response(
            self._pinned or named,
            response.headers.get(HEADER_SIGNATURE),
            status=response.status_code,
            runner_id=UNREGISTERED,
            request_nonce=nonce,
            body=raw,
        )
        self.api_key = named
        self.runner_id = answer.runner_id
        return answer

    async def goodbye(self) -> None:
        """Tell the API this runner is exiting (after releasing what it held): listed offline
        at once; every request it signs afterwards is refused."""
        await self.call("POST", "/goodbye", content=_encoded(GoodbyeRequest()))

    async def claim(
        self, body: ClaimRequest, *, timeout_s: float
    ) -> tuple[ClaimResponse, list[Unreadable]]:
        """Long poll for work (`read_claim` says what comes back)."""
        claimed = await self._verified(
            "POST", "/claim", _encoded(body), read_claim, timeout_s=timeout_s
        )
        if claimed is None:
            raise AnswerInvalid("POST /claim: no answer")
        return claimed

    async def ask(
        self,
        method: str,
        path: str,
        answer: type[Answer],
        body: BaseModel | None = None,
        *,
        params: dict[str, str] | None = None,
        timeout_s: float | None = None,
        content: bytes | None = None,
    ) -> Answer:
        """One signed call whose verified answer is read as `answer`.

        `content` is a body already encoded as JSON, sent as it is instead of `body`."""
        if content is None:
            content = b"" if body is None else _encoded(body)
        what = f"{method} {path}"
        read = await self._verified(
            method,
            path,
            content,
            lambda raw: _read(answer, raw, what),
            params=params,
            timeout_s=timeout_s,
        )
        if read is None:
            raise AnswerInvalid(f"{what}: no answer")
        return read

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        timeout_s: float | None = None,
        content: bytes | None = None,
    ) -> Any:
        """One signed call to `/api/v1/runner{path}`; the verified JSON answer (None for 204).

        `content` is a body already encoded as JSON, sent as it is instead of `body`: the
        reporter encodes each event when it is added, so that a batch is never encoded whole."""
        if content is None:
            content = b"" if body is None else canonical_json(body)

        def read(raw: bytes) -> Any:
            try:
                return json.loads(raw)
            except ValueError as exc:
                raise ApiUnavailable(f"{method} {path}: the answer is not JSON") from exc

        return await self._verified(method, path, content, read, params=params, timeout_s=timeout_s)

    async def refresh_connection(
        self, name: str, *, execution_id: str, attempt: int, refused_token_sha256: str
    ) -> ClaimedConnection:
        """A service refused an OAuth 2 connection's token: the API refreshes it (once, across
        runners) and answers the connection with its new token, or `needs_reconnect`."""
        body = {
            "execution_id": execution_id,
            "attempt": attempt,
            "refused_token_sha256": refused_token_sha256,
        }
        return await self.ask(
            "POST",
            f"/connections/{quote(name, safe='')}/refresh",
            ClaimedConnection,
            content=canonical_json(body),
            timeout_s=30.0,
        )

    async def _verified(
        self,
        method: str,
        path: str,
        content: bytes,
        read: Callable[[bytes], Read],
        *,
        params: dict[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> Read | None:
        """The answer, as `read` makes it of the body, once the body's signature is checked;
        None for a 204 or an empty body (still checked). `read` runs first, so that an answer
        that is not what it should be (a proxy's page) is `ApiUnavailable`, not a bad
        signature; nothing acts on it before the signature is checked."""
        if self.runner_id is None or self.api_key is None:
            raise ApiError("the runner is not registered yet")
        raw, response, nonce = await self._send(
            method,
            f"{API_PREFIX}{path}",
            content,
            runner_id=self.runner_id,
            params=params,
            timeout_s=timeout_s,
        )
        if response.status_code == 204:
            return None
        answer = read(raw) if raw else None
        verify_response(
            self.api_key,
            response.headers.get(HEADER_SIGNATURE),
            status=response.status_code,
            runner_id=self.runner_id,
            request_nonce=nonce,
            body=raw,
        )
        return answer

    async def _send(
        self,
        method: str,
        path: str,
        content: bytes,
        *,
        runner_id: str,
        params: dict[str, str] | None = None,
        timeout_s: float | None,
    ) -> tuple[bytes, httpx.Response, str]:
        request = self._http.build_request(
            method,
            path,
            content=content,
            params=params,
            headers={"Content-Type": "application/json"} if content else None,
            timeout=timeout_s if timeout_s is not None else httpx.USE_CLIENT_DEFAULT,
        )
        signed_path = request.url.raw_path.decode("ascii")
        request.headers.update(
            sign_request(
                self._key, runner_id=runner_id, method=method, path=signed_path, body=content
            )
        )
        try:
            response = await self._http.send(request)
            raw = await response.aread()
        except httpx.TransportError as exc:
            raise ApiUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status in (408, 429) or status >= 500:
            raise ApiUnavailable(f"{method} {path}: HTTP {status}: {_problem(response)}")
        if status >= 400:
            problem = _problem(response)
            if status == 401 and problem.get("code") == "runner_unknown":
                raise RunnerUnknown(status, problem)
            raise ApiRefused(status, problem)
        return raw, response, request.headers[HEADER_NONCE]


def _encoded(body: BaseModel) -> bytes:
    """A request body as the API expects it signed: canonical JSON of the model's fields (in
    Python mode: the values as they are, as every other body is encoded)."""
    return canonical_json(body.model_dump())
