"""Database layer: engine and sessions, the declarative base, column types, the database clock."""
