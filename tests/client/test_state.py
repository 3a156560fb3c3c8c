"""The resume state file: atomic, shared safely between threads and processes."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time

from omnidrop.client.state import StateFile


def test_entries_are_kept_merged_and_removed(tmp_path):
    state = StateFile(tmp_path / "s" / "uploads.json")
    state.put("files", "a", {"url": "u"})
    state.merge("files", "a", done=True)
    assert StateFile(tmp_path / "s" / "uploads.json").get("files", "a") == {"url": "u", "done": True}
    state.put("files", "a", None)
    assert state.get("files", "a") is None


def test_threads_do_not_lose_updates(tmp_path):
    state = StateFile(tmp_path / "uploads.json")

    def add(n: int) -> None:
        for i in range(20):
            state.update("files", "etags", lambda e, k=f"{n}-{i}": {**e, k: "x"})

    threads = [threading.Thread(target=add, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(state.get("files", "etags")) == 80


def _writer(path: str) -> None:
    state = StateFile(__import__("pathlib").Path(path))
    i = 0
    while True:
        state.put("files", f"k{i % 50}", {"n": i, "pad": "x" * 2000})
        i += 1


def test_a_sigkill_mid_write_leaves_a_whole_file(tmp_path):
    path = tmp_path / "uploads.json"
    for _ in range(3):
        proc = multiprocessing.get_context("spawn").Process(target=_writer, args=(str(path),))
        proc.start()
        before = path.stat().st_mtime_ns if path.exists() else 0
        deadline = time.monotonic() + 30
        while not (path.exists() and path.stat().st_mtime_ns != before) and time.monotonic() < deadline:
            time.sleep(0.01)  # writing has begun
        time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        data = json.loads(path.read_text())  # never torn
        assert data["files"]
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".uploads-")]
    assert len(leftovers) <= 3  # at most the temp file each kill interrupted; the state is whole
