"""Alembic migrations of the registry schema (run programmatically by ``consilience.registry.migrate``)."""
