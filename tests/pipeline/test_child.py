"""pipeline/child.py: a step in a child process gives back its result, its exception, its progress,
and a child that dies is an ordinary failure of the step."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from omnidrop.pipeline.child import ChildDied, run_in_child
from omnidrop.pipeline.media.frames import FrameExtractionError
from omnidrop.pipeline.media.probe import VideoRejected
from omnidrop.pipeline.media.to_files import frames_into
from tests.support import vehicles as v


def test_frames_are_made_in_another_process_with_progress(tmp_path):
    video = v.clip(tmp_path / "clip.mp4", seconds=2)
    dest = tmp_path / "frames"
    dest.mkdir()
    seen: list[float] = []
    result = run_in_child(frames_into, video, dest, fps=5, progress=seen.append, poll=0.01)
    assert result.count == 10 and sorted(p.name for p in dest.iterdir()) == list(result.names)
    assert seen and all(0.0 <= f <= 1.0 for f in seen) and seen == sorted(seen)


def _pid() -> int:
    return os.getpid()


def test_the_work_runs_in_a_child_not_here():
    assert run_in_child(_pid) != os.getpid()


def test_the_steps_exceptions_come_back_as_they_were(tmp_path):
    (tmp_path / "not-a-video.mp4").write_bytes(b"hello" * 100)
    with pytest.raises(VideoRejected) as refused:
        run_in_child(frames_into, tmp_path / "not-a-video.mp4", tmp_path)
    assert refused.value.code and refused.value.reason
    with pytest.raises(FrameExtractionError) as stopped:
        run_in_child(_stops, 3)
    assert stopped.value.emitted == 3


def _stops(emitted: int):
    raise FrameExtractionError("decoding stopped", emitted)


def _hang(ready_path: str, progress=None) -> None:
    open(ready_path, "w").close()
    threading.Event().wait()


def test_a_killed_child_is_child_died(tmp_path):
    ready = tmp_path / "ready"
    pids: list[int] = []

    def kill_when_ready(_fraction: float) -> None:
        # progress is polled while the child runs: kill it once it has started its work
        if ready.exists() and not pids:
            pids.extend(int(p) for p in _children())
            for pid in pids:
                os.kill(pid, signal.SIGKILL)

    with pytest.raises(ChildDied, match="exit code -9"):
        run_in_child(_hang, str(ready), progress=kill_when_ready, poll=0.01)
    assert pids


def _children() -> list[str]:
    """This process's multiprocessing children that run a step (named omnidrop-<fn>)."""
    import multiprocessing

    return [str(p.pid) for p in multiprocessing.active_children() if p.name.startswith("omnidrop-")]
