"""The web app and REST API (``chokepoints serve``): FastAPI pages and ``/api/v1`` over the
same ``Workspace`` questions as the CLI, read-only, cached per store generation.

``app`` builds the FastAPI application; ``answerer`` runs questions on a pool of read-only
workspaces with a timeout and a cache; ``settings`` holds what ``serve`` was started with.
"""
