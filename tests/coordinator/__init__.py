"""Coordinator service tests (TestClient and a real uvicorn on loopback; SQLite and PostgreSQL)."""
