"""Triggers: schedules, webhooks, S3 and Git sources that start executions."""
