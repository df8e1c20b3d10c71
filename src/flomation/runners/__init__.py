"""The runners domain: runner tokens, registration, the runners list, and the API side of the
signed runner protocol (docs/runner-protocol.md)."""
