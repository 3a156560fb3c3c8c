"""The upload commands' output: a Rich progress bar in a real pseudo-terminal, and the exit-code table."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios

import httpx
import pytest
import typer

from omnidrop.cli import client_output as out
from omnidrop.client.errors import ApiError, ConfigError, LocalFileError, TransportError
from tests.support.client import MiB, client_env, sparse_file
from tests.support.server import OMNIDROP

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.mark.parametrize("backend", ["sqlite-local"], indirect=True)
def test_progress_renders_in_a_terminal_and_ends_at_100_percent(server, tmp_path):
    data = tmp_path / "pano.jpg"
    sparse_file(data, 12 * MiB, seed=8)
    env = client_env(server, tmp_path, TERM="xterm-256color", COLUMNS="120")
    env.pop("NO_COLOR", None)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([*OMNIDROP, "upload", str(data), "--chunk-size", "1MiB", "--no-project"],
                            env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            block = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not block:
            break
        chunks.append(block)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    screen = ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))
    assert "━" in screen  # the bar itself
    assert "pano.jpg" in screen and "total" in screen
    percents = [int(p) for p in re.findall(r"(\d{1,3})%", screen)]
    assert percents and percents[-1] == 100 and max(percents) == 100
    assert "12.0/12.0 MiB" in screen
    assert "1 file, 12582912 bytes" in screen


def _error(status: int, code: str) -> ApiError:
    return ApiError(status, code, "")


@pytest.mark.parametrize(("exc", "code"), [
    (ConfigError("no url"), out.EXIT_CONFIG),
    (LocalFileError("gone"), out.EXIT_LOCAL_FILE),
    (TransportError("down"), out.EXIT_UNAVAILABLE),
    (_error(401, "invalid_api_key"), out.EXIT_AUTH),
    (_error(403, "insufficient_scope"), out.EXIT_AUTH),
    (_error(402, "storage_quota_exceeded"), out.EXIT_QUOTA),
    (_error(403, "tariff_forbids_upload"), out.EXIT_QUOTA),
    (_error(415, "extension_not_allowed"), out.EXIT_REFUSED),
    (_error(413, "FILE_TOO_LARGE"), out.EXIT_REFUSED),
    (_error(503, "service_unavailable"), out.EXIT_UNAVAILABLE),
    (_error(429, "rate_limited"), out.EXIT_UNAVAILABLE),
    (KeyboardInterrupt(), out.EXIT_INTERRUPTED),
    (RuntimeError("bug"), out.EXIT_BUG),
], ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v))
def test_exit_codes(exc, code):
    assert out.exit_code_for(exc) == code


def test_messages_carry_the_servers_details_and_a_hint():
    r = httpx.Response(413, json={"error": "file_too_large", "limit": 1000})
    text = out.describe_error(ApiError.from_response(r))
    assert text.startswith("413 file_too_large (limit=1000)") and "per-file limit" in text


def test_a_long_error_stays_on_one_line_off_a_terminal(capsys):
    path = "/tmp/" + "deep/" * 30 + "scan.e57"
    with pytest.raises(typer.Exit) as done:
        out.Output().fail(LocalFileError(f"{path}: no such file or directory"))
    assert done.value.exit_code == 4
    assert capsys.readouterr().err == f"error: {path}: no such file or directory\n"
