"""Video probing/validation, spherical metadata and frame extraction (PyAV, no ffmpeg binary)."""

from omnidrop.pipeline.media.frames import Extraction, FrameExtractionError, extract_frames
from omnidrop.pipeline.media.probe import VideoInfo, VideoLimits, VideoRejected, probe
from omnidrop.pipeline.media.spherical import SphericalInfo

__all__ = [
    "Extraction",
    "FrameExtractionError",
    "SphericalInfo",
    "VideoInfo",
    "VideoLimits",
    "VideoRejected",
    "extract_frames",
    "probe",
]
