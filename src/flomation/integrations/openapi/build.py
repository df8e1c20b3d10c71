"""From a checked document to an `ImportedService`: the connection type (base URL from
`servers`, credentials from `securitySchemes`) and one operation per path and method."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flomation.integrations.base import connection_property
from flomation.integrations.openapi.document import (
    HTTP_METHODS,
    OpenApiDocumentError,
    Resolver,
    check_document,
    load_document,
    pointer,
)
from flomation.integrations.openapi.model import AuthScheme, Operation, Parameter
from flomation.integrations.openapi.schemas import SchemaConverter
from flomation.integrations.openapi.service import ImportedService

__all__ = ["NAME_PATTERN", "import_openapi"]

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Headers the request itself sets; OpenAPI says parameters with these names are ignored.
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_OAUTH_FIELDS = ("client_id", "client_secret", "token_url", "scopes", "access_token")
_RESERVED_FIELDS = frozenset({"base_url", *_OAUTH_FIELDS})
_TIMEOUT = {
    "type": "number",
    "title": "Timeout (s)",
    "exclusiveMinimum": 0,
    "maximum": 3600,
    "default": 30,
}


def import_openapi(name: str, document: bytes | str) -> ImportedService:
    """The connection type `openapi.<name>` and node types `openapi.<name>.<operationId>` of an
    OpenAPI 3.0/3.1 document (JSON or YAML, at most 5 MiB). Raises `OpenApiDocumentError`
    (with the JSON pointer of the first broken place) for a document that cannot be imported,
    and `ValueError` for a bad name."""
    if not NAME_PATTERN.match(name):
        raise ValueError(f"the service name {name!r} must match {NAME_PATTERN.pattern}")
    doc = load_document(document)
    try:
        version = check_document(doc)
        return _Builder(name, doc, version).build()
    except RecursionError:
        # Schemas nested thousands deep (not through $refs, which are followed once).
        raise OpenApiDocumentError("", "the document is nested too deeply") from None


class _Builder:
    def __init__(self, name: str, doc: Mapping[str, Any], version: str) -> None:
        self.name = name
        self.doc = doc
        self.version = version
        self.resolver = Resolver(doc)
        self.schemas = SchemaConverter(self.resolver, version)
        self.notes: list[str] = []

    def build(self) -> ImportedService:
        info = self.doc["info"]
        schemes, auth_fields, auth = self._schemes()
        base_url, servers = self._servers()
        base_property: dict[str, Any] = {
            "type": "string",
            "title": "Base URL",
            "description": "Where the service is, e.g. one of the document's servers.",
        }
        if servers:
            base_property["examples"] = servers
        if base_url:
            base_property["default"] = base_url
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {"base_url": base_property, **auth_fields},
            "additionalProperties": False,
        }
        if not base_url:
            schema["required"] = ["base_url"]
        return ImportedService(
            name=self.name,
            title=str(info["title"]),
            description=str(info.get("description") or info.get("summary") or ""),
            version=str(info["version"]),
            openapi=self.version,
            default_base_url=base_url,
            connection_schema=schema,
            auth=auth,
            schemes=schemes,
            operations=self._operations(),
            notes=tuple(self.notes),
        )

    # ------------------------------------------------------------------ connection

    def _servers(self) -> tuple[str, list[str]]:
        """The first absolute server URL (variables at their defaults), and every URL."""
        urls: list[str] = []
        for server in self.doc.get("servers") or ():
            url = str(server["url"])
            variables = server.get("variables")
            for var, spec in (variables if isinstance(variables, Mapping) else {}).items():
                if isinstance(spec, Mapping) and "default" in spec:
                    url = url.replace("{" + var + "}", str(spec["default"]))
            urls.append(url)
        absolute = [u for u in urls if u.lower().startswith(("http://", "https://"))]
        if urls and not absolute:
            self.notes.append(
                f"the document's servers are relative ({urls[0]}); give the connection the "
                "full base URL"
            )
        return (absolute[0].rstrip("/") if absolute else ""), urls

    def _schemes(self) -> tuple[tuple[AuthScheme, ...], dict[str, Any], str | None]:
        components = self.doc.get("components") or {}
        found: list[AuthScheme] = []
        fields: dict[str, Any] = {}
        auth: str | None = None
        for name, scheme in (components.get("securitySchemes") or {}).items():
            scheme, _ = self.resolver.resolve(
                scheme, pointer("components", "securitySchemes", name)
            )
            kind, http = scheme["type"], str(scheme.get("scheme", "")).lower()
            base = self._field_name(name, fields)
            about = str(scheme.get("description") or "")
            if kind == "apiKey":
                where, param = scheme["in"], scheme["name"]
                fields[base] = _secret(f"{name} (API key, {where} {param})", about)
                found.append(AuthScheme(name, "api_key", (base,), where, param))
            elif kind == "http" and http == "bearer":
                fields[f"{base}_token"] = _secret(f"{name} (bearer token)", about)
                found.append(AuthScheme(name, "bearer", (f"{base}_token",)))
            elif kind == "http" and http == "basic":
                fields[f"{base}_username"] = {"type": "string", "title": f"{name} (user name)"}
                fields[f"{base}_password"] = _secret(f"{name} (password)", about)
                found.append(AuthScheme(name, "basic", (f"{base}_username", f"{base}_password")))
            elif kind == "oauth2" and _client_credentials(scheme) and auth is None:
                flow = scheme["flows"]["clientCredentials"]
                fields.update(_oauth_fields(name, flow))
                found.append(AuthScheme(name, "oauth2_client_credentials", _OAUTH_FIELDS))
                auth = "oauth2"
            else:
                what = f"{kind} {http}".strip() if kind != "oauth2" else _flows(scheme)
                self.notes.append(
                    f"security scheme {name!r} ({what}) is not supported: operations that need "
                    "it are sent with the connection's other credentials"
                )
        return tuple(found), fields, auth

    @staticmethod
    def _field_name(name: str, taken: Mapping[str, Any]) -> str:
        base = _UNSAFE.sub("_", name).strip("_") or "credential"
        if base in _RESERVED_FIELDS or base in taken:
            base = f"{base}_key"
        return base

    # ------------------------------------------------------------------ operations

    def _operations(self) -> tuple[Operation, ...]:
        found: list[tuple[str, str, str, Mapping[str, Any], list[Any]]] = []
        explicit: dict[str, str] = {}
        for path, item in (self.doc.get("paths") or {}).items():
            if path.startswith("x-"):
                continue
            item, item_at = self.resolver.resolve(item, pointer("paths", path))
            shared = item.get("parameters") or []
            for method, operation in item.items():
                if method not in HTTP_METHODS:
                    continue
                op_at = item_at + pointer(method)
                raw_id = operation.get("operationId")
                if isinstance(raw_id, str):
                    if raw_id in explicit:
                        raise OpenApiDocumentError(
                            op_at + "/operationId",
                            f"operationId {raw_id!r} is also used at {explicit[raw_id]}",
                        )
                    explicit[raw_id] = op_at
                found.append((path, method, op_at, operation, shared))
        ids: set[str] = set()
        operations = []
        for path, method, op_at, operation, shared in found:
            raw_id = operation.get("operationId")
            base = _operation_id(raw_id) if isinstance(raw_id, str) else _generated_id(method, path)
            operation_id, n = base, 1
            while operation_id in ids:
                n += 1
                operation_id = f"{base}_{n}"
            ids.add(operation_id)
            operations.append(self._operation(operation_id, path, method, op_at, operation, shared))
        return tuple(operations)

    def _operation(
        self,
        operation_id: str,
        path: str,
        method: str,
        at: str,
        operation: Mapping[str, Any],
        shared: list[Any],
    ) -> Operation:
        uses: set[str] = set()
        parameters, sections = self._parameters(uses, at, operation, shared)
        properties: dict[str, Any] = {"connection": connection_property()}
        required = ["connection"]
        for key, (props, needed) in sections.items():
            if not props:
                continue
            section: dict[str, Any] = {
                "type": "object",
                "properties": props,
                "additionalProperties": False,
            }
            if needed:
                section["required"] = needed
                required.append(key)
            properties[key] = section
        has_body = False
        if "requestBody" in operation:
            body_at = at + "/requestBody"
            body, body_at = self.resolver.resolve(operation["requestBody"], body_at)
            media = _json_media(body["content"])
            if media is None:
                kinds = ", ".join(body["content"]) or "none"
                self.notes.append(f"{operation_id}: request body ({kinds}) is not JSON; not sent")
            else:
                has_body = True
                spec = body["content"][media]
                schema: Any = {}
                if isinstance(spec, Mapping) and "schema" in spec:
                    schema_at = body_at + pointer("content", media, "schema")
                    schema = self.schemas.convert(spec["schema"], schema_at, uses)
                properties["body"] = _described(schema, body.get("description"))
                if body.get("required") is True:
                    required.append("body")
        properties["timeout_s"] = dict(_TIMEOUT)
        config_schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }
        if uses:
            config_schema["$defs"] = self.schemas.defs_for(uses)
        summary = str(operation.get("summary") or "").strip()
        description = str(operation.get("description") or "").strip()
        return Operation(
            operation_id=operation_id,
            method=method.upper(),
            path=path,
            title=summary or operation_id,
            description=description or summary or f"{method.upper()} {path}",
            parameters=parameters,
            has_body=has_body,
            security=self._security(operation, at),
            config_schema=config_schema,
            output_schema=self._output_schema(operation, at),
            tags=tuple(str(t) for t in _list(operation.get("tags"))),
        )

    def _parameters(
        self,
        uses: set[str],
        at: str,
        operation: Mapping[str, Any],
        shared: list[Any],
    ) -> tuple[tuple[Parameter, ...], dict[str, tuple[dict[str, Any], list[str]]]]:
        by_key: dict[tuple[str, str], tuple[Mapping[str, Any], str]] = {}
        item_at = at.rsplit("/", 1)[0]
        # The operation's own parameters replace the path item's of the same name and place.
        own = operation.get("parameters") or []
        for where, entries in ((f"{item_at}/parameters", shared), (f"{at}/parameters", own)):
            for index, entry in enumerate(entries):
                parameter, p_at = self.resolver.resolve(entry, f"{where}/{index}")
                by_key[(parameter["name"], parameter["in"])] = (parameter, p_at)
        parameters: list[Parameter] = []
        sections: dict[str, tuple[dict[str, Any], list[str]]] = {
            "path": ({}, []),
            "query": ({}, []),
            "headers": ({}, []),
        }
        for (name, where), (parameter, p_at) in by_key.items():
            if where == "cookie" or (where == "header" and name.lower() in _IGNORED_HEADERS):
                continue
            schema = self._parameter_schema(parameter, p_at, uses)
            required = parameter.get("required") is True
            props, needed = sections["headers" if where == "header" else where]
            props[name] = _described(schema, parameter.get("description"))
            if required:
                needed.append(name)
            explode = parameter.get("explode")
            style = parameter.get("style", "form" if where == "query" else "simple")
            parameters.append(
                Parameter(
                    name=name,
                    location=where,
                    required=required,
                    style=str(style),
                    explode=bool(explode) if explode is not None else style == "form",
                )
            )
        return tuple(parameters), sections

    def _parameter_schema(self, parameter: Mapping[str, Any], at: str, uses: set[str]) -> Any:
        if "schema" in parameter:
            return self.schemas.convert(parameter["schema"], at + "/schema", uses)
        content = parameter.get("content")
        if isinstance(content, Mapping):
            for media, spec in content.items():
                if isinstance(spec, Mapping) and "schema" in spec:
                    return self.schemas.convert(
                        spec["schema"], at + pointer("content", media, "schema"), uses
                    )
        return {}

    def _security(
        self, operation: Mapping[str, Any], at: str
    ) -> tuple[tuple[str, ...], ...] | None:
        """The operation's alternatives of schemes (its own `security`, else the document's),
        or None when neither says anything."""
        if "security" in operation:
            security, security_at = operation["security"], at + "/security"
        elif "security" in self.doc:
            security, security_at = self.doc["security"], "/security"
        else:
            return None
        if not isinstance(security, list):
            raise OpenApiDocumentError(security_at, "must be a list")
        declared = set((self.doc.get("components") or {}).get("securitySchemes") or {})
        alternatives = []
        for index, requirement in enumerate(security):
            if not isinstance(requirement, Mapping):
                raise OpenApiDocumentError(f"{security_at}/{index}", "must be an object")
            for name in requirement:
                if name not in declared:
                    raise OpenApiDocumentError(
                        f"{security_at}/{index}" + pointer(name),
                        f"security scheme {name!r} is not in /components/securitySchemes",
                    )
            alternatives.append(tuple(requirement))
        return tuple(alternatives)

    def _output_schema(self, operation: Mapping[str, Any], at: str) -> dict[str, Any]:
        body: Any = {}
        uses: set[str] = set()
        responses = operation.get("responses") or {}
        for status, response in responses.items():
            if not (str(status).startswith("2") or str(status).upper() == "2XX"):
                continue
            response, r_at = self.resolver.resolve(response, at + pointer("responses", status))
            content = response.get("content") if isinstance(response, Mapping) else None
            media = _json_media(content) if isinstance(content, Mapping) else None
            if media is not None and isinstance(content, Mapping):
                spec = content[media]
                if isinstance(spec, Mapping) and "schema" in spec:
                    s_at = r_at + pointer("content", media, "schema")
                    body = self.schemas.convert(spec["schema"], s_at, uses)
            break
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {
                "status": {"type": "integer"},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "body": body,
            },
            "required": ["status", "headers", "body"],
        }
        if uses:
            schema["$defs"] = self.schemas.defs_for(uses)
        return schema


def _operation_id(raw: str) -> str:
    """An operationId as a node type name can hold it (`openapi.<service>.<id>`: no dots)."""
    return _UNSAFE.sub("_", raw).strip("_") or "operation"


def _generated_id(method: str, path: str) -> str:
    """The id of an operation without one, stable while its method and path stay:
    `get /project/{username}/{project}` is `get_project_username_project`."""
    segments = (_UNSAFE.sub("_", segment).strip("_") for segment in path.split("/"))
    return "_".join([method, *(segment for segment in segments if segment)])


def _secret(title: str, description: str) -> dict[str, Any]:
    prop: dict[str, Any] = {"type": "string", "title": title, "x-secret": True}
    if description:
        prop["description"] = description
    return prop


def _oauth_fields(name: str, flow: Mapping[str, Any]) -> dict[str, Any]:
    token_url: dict[str, Any] = {"type": "string", "title": "Token URL"}
    if isinstance(flow.get("tokenUrl"), str):
        token_url["default"] = flow["tokenUrl"]
    scopes: dict[str, Any] = {"type": "string", "title": "Scopes (space-separated)"}
    if isinstance(flow.get("scopes"), Mapping) and flow["scopes"]:
        scopes["default"] = " ".join(flow["scopes"])
    return {
        "client_id": {"type": "string", "title": f"{name} (OAuth 2 client id)"},
        "client_secret": _secret(f"{name} (OAuth 2 client secret)", ""),
        "token_url": token_url,
        "scopes": scopes,
        "access_token": _secret(
            "Access token", "Obtained and refreshed by Flomation from the client credentials."
        ),
    }


def _client_credentials(scheme: Mapping[str, Any]) -> bool:
    return isinstance(scheme["flows"].get("clientCredentials"), Mapping)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _flows(scheme: Mapping[str, Any]) -> str:
    flows = scheme.get("flows")
    names = ", ".join(flows) if isinstance(flows, Mapping) else ""
    return f"oauth2 {names}".strip()


def _json_media(content: Mapping[str, Any]) -> str | None:
    for media in content:
        kind = media.split(";", 1)[0].strip().lower()
        if kind == "application/json" or kind.endswith("+json"):
            return media
    return None


def _described(schema: Any, description: Any) -> Any:
    if isinstance(schema, dict) and isinstance(description, str) and description.strip():
        return {**schema, "description": description.strip()}
    return schema
