"""`omnidrop storage create-bucket`: an explicit step for operators, so no server or worker ever creates
a bucket by itself (a typo in OMNIDROP_STORAGE_URL should fail loudly, not fill a new bucket)."""

from __future__ import annotations

import asyncio

import typer

app = typer.Typer(help="The blob store.", no_args_is_help=True, pretty_exceptions_enable=False)


@app.command("create-bucket")
def create_bucket() -> None:
    """Create the S3 bucket named in OMNIDROP_STORAGE_URL if it does not exist yet."""
    from omnidrop.settings import get_settings
    from omnidrop.storage.factory import open_store

    store = open_store(get_settings())
    make = getattr(store, "create_bucket", None)
    if make is None:
        typer.echo("the blob store is a local directory: there is no bucket to create")
        raise typer.Exit(0)

    async def run() -> bool:
        try:
            return await make()
        finally:
            await store.close()

    made = asyncio.run(run())
    typer.echo(f"bucket {store.bucket} {'created' if made else 'already exists'}")
