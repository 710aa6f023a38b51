"""Metadata storage: SQLite or PostgreSQL through SQLAlchemy Core."""
