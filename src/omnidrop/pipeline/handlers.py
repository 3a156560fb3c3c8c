"""Every built-in job kind and its handler. The composition root (omnidrop.worker) registers them
with the job runner; nothing here registers itself."""

from __future__ import annotations

from omnidrop.captures.service import PROCESS_KIND as CAPTURE_KIND
from omnidrop.captures.service import TRAIN_KIND
from omnidrop.jobs.registry import Handler
from omnidrop.pipeline import project_frames  # noqa: F401  (registers the VIDEO_360 file step)
from omnidrop.pipeline import project_bim  # noqa: F401  (registers the CAD_BIM step for IFC)
from omnidrop.pipeline import project_models  # noqa: F401  (registers the SPLAT and mesh CAD_BIM steps)
from omnidrop.pipeline import project_pointclouds  # noqa: F401  (registers the POINT_CLOUD file step)
from omnidrop.pipeline import tour_panoramas  # noqa: F401  (registers the VIDEO_360 tour step)
from omnidrop.pipeline import (
    capture_processing, projects, splat_training, vehicle_frames, video_verification, walkthrough_points,
)
from omnidrop.projects.service import PROCESS_KIND
from omnidrop.vehicles.service import FRAMES_KIND
from omnidrop.videos.service import VERIFY_KIND
from omnidrop.walkthrough.service import PROCESS_KIND as WALKTHROUGH_KIND

BUILTIN_KINDS: dict[str, Handler] = {
    PROCESS_KIND: Handler(run=projects.run, failed=projects.failed, outputs=projects.OUTPUTS),
    FRAMES_KIND: Handler(run=vehicle_frames.run, failed=vehicle_frames.failed, outputs=vehicle_frames.OUTPUTS),
    CAPTURE_KIND: Handler(run=capture_processing.run, failed=capture_processing.failed,
                          outputs=capture_processing.OUTPUTS),
    # Queued on the gpu queue (captures/service.py GPU_QUEUE): only `omnidrop worker --queue gpu` runs it.
    TRAIN_KIND: Handler(run=splat_training.run, failed=splat_training.failed),
    VERIFY_KIND: Handler(run=video_verification.run, failed=video_verification.failed),
    WALKTHROUGH_KIND: Handler(run=walkthrough_points.run, failed=walkthrough_points.failed,
                              outputs=walkthrough_points.OUTPUTS),
}
