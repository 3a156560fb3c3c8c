"""Minimal tuspyserver peer for bench/uploads/run.py.

Run (from the peer venv):
    TUSPY_FILES_DIR=/some/dir uvicorn --app-dir bench/uploads/peers tuspy_app:app \
        --host 127.0.0.1 --port PORT --loop uvloop --http httptools --workers 1

tus endpoint: /files (POST to create, PATCH to append); GET /healthz -> 200.
Data lands in $TUSPY_FILES_DIR/<upload id> with a <upload id>.info sidecar.
"""

import os

from fastapi import FastAPI
from tuspyserver import create_tus_router

FILES_DIR = os.environ["TUSPY_FILES_DIR"]

app = FastAPI()
app.include_router(create_tus_router(prefix="files", files_dir=FILES_DIR))


@app.get("/healthz")
async def healthz() -> dict:
    return {"ok": True}
