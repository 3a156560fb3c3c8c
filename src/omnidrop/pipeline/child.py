"""Heavy media steps in a child process: `run_in_child(fn, *args, progress=…, **kwargs)`.

Decoding and encoding leave a long-lived worker with memory it never gives back (decoder buffers,
per-thread malloc arenas, fragmented heaps): its idle RSS climbed from ~85 MiB to 500-750 MiB after
a few dozen media jobs. A step run here does its work in a short-lived child, so all of that goes
when the child exits and the worker returns to its baseline after every job.

Children come from multiprocessing's forkserver: one small clean process (no threads, no event
loop, no database connections) started on first use with PyAV, Pillow and NumPy already imported,
which forks each child. Forking that server is quick and safe, unlike forking a threaded worker.

- `fn` must be a module-level function and its arguments picklable; it gets `progress=` (a
  callable taking 0..1) when the caller passes one, and the fraction reaches the caller's
  `progress` callback every `poll` seconds while the child runs.
- The result, or the exception `fn` raised, comes back pickled; the exception is raised again here.
- A child that dies without answering (killed, out of memory, crashed in C) raises `ChildDied`,
  an ordinary exception, so the job fails or is retried like any other failed attempt; what the
  child wrote is left for the re-run to overwrite (steps write outputs by name).
"""

from __future__ import annotations

import multiprocessing
import pickle
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# Imported once in the fork server, so a child starts with them loaded.
PRELOAD = ["omnidrop.pipeline.media.to_files"]
POLL_SECONDS = 0.2

_lock = threading.Lock()
_context: Any = None


class ChildDied(Exception):
    """The child process ended without a result (killed by a signal, out of memory, crashed)."""


def _mp():
    global _context
    with _lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            _context = ctx
        return _context


def run_step(settings: Any, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn` in a child process, or here when `settings.media_child_process` is off."""
    if settings.media_child_process:
        return run_in_child(fn, *args, **kwargs)
    return fn(*args, **kwargs)


def run_in_child(fn: Callable[..., T], *args: Any, progress: Callable[[float], None] | None = None,
                 poll: float = POLL_SECONDS, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` in a child process (blocking; call it on a thread from async code)."""
    mp = _mp()
    fraction = mp.Value("d", 0.0, lock=False)
    receive, send = mp.Pipe(duplex=False)
    child = mp.Process(target=_child_main, args=(send, fraction, fn, args, kwargs, progress is not None),
                       name=f"omnidrop-{getattr(fn, '__name__', 'step')}", daemon=True)
    child.start()
    send.close()  # ours: only the child's copy stays open, so its death reads as EOF
    try:
        while True:
            if receive.poll(poll):
                try:
                    ok, payload = receive.recv()
                except EOFError:
                    break  # the child went away without answering
                child.join()
                if ok:
                    if progress is not None:  # the last fraction, also for a child quicker than one poll
                        progress(fraction.value)
                    return payload
                raise payload
            if progress is not None:
                progress(fraction.value)
            if not child.is_alive() and not receive.poll(0):
                break
        child.join()
        raise ChildDied(f"the {child.name} process ended without a result (exit code {child.exitcode})")
    finally:
        if child.is_alive():  # we are leaving (an error here, the thread interrupted): do not leave it running
            child.kill()
            child.join()
        receive.close()


def _child_main(send, fraction, fn, args, kwargs, with_progress: bool) -> None:
    if with_progress:
        kwargs = {**kwargs, "progress": lambda f: setattr(fraction, "value", float(f))}
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
        try:
            pickle.loads(pickle.dumps(exc))  # one that cannot be rebuilt over there is sent as what it said
        except Exception:
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        send.send((False, exc))
    else:
        send.send((True, result))
    finally:
        send.close()
