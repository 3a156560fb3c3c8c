"""An S3-compatible server for tests: moto 5.2.x in standalone server mode on 127.0.0.1.

moto checks multipart semantics (EntityTooSmall, InvalidPart, ListParts paging, the md5-of-md5s ETag)
but not presigned signatures or expiry, which omnidrop's own signed URLs are tested for instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

import boto3
import httpx

from omnidrop.storage.s3 import client_config
from tests.support.server import free_port

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass
class MotoS3:
    endpoint: str
    proc: subprocess.Popen

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", config=client_config())

    def new_bucket(self) -> str:
        name = f"omnidrop-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def storage_url(self, bucket: str | None = None) -> str:
        return f"s3://{bucket or self.new_bucket()}?endpoint={self.endpoint}&region=us-east-1"


    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_moto(log_path) -> MotoS3:
    """`moto_server` as its own process: it never competes with the tests for the GIL."""
    # Fake credentials for this process and, by inheritance, every server it starts.
    os.environ.update(CREDENTIALS)
    port = free_port()
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited early, see {log_path}")
        try:
            httpx.get(f"{endpoint}/moto-api/", timeout=1)
            return MotoS3(endpoint=endpoint, proc=proc)
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto_server did not come up")
