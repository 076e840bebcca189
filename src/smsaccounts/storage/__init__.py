"""Storage: SQLAlchemy Core tables, repositories, transactions and Alembic migrations."""
