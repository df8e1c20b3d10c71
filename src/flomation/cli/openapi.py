"""`flomation openapi`: print the API's OpenAPI document.

The editor's API client is generated from this document; printing it from the app factory
needs neither a server nor a database.
"""

from __future__ import annotations

import json

import typer

from flomation.cli import app


@app.command("openapi")
def openapi_command() -> None:
    """Print the OpenAPI document of the API (what /api/v1/openapi.json serves) as JSON."""
    from flomation.api.app import create_app

    # Building the app opens no connection: the database engine connects on first use.
    document = create_app().openapi()
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
