"""What the integration tests' fixture modules (`db_fixtures`, `msg_fixtures`,
`files_fixtures`) share: unique names, loopback ports and servers, and a node's context."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from flomation.engine.nodes.base import Connection, EngineServices, ExecutionInfo, NodeContext


def unique(prefix: str, sep: str = "_") -> str:
    """A name no other test (or xdist worker) uses: `prefix_<12 hex>` (`sep` "-" where
    underscores are not allowed, as in bucket names)."""
    return f"{prefix}{sep}{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def wait_for_port(
    port: int, process: subprocess.Popen[bytes] | None = None, within_s: float = 15.0
) -> None:
    """Returns once something listens on `port` (bounded), or fails saying why."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)  # polling a condition (the port), not waiting for time
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {within_s} s")


@contextmanager
def serve_http(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` served on a loopback port in a thread; yields `http://127.0.0.1:<port>`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def node_context(
    node_type: str,
    config: dict[str, Any],
    connections: Mapping[str, Connection] | None = None,
    *,
    services: EngineServices | None = None,
    deadline: float | None = None,
    log: Callable[[str, str], None] | None = None,
    node_id: str = "node",
) -> NodeContext:
    """A context for one attempt of `node_type` with this (already rendered) config."""
    return NodeContext(
        node_id=node_id,
        node_type=node_type,
        config=config,
        raw_config=config,
        execution=ExecutionInfo(),
        attempt=1,
        log=log or (lambda level, message: None),
        services=services or EngineServices(),
        connections=dict(connections or {}),
        deadline=deadline,
    )
