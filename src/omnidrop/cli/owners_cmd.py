"""`omnidrop owners set|list`: quotas and the plan switch per key owner."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from omnidrop.cli.runtime import apply_data_dir, migrate, with_services

app = typer.Typer(help="Key owners: storage quota and upload permission.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
DataDir = typer.Option(None, envvar="OMNIDROP_DATA_DIR", help="Where the SQLite file and blobs live.")
UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
         "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_size(text: str) -> int | None:
    """`500GB`, `2TiB`, `1048576`; `none` or `unlimited` clears the quota."""
    value = text.strip().upper().replace(" ", "")
    if value in ("NONE", "UNLIMITED", "DEFAULT"):
        return None
    number = value.rstrip("KMGTIB")
    unit = value[len(number):]
    if unit not in UNITS or not number.replace(".", "", 1).isdigit():
        raise typer.BadParameter(f"not a size: {text!r} (e.g. 500GB, 2TiB, unlimited)")
    return int(float(number) * UNITS[unit])


@app.command("set")
def set_owner(
    name: str = typer.Argument(..., help="Owner name (as given to `keys create --owner`)."),
    quota: str | None = typer.Option(None, help="Storage quota, e.g. 500GB; `unlimited` clears it."),
    uploads: bool | None = typer.Option(None, "--allow-uploads/--forbid-uploads", help="Plan switch."),
    data_dir: Path | None = DataDir,
) -> None:
    """Set an owner's quota and/or whether its plan allows uploads (the owner is created if new)."""
    from omnidrop.auth.quotas import set_plan

    settings = apply_data_dir(data_dir)
    migrate(settings)
    quota_bytes = parse_size(quota) if quota is not None else ...
    plan = with_services(settings, lambda s: set_plan(s.db, name, quota_bytes, None if uploads is None else not uploads))
    typer.echo(f"{name}: quota {plan.quota_bytes if plan.quota_bytes is not None else 'unlimited'} bytes, "
               f"uploads {'forbidden' if plan.uploads_forbidden else 'allowed'}, using {plan.used_bytes} bytes")


@app.command("list")
def list_owners(data_dir: Path | None = DataDir) -> None:
    """Owners with their quota, usage and plan switch."""
    from rich.console import Console
    from rich.table import Table

    from omnidrop.auth.quotas import list_plans

    settings = apply_data_dir(data_dir)
    migrate(settings)
    table = Table("owner", "quota bytes", "used bytes", "uploads")
    for plan in with_services(settings, lambda s: list_plans(s.db)):
        table.add_row(plan.owner, "unlimited" if plan.quota_bytes is None else str(plan.quota_bytes),
                      str(plan.used_bytes), "forbidden" if plan.uploads_forbidden else "allowed")
    Console(width=None if sys.stdout.isatty() else 200).print(table)
