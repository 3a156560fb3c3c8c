"""Media steps that write their outputs into a folder, with nothing but paths and numbers in and out,
so `pipeline.child.run_in_child` can run them in a child process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omnidrop.pipeline.media.frames import Extraction, extract_frames
from omnidrop.pipeline.media.naming import frame_name
from omnidrop.pipeline.media.panoramas import Layout, Panorama, render


def frames_into(path: Path, dest: Path, **options: Any) -> Extraction:
    """`extract_frames` with every JPEG written into `dest` under its frame name."""
    return extract_frames(path, lambda name, data: (dest / name).write_bytes(data), **options)


def panoramas_into(layout: Layout, times: list[float], dest: Path, **options: Any) -> list[Panorama]:
    """`render` with panorama i written into `dest` as frame name i + 1."""
    return render(layout, times, lambda index, data: (dest / frame_name(index + 1)).write_bytes(data), **options)
