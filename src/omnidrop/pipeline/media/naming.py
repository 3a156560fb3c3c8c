"""Names of extracted frames, shared by the extractor and the services that list them (without
importing the decoder)."""

from __future__ import annotations


def frame_name(index: int) -> str:
    """1-based, zero-padded to four digits: frame_0001.jpg."""
    return f"frame_{index:04d}.jpg"
