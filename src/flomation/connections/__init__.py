"""Connections: typed, encrypted credentials that integration nodes use by name."""
