"""All SQL lives here (docs/architecture.md §Dependency rule): connection lifecycle, migrations,
writes, reads, accounts.

Knows nothing of HTTP, gRPC or FastAPI; functions take a psycopg pool or connection and return
rows (read functions return the API's JSON row shape, built by PostgreSQL itself).
"""
