"""OpenAPI import: any HTTP service described by an OpenAPI 3.0/3.1 document becomes a
connection type `openapi.<name>` and one node type `openapi.<name>.<operationId>` per
operation. `import_openapi` is pure (no database, no network); the API stores
`ImportedService.to_dict()` and a runner rebuilds the types with `ImportedService.from_dict`.

Modules: `document` (parse, check, `$ref`s and JSON pointers), `schemas` (OpenAPI schemas as
JSON Schema 2020-12), `build` (the document to a service), `model` (the stored shapes),
`service` (`ImportedService`), `node` (the generated node types' request), `auth` (which
credentials a request carries), `probe` (testing a connection), `registries` (Flomation's
types plus an organisation's imported ones).
"""

from flomation.integrations.openapi.build import NAME_PATTERN, import_openapi
from flomation.integrations.openapi.document import MAX_DOCUMENT_BYTES, OpenApiDocumentError
from flomation.integrations.openapi.node import OpenApiOperationNode
from flomation.integrations.openapi.registries import connection_type_registry, node_registry
from flomation.integrations.openapi.service import ImportedService

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "NAME_PATTERN",
    "ImportedService",
    "OpenApiDocumentError",
    "OpenApiOperationNode",
    "connection_type_registry",
    "import_openapi",
    "node_registry",
]
