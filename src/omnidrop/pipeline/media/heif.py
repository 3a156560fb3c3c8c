"""HEIC/HEIF photos (iPhones and many Android phones shoot them) for Pillow, through pillow-heif.

Pillow ships no HEIF decoder; `register()` adds pillow-heif's opener once per process, and every
place that opens photos asks `classify.pillow_formats()`, which calls it first. Without the package
(a trimmed install) HEIC files are still recognised by their brand and kept, just not decoded.
"""

from __future__ import annotations

from functools import lru_cache

FORMAT = "HEIF"  # the name pillow-heif registers in Image.OPEN


@lru_cache(maxsize=1)
def register() -> bool:
    """Register the HEIF opener with Pillow (once); False when pillow-heif is not installed."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    # Thumbnails inside the file are not wanted as extra frames; the primary image is the photo.
    register_heif_opener(thumbnails=False)
    return True
