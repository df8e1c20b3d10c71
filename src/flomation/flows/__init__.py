"""Flows: definitions with their complete, immutable revision history; diff, restore,
validation and the node-type catalogue. Other domains use `flomation.flows.service`."""
