"""Connecting to the address the egress policy checked, for clients that open their own
connections (git, boto3): Launch's sources and the integration nodes share these, so a name
that resolves to something else between the check and the connect (DNS rebinding) is never
connected to. Each helper takes a resolver, `(host, port) -> checked addresses`, that raises
its caller's refusal (Launch's `EgressRefused`, the engine's `BlockedError`)."""
