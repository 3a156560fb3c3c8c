"""`omnidrop serve`: migrate, then run the ASGI app under granian (default) or uvicorn."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from omnidrop.cli.runtime import apply_data_dir, migrate

APP_FACTORY = "omnidrop.app:create_app"


class ServerKind(str, Enum):
    granian = "granian"
    uvicorn = "uvicorn"


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Server worker processes."),
    server: ServerKind = typer.Option(ServerKind.granian, help="HTTP server implementation."),
    data_dir: Path | None = typer.Option(None, envvar="OMNIDROP_DATA_DIR", help="Where the SQLite file and blobs live."),
) -> None:
    """Run the server. With no configuration: SQLite and blobs under ./omnidrop-data."""
    settings = apply_data_dir(data_dir)
    migrate(settings)  # once, before workers start, so they never race on DDL
    typer.echo(f"omnidrop on http://{host}:{port} (data in {settings.data_dir.resolve()}, {server.value})")
    if server is ServerKind.granian:
        from granian import Granian
        from granian.constants import Interfaces

        Granian(APP_FACTORY, factory=True, address=host, port=port, workers=workers, interface=Interfaces.ASGI).serve()
    else:
        import uvicorn

        uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers, loop="uvloop", http="httptools")
