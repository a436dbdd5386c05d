"""The dashboard: pages and a JSON API over an experiment registry (``consilience serve``).

Needs FastAPI, Jinja2 and, to serve, uvicorn (``pip install 'consilience[web]'``); they are
imported when :func:`create_app` is called, not when this package is.
"""

from __future__ import annotations

from consilience.web.app import create_app

__all__ = ["create_app"]
