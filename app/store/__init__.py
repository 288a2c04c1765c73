"""The local store: SQLite (WAL, synchronous=FULL), SQLAlchemy 2 tables, Alembic migrations.

All SQL lives in this package. Repositories take a `Database` and return domain objects;
one writer at a time (`Database.write()`), any number of readers.
"""
