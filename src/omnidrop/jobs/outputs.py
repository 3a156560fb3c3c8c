"""Derived outputs no subject owns any more, removed: the mechanism, for any job kind that declares them.

Re-runs overwrite outputs by key, but keys only a dead attempt wrote (frames past the final count, a
different set of names) and the outputs of subjects that failed for good or were deleted would stay in
the store forever: nothing lists them. A kind declares where its outputs live (`Outputs`) and:

  * on success, the handler calls `keep_only(store, prefix, written)` once its writes are durable:
    every key under the prefix the successful attempt did not write goes;
  * on final failure, the runner deletes the subject's prefixes (after the handler's `failed`), all but
    the keys the kind says are not outputs (`kept_on_failure`: an input stored beside them);
  * the reaper (`reap_orphans`) deletes the prefixes of subjects whose row no longer exists.

Every step only deletes, and only what the current attempt did not write, so a crash at any line
leaves work the next run (or reap) finishes; none ever deletes a key the current attempt wrote.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from omnidrop.storage.base import BlobStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outputs:
    """Where one job kind's outputs live. `services` is the app's object handed to handlers."""

    # The prefixes of one subject's outputs, worthless once its job failed for good ([] if none or gone).
    of_failed_subject: Callable[[Any, str], Awaitable[list[str]]]
    # Every subject's outputs lie below `root`; `subject_prefix(key)` is the (subject id, prefix) a key
    # belongs to, or None for a key that is not this kind's output.
    root: str
    subject_prefix: Callable[[str], tuple[str, str] | None]
    # Which of these subject ids still have a row (read in one query).
    existing: Callable[[Any, set[str]], Awaitable[set[str]]]
    # Keys below those prefixes that are not outputs and stay when the job failed for good (an input
    # stored beside its outputs, the outputs an earlier successful run left referenced); None: none.
    kept_on_failure: Callable[[Any, str], Awaitable[set[str]]] | None = None


def folder_per_subject(root: str) -> Callable[[str], tuple[str, str] | None]:
    """`Outputs.subject_prefix` for a kind whose subject's outputs all lie in `root/<subject id>/`."""

    def subject_prefix(key: str) -> tuple[str, str] | None:
        parts = key.split("/")
        if len(parts) >= 3 and parts[0] == root:
            return parts[1], f"{root}/{parts[1]}"
        return None

    return subject_prefix


def rows_with_ids(column: Any) -> Callable[[Any, set[str]], Awaitable[set[str]]]:
    """`Outputs.existing` for subjects whose string id is the mapped `column`: one IN query."""

    async def existing(services: Any, ids: set[str]) -> set[str]:
        async with services.db.read() as s:
            return set(await s.scalars(select(column).where(column.in_(ids))))

    return existing


async def keep_only(store: BlobStore, prefix: str, written: Iterable[str], *, nested: bool = False) -> int:
    """Delete every key directly under `prefix/` (with `nested`, in folders below it too) that is not in
    `written` (full keys); returns how many went. Call it after the attempt's own writes are durable: it
    then never removes one of them. Not nested by default: a folder below may be another subject's
    (the frames of a project file named `a/b.mp4` lie below those of a file named `a`)."""
    keep = set(written)
    below = len(prefix.rstrip("/")) + 1
    stale = [b.key async for b in store.list(prefix)
             if b.key not in keep and (nested or "/" not in b.key[below:])]
    for key in stale:
        await store.delete(key)
    return len(stale)


async def drop_failed(outputs: Outputs | None, services: Any, subject_id: str) -> None:
    """After a job failed for good: its subject's outputs go (the runner calls it after `failed`)."""
    if outputs is None:
        return
    prefixes = await outputs.of_failed_subject(services, subject_id)
    kept = await outputs.kept_on_failure(services, subject_id) if outputs.kept_on_failure and prefixes else set()
    for prefix in prefixes:
        if kept:
            await keep_only(services.store, prefix, kept, nested=True)
        else:
            await services.store.delete_prefix(prefix)


async def reap_orphans(services: Any, kinds: Iterable[Outputs]) -> int:
    """Delete the outputs of subjects whose row is gone; returns how many prefixes went. Listing comes
    before the query: an output is written only while its subject exists and ids are never reused, so a
    listed prefix whose subject is missing afterwards can never be wanted again."""
    removed = 0
    for outputs in {id(o): o for o in kinds}.values():  # two kinds may share one declaration
        prefixes: dict[str, set[str]] = {}
        async for blob in services.store.list(outputs.root):
            found = outputs.subject_prefix(blob.key)
            if found is not None:
                prefixes.setdefault(found[0], set()).add(found[1])
        if not prefixes:
            continue
        alive = await outputs.existing(services, set(prefixes))
        for subject_id in set(prefixes) - alive:
            for prefix in prefixes[subject_id]:
                await services.store.delete_prefix(prefix)
                removed += 1
    if removed:
        log.info("removed the outputs of %d deleted subjects", removed)
    return removed
