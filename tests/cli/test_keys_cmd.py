import httpx

from tests.support.server import run_cli


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
