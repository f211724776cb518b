"""The server half: FastAPI extension, routes, auth, UI serving and the CLI. Never imported by workers."""
