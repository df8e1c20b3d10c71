"""Flomation: workflow automation."""
