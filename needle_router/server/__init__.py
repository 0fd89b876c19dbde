"""The HTTP face of the router: an OpenAI-compatible API and the playground page.

``create_app`` (in :mod:`needle_router.server.app`) needs the ``serve`` extra (Starlette,
uvicorn); this package's ``__init__`` imports neither, so the CLI can register its commands
without them.
"""
