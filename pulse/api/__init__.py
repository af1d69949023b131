"""FastAPI application: read routes, health, error shape. Routers call ``storage`` functions and
never write SQL; ingest routes come from ``receivers`` and are mounted by ``main``."""
