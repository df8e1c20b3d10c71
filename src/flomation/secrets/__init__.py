"""Organisation variables and encrypted secrets."""
