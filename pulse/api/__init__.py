"""FastAPI application: read routes, health, error shape. Routers call ``storage`` functions and
never write SQL; ingest routes come from ``collector`` and are mounted by ``main``."""
