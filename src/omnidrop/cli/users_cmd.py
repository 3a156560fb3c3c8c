"""`omnidrop users create`: people who log in with `POST /auth/login` (the walkthrough API's step 1)."""

from __future__ import annotations

from pathlib import Path

import typer

from omnidrop.cli.runtime import database_label, existing_database, with_services

app = typer.Typer(help="Manage users who log in with a password.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
DataDir = typer.Option(None, envvar="OMNIDROP_DATA_DIR", help="Where the SQLite file and blobs live.")


@app.command()
def create(
    username: str = typer.Option(..., help="Login name, usually an email address."),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                 envvar="OMNIDROP_NEW_USER_PASSWORD", help="Asked for when not given."),
    owner: str | None = typer.Option(None, help="Owner the user acts for (default: a new owner named after the "
                                                "user). Uploads and projects belong to the owner."),
    data_dir: Path | None = DataDir,
    init_db: bool = typer.Option(False, "--init-db", help="Create the database when it does not exist yet "
                                                           "(otherwise refused)."),
) -> None:
    """Create a user; the password is stored as a salted scrypt hash."""
    from omnidrop.auth.logins import UserExists

    settings = existing_database(data_dir, init_db, "user")
    try:
        record = with_services(settings, lambda s: s.logins.create_user(username, password, owner))
    except UserExists:
        typer.echo(f"a user {username!r} exists", err=True)
        raise typer.Exit(1) from None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"created user {record.username} ({record.id}) in {database_label(settings)}")
