"""The medlens REST service and web page (``medlens serve``).

``create_app(settings)`` builds the FastAPI app; the pipeline and knowledge
graph load once, in the app's lifespan. Nothing heavy happens at import.
See ``docs/service.md``.
"""

from __future__ import annotations


def create_app(*args, **kwargs):
    """Build the app; see :func:`medlens.serve.app.create_app`."""
    from medlens.serve.app import create_app as _create_app

    return _create_app(*args, **kwargs)


__all__ = ["create_app"]
