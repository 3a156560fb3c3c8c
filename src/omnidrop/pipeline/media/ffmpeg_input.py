"""How the media checks let FFmpeg open a file.

Opening is the risky step (FFmpeg follows URLs, playlists and concat scripts when allowed to), so it
is written once: local files only, and where given, only the listed demuxers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import av.error

from omnidrop.pipeline.rejected import Rejected


def open_local(path: str | Path, refuse: Callable[[str], Rejected], *, allowed: str | None = None,
               forced: str | None = None) -> av.container.InputContainer:
    """av.open over the `file` protocol only, with the demuxer limited to the comma-separated `allowed`
    or set to `forced` when given. When FFmpeg cannot open it, raises `refuse(FFmpeg's message)`."""
    options = {"format_whitelist": allowed} if allowed else {}
    options["protocol_whitelist"] = "file"
    try:
        return av.open(str(path), format=forced, container_options=options)
    except (av.error.FFmpegError, OSError) as exc:
        raise refuse(str(exc)) from exc
