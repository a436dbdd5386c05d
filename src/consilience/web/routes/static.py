"""The dashboard's style sheet and script, served from memory.

Both files are read from the package once, into a fixed table; the request names an entry of
that table and never a path, so nothing else can be served.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

__all__ = ["STATIC_FILES", "router"]

router = APIRouter()

STATIC_FILES = {"style.css": "text/css; charset=utf-8",
                "app.js": "text/javascript; charset=utf-8"}
"""The only files served under ``/static/``, with their media types."""


@cache
def _content(name: str) -> bytes:
    return (resources.files("consilience.web") / "static" / name).read_bytes()


@router.get("/static/{name:path}", include_in_schema=False)
def static_file(name: str) -> Response:
    media = STATIC_FILES.get(name)
    if media is None:
        raise HTTPException(404, "Not found.")
    return Response(_content(name), media_type=media,
                    headers={"Cache-Control": "public, max-age=300"})


@router.get("/health", tags=["meta"])
def health() -> dict[str, str]:
    """Liveness check."""
    return {"status": "ok"}
