"""Async byte streams for store tests: a body made of pieces, and a read drained into bytes."""

from __future__ import annotations


async def stream(*parts: bytes):
    for p in parts:
        yield p


async def collect(it) -> bytes:
    return b"".join([chunk async for chunk in it])
