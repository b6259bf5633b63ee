"""`sxs serve`: the comparison API under uvicorn (127.0.0.1 by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from service.settings import load_settings


def serve(
    config: Annotated[
        Path | None, typer.Option(help="settings TOML (wins over SXS_* variables)")
    ] = None,
    host: Annotated[str | None, typer.Option(help="[default: 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="[default: 8080]")] = None,
    db: Annotated[Path | None, typer.Option(help="SQLite store [default: .sxs/sxs.db]")] = None,
    registry: Annotated[
        Path | None, typer.Option("--registry", "-r", help="models.toml [default: ./models.toml]")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level")] = "info",
) -> None:
    """Serve the pairwise comparison API; unfinished comparisons resume at start-up."""
    import uvicorn

    from service.app import create_app

    overrides: dict[str, Any] = {
        key: value
        for key, value in {"host": host, "port": port, "db": db, "registry": registry}.items()
        if value is not None
    }
    settings = load_settings(config, **overrides)
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level)
