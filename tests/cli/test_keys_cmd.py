import os
import subprocess
from pathlib import Path

import httpx

from tests.support.server import OMNIDROP, run_cli


def test_create_prints_the_key_once_list_hides_it_and_revoke_stops_it(server):
    created = run_cli(["keys", "create", "--name", "ci", "--scope", "projects:write", "--owner", "team"], server.env)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("sk_") and "\n" not in token

    listed = run_cli(["keys", "list"], server.env)
    assert listed.returncode == 0
    assert "ci" in listed.stdout and token not in listed.stdout and token[:10] in listed.stdout

    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.post(f"{server.api}/uploads", headers=auth).status_code == 201
    revoked = run_cli(["keys", "revoke", token[:10]], server.env)
    assert revoked.returncode == 0, revoked.stderr
    r = httpx.post(f"{server.api}/uploads", headers=auth)
    assert (r.status_code, r.json()) == (401, {"error": "invalid_api_key"})
    assert run_cli(["keys", "revoke", token[:10]], server.env).returncode == 1


def test_unknown_scope_is_a_usage_error(server):
    done = run_cli(["keys", "create", "--name", "x", "--scope", "everything"], server.env)
    assert done.returncode == 2
    assert "unknown scope" in done.stderr


def _bare_env() -> dict[str, str]:
    """The environment of someone at a shell: no OMNIDROP_* settings at all."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OMNIDROP_")}


def test_create_outside_the_servers_directory_refuses_to_make_a_new_database(tmp_path):
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    done = subprocess.run([*OMNIDROP, "keys", "create", "--name", "lost"], env=_bare_env(), cwd=elsewhere,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and not done.stdout  # no key printed
    assert str(elsewhere / "omnidrop-data" / "omnidrop.db") in done.stderr and "--init-db" in done.stderr
    assert not (elsewhere / "omnidrop-data").exists()  # nothing made
    users = subprocess.run([*OMNIDROP, "users", "create", "--username", "u", "--password", "p"], env=_bare_env(),
                           cwd=elsewhere, capture_output=True, text=True, timeout=120)
    assert users.returncode == 1 and "--init-db" in users.stderr and not (elsewhere / "omnidrop-data").exists()

    # Asked for, a new database is made, and the command says which one.
    done = subprocess.run([*OMNIDROP, "keys", "create", "--name", "new", "--init-db"], env=_bare_env(),
                          cwd=elsewhere, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("sk_")
    assert f"in the SQLite database {elsewhere / 'omnidrop-data' / 'omnidrop.db'}" in done.stderr


def test_create_says_which_database_the_key_went_into(server):
    done = run_cli(["keys", "create", "--name", "which"], server.env)
    assert done.returncode == 0, done.stderr
    url = server.env.get("OMNIDROP_DATABASE_URL", "")
    if url.startswith("postgresql"):
        assert "in the database postgresql+asyncpg://" in done.stderr and url.rsplit("/", 1)[1] in done.stderr
    else:
        path = url.split(":///", 1)[1] if url else server.data_dir / "omnidrop.db"
        assert f"in the SQLite database {Path(path).resolve()}" in done.stderr
