"""Launch, the trigger service: leases triggers, fires schedules, polls S3 and Git."""
