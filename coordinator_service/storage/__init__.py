"""Storage: ORM tables, engine/session setup and Alembic migrations."""
