"""The flow engine: definition model and validation, expressions, executor and node types.

Pure: it imports no database, web, API, runner or Launch code (checked by import-linter).
"""
