"""Every built-in job kind, registered with the job runner."""

from __future__ import annotations

from omnidrop.jobs.registry import Handler, register
from omnidrop.pipeline import project_frames  # noqa: F401  (registers the VIDEO_360 file step)
from omnidrop.pipeline import projects, vehicle_frames, walkthrough_points
from omnidrop.projects.service import PROCESS_KIND
from omnidrop.vehicles.service import FRAMES_KIND
from omnidrop.walkthrough.service import PROCESS_KIND as WALKTHROUGH_KIND

register(PROCESS_KIND, Handler(run=projects.run, failed=projects.failed))
register(FRAMES_KIND, Handler(run=vehicle_frames.run, failed=vehicle_frames.failed))
register(WALKTHROUGH_KIND, Handler(run=walkthrough_points.run, failed=walkthrough_points.failed))
