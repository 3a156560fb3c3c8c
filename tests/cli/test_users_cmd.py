"""`omnidrop users create`: the user can log in at once; the owner groups users with keys."""

import os

import httpx

from tests.support.server import run_cli


def test_a_created_user_logs_in_and_shares_its_owner_with_keys(server):
    name = f"cli-{os.urandom(3).hex()}@example.com"
    team = f"team-{os.urandom(3).hex()}"
    done = run_cli(["users", "create", "--username", name, "--password", "pw", "--owner", team], server.env)
    assert done.returncode == 0, done.stderr
    r = httpx.post(f"{server.url}/auth/login", json={"username": name, "password": "pw"})
    assert r.status_code == 200
    user = {"Authorization": f"Bearer {r.json()['token']}"}
    created = httpx.post(f"{server.url}/360/projects", json={"id": team}, headers=user)
    assert created.status_code == 201
    listed = httpx.get(f"{server.url}/360/projects", headers=server.headers(owner=team)).json()["projects"]
    assert [p["id"] for p in listed] == [team]


def test_the_password_comes_from_the_environment_when_not_given(server):
    name = f"env-{os.urandom(3).hex()}@example.com"
    env = {**server.env, "OMNIDROP_NEW_USER_PASSWORD": "from-env"}
    assert run_cli(["users", "create", "--username", name], env).returncode == 0
    assert httpx.post(f"{server.url}/auth/login", json={"username": name, "password": "from-env"}).status_code == 200
