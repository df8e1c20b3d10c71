"""The runner process (`flomation runner`): registers with the API, claims executions over
signed HTTP, runs them with the engine and reports back. It never touches the database: it
imports no db, models or domain code (checked by import-linter) and keeps no state on disk."""
