"""`flomation runner`: one runner process (see docs/runner-protocol.md)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from flomation import eventloop
from flomation.cli import app
from flomation.cli.options import console


@app.command("runner")
def runner_command(
    api: str | None = typer.Option(None, "--api", help="The API's base URL."),
    token: str | None = typer.Option(
        None,
        "--token",
        help="A runner token (flo_r_...). Visible to every process of this host: prefer "
        "FLOMATION_RUNNER_TOKEN or --token-file.",
    ),
    token_file: Path | None = typer.Option(
        None, "--token-file", help="A file holding the runner token."
    ),
    labels: str | None = typer.Option(None, "--labels", help="k=v,k2=v2 added to the token's."),
    max_concurrent_executors: int | None = typer.Option(None, "--max-concurrent-executors"),
    api_public_key: str | None = typer.Option(
        None, "--api-public-key", help="Pin the API's signing key (base64)."
    ),
    secrets_file: Path | None = typer.Option(
        None,
        "--secrets-file",
        help="JSON object of runner-local secrets; its `connections` object holds "
        'runner-local connections as {"NAME": {"type", "values"}}.',
    ),
    ca_cert: Path | None = typer.Option(None, "--ca-cert", help="CA certificate of the API."),
    name: str | None = typer.Option(None, "--name", help="Defaults to the host name."),
    allow_unisolated_code: bool | None = typer.Option(
        None,
        "--allow-unisolated-code",
        help="Run python/shell nodes even where they cannot be isolated (as root!).",
    ),
    egress_policy: str | None = typer.Option(
        None, "--egress-policy", help="self_hosted (default) or shared_cloud."
    ),
    code_sandbox: str | None = typer.Option(
        None,
        "--code-sandbox",
        help="auto (default: bubblewrap where it works), require (refuse code without it), off.",
    ),
    code_network: bool | None = typer.Option(
        None,
        "--code-network/--no-code-network",
        help="Whether python/shell code may use the network (default: not under shared_cloud).",
    ),
    shutdown_grace_s: float | None = typer.Option(None, "--shutdown-grace-s"),
    metrics_port: int | None = typer.Option(None, "--metrics-port"),
    log_level: str | None = typer.Option(None, "--log-level"),
) -> None:
    """Run executions for the API: register with a runner token, then claim, run and report.

    Every flag has an environment variable: FLOMATION_RUNNER_<FLAG> (e.g. FLOMATION_RUNNER_API).
    Give the token in FLOMATION_RUNNER_TOKEN or --token-file, not on the command line.
    """
    from flomation.logs import configure_logging
    from flomation.runner.config import RunnerSettings
    from flomation.runner.local_secrets import SecretsFileError
    from flomation.runner.process import Runner

    given: dict[str, Any] = {
        "api": api,
        "token": token,
        "token_file": token_file,
        "labels": labels,
        "max_concurrent_executors": max_concurrent_executors,
        "api_public_key": api_public_key,
        "secrets_file": secrets_file,
        "ca_cert": ca_cert,
        "name": name,
        "allow_unisolated_code": allow_unisolated_code,
        "egress_policy": egress_policy,
        "code_sandbox": code_sandbox,
        "code_network": code_network,
        "shutdown_grace_s": shutdown_grace_s,
        "metrics_port": metrics_port,
        "log_level": log_level,
    }
    try:
        settings = RunnerSettings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "settings"
            console.print(f"[red]error:[/red] {where}: {error['msg']}")
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level)
    if token is not None:
        # Said after the settings are valid, so the log has its configured form.
        logging.getLogger("flomation.runner").warning(
            "the runner token was given with --token: every process of this host can read it "
            "in /proc/%d/cmdline; give it in FLOMATION_RUNNER_TOKEN or with --token-file",
            os.getpid(),
        )

    async def main() -> int:
        runner = Runner(settings)
        runner.install_signal_handlers()
        return await runner.run()

    try:
        status = eventloop.run(main())
    except SecretsFileError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    raise typer.Exit(status)
