"""``consilience serve``: the dashboard over a registry.

It listens on 127.0.0.1 (this machine only) unless ``--host`` says otherwise; binding to another
address prints a warning, because everyone who can reach the port can read the registry (changes
still need the write token).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from consilience.cli.app import app, handles_errors
from consilience.cli.registry_cmd import Db
from consilience.errors import InputError, MissingDependencyError

__all__ = ["is_loopback", "serve_command"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1 or localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@app.command("serve")
@handles_errors
def serve_command(
    db: Db = None,
    host: Annotated[
        str,
        typer.Option("--host", help="Address to listen on. Default 127.0.0.1: this machine "
                                    "only; another address (0.0.0.0) opens it to the network."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    metric: Annotated[
        str | None, typer.Option("--metric", help="Metric shown by default.")
    ] = None,
) -> None:
    """Serve the dashboard: experiments, leaderboard, progress, alerts, learning curves and the
    JSON API (/api, schema at /openapi.json). Read-only without the write token."""
    if not 0 < port < 65536:
        raise InputError(f"--port must be between 1 and 65535; got {port}.")
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingDependencyError(
            f"The 'uvicorn' package is needed to serve the dashboard ({exc}). Install it with: "
            f"pip install 'consilience[web]'") from exc
    from consilience.web.app import LOCAL_HOSTS, create_app

    local = is_loopback(host)
    if not local:
        typer.echo(f"warning: listening on {host}: anyone who can reach port {port} can read "
                   f"the registry (changes still need the write token, sent in clear text "
                   f"without HTTPS). Put it behind an HTTPS proxy, or keep the default "
                   f"--host 127.0.0.1.", err=True)
    web_app = create_app(db, metric=metric, allowed_hosts=LOCAL_HOSTS if local else None, prewarm=True)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"consilience dashboard on http://{shown}:{port}/ (Ctrl+C to stop)")
    uvicorn.run(web_app, host=host, port=port, log_level="warning")
