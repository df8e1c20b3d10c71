"""Which of a service's credentials a request carries, and how they go into it."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from flomation.integrations.openapi.model import AuthScheme, SecurityRequirement

__all__ = ["apply_credentials", "choose_credentials"]


def choose_credentials(
    schemes: Sequence[AuthScheme],
    security: Sequence[SecurityRequirement] | None,
    values: Mapping[str, Any],
) -> list[AuthScheme]:
    """The schemes to apply: the first of the operation's alternatives (`security`) that the
    connection's `values` can satisfy; none when the operation may go without (`{}`) and none
    can; and when the document says nothing (`None`), or asks only for what the connection
    cannot give (an implicit OAuth flow), every credential the connection has, and the
    service decides."""
    configured = {s.name: s for s in schemes if _has_values(s, values)}
    if security is not None:
        for requirement in security:
            if requirement and all(name in configured for name in requirement):
                return [configured[name] for name in requirement]
        if () in security:
            return []
    return list(configured.values())


def apply_credentials(
    schemes: Sequence[AuthScheme],
    values: Mapping[str, Any],
    headers: dict[str, str],
    query: dict[str, Any],
) -> None:
    """Adds the schemes' credentials to a request's headers and query."""
    cookies: list[str] = []
    for scheme in schemes:
        if scheme.kind == "api_key":
            key = str(values[scheme.fields[0]])
            if scheme.location == "header":
                headers[scheme.param] = key
            elif scheme.location == "query":
                query[scheme.param] = key
            else:
                cookies.append(f"{scheme.param}={quote(key, safe='')}")
        elif scheme.kind == "basic":
            user, password = (str(values.get(f) or "") for f in scheme.fields)
            pair = base64.b64encode(f"{user}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {pair}"
        else:  # bearer, oauth2_client_credentials: a token in the Authorization header
            headers["Authorization"] = f"Bearer {values[scheme.fields[-1]]}"
    if cookies:
        headers["Cookie"] = "; ".join(cookies)


def _has_values(scheme: AuthScheme, values: Mapping[str, Any]) -> bool:
    # The field that must be set: the key, the token, the user name of basic auth.
    needed = scheme.fields[0] if scheme.kind == "basic" else scheme.fields[-1]
    value = values.get(needed)
    return isinstance(value, str) and value != ""
