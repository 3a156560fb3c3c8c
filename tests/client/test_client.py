"""The SDK stays light: importing it (and running a client command) loads nothing of the server."""

from __future__ import annotations

import subprocess
import sys

SERVER_PARTS = ("omnidrop.db", "omnidrop.storage", "omnidrop.uploads", "omnidrop.app", "omnidrop.settings",
                "omnidrop.services", "omnidrop.surfaces", "sqlalchemy", "fastapi", "aiobotocore")


def test_importing_the_client_loads_no_server_module():
    code = ("import sys, omnidrop.client, omnidrop.cli.upload_cmd, omnidrop.cli.client_output; "
            "print('\\n'.join(sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert not [m for m in loaded if m.startswith(SERVER_PARTS)]


def test_the_server_commands_do_not_load_the_client():
    code = "import sys, omnidrop.cli.main; print('\\n'.join(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert not [m for m in loaded if m.startswith(("omnidrop.client", "httpx", "rich.progress"))]
