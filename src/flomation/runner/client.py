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
from typing import Any

import httpx

from flomation import __version__
from flomation.engine.egress import IDLE_CONNECTION_EXPIRY_S
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

    async def register(self, *, labels: dict[str, str], max_concurrent: int) -> dict[str, Any]:
        """Register this process's key. With `--api-public-key` the answer must be signed by
        that key; otherwise the key the API names is trusted from here on (first use)."""
        body = {
            "token": self._settings.token.get_secret_value(),
            "name": self._settings.name,
            "labels": labels,
            "max_concurrent_executors": max_concurrent,
            "public_key": self._key.public_key_base64(),
            "version": __version__,
        }
        answer, raw, response, nonce = await self._send(
            "POST", f"{API_PREFIX}/register", body, runner_id=UNREGISTERED, timeout_s=None
        )
        if not isinstance(answer, dict) or "api_public_key" not in answer:
            raise ApiUnavailable(f"unexpected registration answer: {raw[:200]!r}")
        named = VerifyKey.from_base64(str(answer["api_public_key"]))
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
        self.runner_id = str(answer["runner_id"])
        return answer

    async def goodbye(self) -> None:
        """Tell the API this runner is exiting (after releasing what it held): listed offline
        at once; every request it signs afterwards is refused."""
        await self.call("POST", "/goodbye", {})

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
        if self.runner_id is None or self.api_key is None:
            raise ApiError("the runner is not registered yet")
        answer, raw, response, nonce = await self._send(
            method,
            f"{API_PREFIX}{path}",
            body,
            runner_id=self.runner_id,
            params=params,
            timeout_s=timeout_s,
            content=content,
        )
        if response.status_code == 204:
            return None
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
        body: Any,
        *,
        runner_id: str,
        params: dict[str, str] | None = None,
        timeout_s: float | None,
        content: bytes | None = None,
    ) -> tuple[Any, bytes, httpx.Response, str]:
        if content is None:
            content = b"" if body is None else canonical_json(body)
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
        if status == 204 or not raw:
            return None, raw, response, request.headers[HEADER_NONCE]
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise ApiUnavailable(f"{method} {path}: the answer is not JSON") from exc
        return answer, raw, response, request.headers[HEADER_NONCE]
