"""POST /auth/login is throttled per username and per client address, answering 429 with Retry-After in
the walkthrough API's error shape, against a live server."""

from __future__ import annotations

import os

import httpx

from tests.support.server import run_cli


def test_guessing_one_users_password_is_throttled(servers, db_url):
    live = servers.start(database_url=db_url, login_limit_per_user="3/minute", login_limit_per_address="5/minute")
    name = f"victim-{os.urandom(3).hex()}@example.com"
    done = run_cli(["users", "create", "--username", name, "--password", "right"], live.env)
    assert done.returncode == 0, done.stderr
    for _ in range(3):
        r = httpx.post(f"{live.url}/auth/login", json={"username": name, "password": "guess"})
        assert r.status_code == 401 and r.json()["error"] == "invalid_credentials"
    for password in ("guess", "right"):  # past the limit even the right password waits for the window
        r = httpx.post(f"{live.url}/auth/login", json={"username": name, "password": password})
        assert r.status_code == 429, r.text
        assert r.json()["error"] == "rate_limited" and "3 per 1 minute" in r.json()["message"]
        assert 1 <= int(r.headers["retry-after"]) <= 60
    # The address had 3 attempts counted (the refused ones stopped at the user's limit): 2 more, then 429.
    for _ in range(2):
        r = httpx.post(f"{live.url}/auth/login", json={"username": f"x{os.urandom(3).hex()}", "password": "p"})
        assert r.status_code == 401
    r = httpx.post(f"{live.url}/auth/login", json={"username": "someone-else", "password": "p"})
    assert r.status_code == 429 and "Retry-After" in r.headers
    live.stop()


def test_oversized_credentials_are_refused_before_hashing(server):
    r = httpx.post(f"{server.url}/auth/login", json={"username": "u", "password": "p" * 100_000})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
