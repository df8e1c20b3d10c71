"""Node types: `base` holds the interface, one module per built-in kind, `registry` finds them."""
