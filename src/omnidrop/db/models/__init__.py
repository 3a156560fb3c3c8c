"""The metadata schema, one module per domain. Alembic migrations in `migrations/versions` create it.

Every model module is imported here so `Base.metadata` is complete for Alembic and the app.
Migrations may branch from any earlier revision: `omnidrop db upgrade` applies all heads.
"""

from omnidrop.db.models.base import Base
from omnidrop.db.models.captures import Capture
from omnidrop.db.models.cluster import ClusterRound, OutboxEvent
from omnidrop.db.models.core import ApiKey, Owner, UploadFile, UploadSession
from omnidrop.db.models.jobs import Job
from omnidrop.db.models.parts import MultipartPart, MultipartUpload
from omnidrop.db.models.projects import Project, ProjectFile, ShareLink
from omnidrop.db.models.rate_limits import RateLimitCounter
from omnidrop.db.models.resumable import ResumableUpload
from omnidrop.db.models.users import LoginToken, User
from omnidrop.db.models.vehicles import Vehicle, VehicleMask, VehicleVideo
from omnidrop.db.models.videos import VideoLibraryEntry, VideoUploadFile, VideoUploadGroup
from omnidrop.db.models.walkthrough import (
    Drawing,
    WalkthroughPoint,
    WalkthroughProject,
    WalkthroughTusLink,
    WalkthroughUpload,
    WalkthroughVideo,
)

__all__ = [
    "ApiKey", "Base", "Job", "Owner", "Project", "ProjectFile", "ShareLink", "RateLimitCounter", "UploadFile", "UploadSession",
    "Drawing", "LoginToken", "ResumableUpload", "User", "WalkthroughProject", "WalkthroughTusLink",
    "WalkthroughUpload", "WalkthroughVideo", "WalkthroughPoint",
    "Capture", "MultipartPart", "MultipartUpload", "VideoLibraryEntry", "VideoUploadFile", "VideoUploadGroup",
    "Vehicle", "VehicleMask", "VehicleVideo", "ClusterRound", "OutboxEvent",
]
