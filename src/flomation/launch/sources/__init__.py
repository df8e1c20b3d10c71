"""Trigger sources: schedule (cron), s3 (bucket polling), git (branch polling)."""
