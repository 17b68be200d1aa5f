"""Alembic migrations of the case store (a package so that wheels ship them)."""
