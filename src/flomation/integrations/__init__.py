"""Connections and the integration nodes that use them: one module per service, each holding
its connection type (schema, secret fields, probe) and its node types; `registry` names them."""
