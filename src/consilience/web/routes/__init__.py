"""The dashboard's routes, one module per concept; each module's ``router`` holds its pages and
its JSON API."""

from __future__ import annotations

from consilience.web.routes import alerts, curves, experiments, leaderboard, progress, static

__all__ = ["ROUTERS"]

ROUTERS = (experiments.router, leaderboard.router, progress.router, alerts.router,
           curves.router, static.router)
"""Every router, in the order they are mounted."""
