"""One typed settings object, read from OMNIDROP_* environment variables and an optional TOML file.

The file is `$OMNIDROP_CONFIG` if set, else `omnidrop.toml` in the working directory when present.
Environment variables win over the file.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

GiB = 1024**3

# What people bring: photos and panoramas, point clouds, CAD/BIM, gaussian splats, 360 video, archives.
DEFAULT_EXTENSIONS = (
    # images and panoramas
    "jpg", "jpeg", "png", "tif", "tiff", "webp", "heic", "heif", "dng", "bmp", "insp",
    # point clouds and scans
    "e57", "las", "laz", "ply", "pcd", "pts", "ptx", "xyz", "rcp", "rcs",
    # CAD / BIM / meshes
    "ifc", "dwg", "dxf", "rvt", "nwd", "skp", "obj", "fbx", "glb", "gltf", "stl", "dae", "step", "stp", "3ds",
    # gaussian splats
    "splat", "ksplat", "spz", "sog",
    # 360 and ordinary video
    "mp4", "mov", "insv", "360", "lrv", "m4v", "avi", "mkv", "webm", "wmv", "flv",
    # archives (unpacked by the server)
    "zip", "7z", "rar", "tar", "tar.gz", "tgz",
)


def _config_file() -> Path | None:
    explicit = os.environ.get("OMNIDROP_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path("omnidrop.toml")
    return local if local.exists() else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMNIDROP_", extra="ignore")

    data_dir: Path = Path("omnidrop-data")
    # Defaults derive from data_dir: SQLite file and blob folder inside it.
    database_url: str | None = None
    storage_url: str | None = None

    # Uploads
    upload_ttl_seconds: int = 259_200
    max_file_bytes: int = 200 * GiB
    max_session_bytes: int = 2048 * GiB
    allowed_extensions: list[str] = Field(default_factory=lambda: list(DEFAULT_EXTENSIONS))
    # Flush received bytes to stable storage before acknowledging them.
    fsync: bool = True

    # One writer per file: a lease renewed while bytes flow; a second writer waits this long, then gets 409.
    lease_ttl_seconds: float = 30.0
    lease_renew_seconds: float = 2.0
    lease_wait_seconds: float = 5.0

    # HMAC key for URLs omnidrop signs itself (local-disk part URLs); generated once into
    # <data_dir>/secret_key when unset. Every server of a cluster needs the same value.
    secret_key: str | None = None
    # Lifetime of presigned part URLs (S3 caps SigV4 presigns at 7 days).
    part_url_expires_seconds: int = 3600


    # Resumable uploads (tus 1.0.0 and the IETF draft) on one endpoint family.
    tus_path: str = "/files/"
    # The walkthrough spec's tus steps send no credentials: allow that (uploads then belong to a shared
    # anonymous owner, and anyone holding an upload URL may resume it or link it in step 5).
    tus_allow_anonymous: bool = False
    ietf_draft_enabled: bool = True
    cors_allow_origins: list[str] = Field(default_factory=lambda: ["*"])  # for browser tus clients
    resumable_tombstone_days: float = 7.0  # how long an expired/terminated id still answers 410
    # Upload hooks: JSON POSTs of created/finished/terminated events, retried; a pre-create hook may refuse.
    hooks_url: str | None = None
    hooks_events: list[str] = Field(default_factory=lambda: ["pre-create", "created", "finished", "terminated"])
    hooks_retries: int = 3
    hooks_backoff_seconds: float = 1.0
    hooks_timeout_seconds: float = 15.0
    # Bearer tokens handed out by POST /auth/login.
    login_token_ttl_seconds: float = 86_400.0

    # Job queue: Huey on SQLite in the data dir by default, or redis://… for workers on other machines.
    queue_url: str | None = None
    queue_name: str = "omnidrop"
    # `omnidrop serve` starts one worker process beside the HTTP server unless this is off.
    embedded_worker: bool = True
    worker_threads: int = 2
    job_lease_seconds: float = 60.0
    job_max_attempts: int = 3
    job_sweep_seconds: float = 30.0

    # Cluster chores (docs/cluster.md). Every worker keeps the schedule: each tick, a round lease in the
    # database picks the one worker that runs the sweep, the reaper and outbox delivery this round.
    housekeeping_seconds: float = 15.0
    # The reaper (expired uploads, stale multipart uploads) runs at most this often across the cluster.
    reap_seconds: float = 60.0
    # Jobs' scratch files: one folder per worker process, removed by the next worker on the machine if
    # the process was killed. Default: <data_dir>/scratch.
    scratch_dir: Path | None = None
    # S3 multipart uploads no live upload refers to are aborted once they are this old (killed writers).
    reap_multipart_after_seconds: float = 86_400.0

    # Heavy media steps (frame extraction, panoramas) run in a short-lived child process, so a worker's
    # memory returns to its baseline after each job (pipeline/child.py). Off: in the worker's own threads.
    media_child_process: bool = True

    # Rate limits: the spec's table per API key and endpoint; counters in Redis when redis_url is set,
    # else in the database (shared by every server process).
    redis_url: str | None = None
    rate_limits_enabled: bool = True
    rate_limits: dict[str, str] = Field(default_factory=dict)  # overrides, e.g. {"POST /uploads": "100/hour"}

    # -- Hardening (issue 17): login throttling ---------------------------------------------------
    # POST /auth/login attempts per username and per client address (limits syntax; empty: not
    # counted), counted whether or not rate_limits_enabled; and how many password checks (16 MiB of
    # scrypt each) run at once per server process, with how many more may wait (the rest get 429).
    login_limit_per_user: str = "10/minute"
    login_limit_per_address: str = "60/minute"
    login_hash_concurrency: int = 4
    login_hash_queue: int = 64

    # -- Hardening (issue 17): slow and oversized clients, bounded in omnidrop's uvicorn protocol ---
    # A request head (request line and headers) larger than this gets 431; one not complete this long
    # after its first byte (or after the connection opened) gets 408; a body that stops arriving for
    # this long ends the request as a dropped client would (what arrived stays stored).
    max_header_bytes: int = 64 * 1024
    header_timeout_seconds: float = 30.0
    body_idle_timeout_seconds: float = 60.0

    # -- Hardening (issue 17): a full disk --------------------------------------------------------
    # Space kept back in the data dir (the file `disk-reserve`), released when the disk fills so that
    # deletions can still commit; uploads to the local store wait until it can be taken again. 0: none.
    disk_reserve_bytes: int = 32 * 1024 * 1024

    # -- Hardening (issue 17): bodies parsed whole -------------------------------------------------
    # The most a JSON (or small form) request body may hold, on every route that parses one whole
    # (413 past it); and the most POST /api/v1/projects keeps of unknown fields under `options`.
    max_json_body_bytes: int = 2 * 1024 * 1024
    max_project_options_bytes: int = 64 * 1024

    # Quotas: per-owner bytes (None = unlimited) unless set per owner with `omnidrop owners set`.
    default_storage_quota_bytes: int | None = None

    # download_link fetching: size cap, timeouts, and addresses allowed despite being private.
    download_max_bytes: int = 50 * GiB
    download_timeout_seconds: float = 3600.0
    download_connect_timeout_seconds: float = 15.0
    download_allow: list[str] = Field(default_factory=list)  # CIDRs or host names

    # Archive unpacking limits.
    archive_max_entries: int = 100_000
    archive_max_total_bytes: int = 1024 * GiB
    archive_max_ratio: float = 100.0
    archive_max_depth: int = 2
    thumbnail_max_edge: int = 512
    # IFC models: threads of IfcOpenShell's geometry iterator per conversion (1: one core, as a job shares
    # the machine with the others).
    bim_geometry_threads: int = Field(default=1, ge=1)
    # Splats and meshes (pipeline/splats.py, pipeline/meshes.py): the splat-transform CLI (empty: on PATH,
    # else tools/splat-transform in a source checkout) and how long one conversion may take.
    splat_transform: str = ""
    model_convert_timeout_seconds: float = 900.0

    # Vehicles 360 Video API: upload cap (the spec's 100 MB), frame rate, JPEG quality, signed URL life.
    vehicle_max_video_bytes: int = 100_000_000
    vehicle_frames_fps: float = 5.0
    vehicle_frame_quality: int = 90
    signed_url_expires_seconds: int = 3600
    # Damage detection: an ONNX instance-segmentation model (see pipeline/masks/onnx_detector.py);
    # class names from `<model>.json` {"classes": [...]} or this list.
    damage_model_path: Path | None = None
    # The web app's built assets (web/ → vite build); unset: src/omnidrop/web/dist next to this package.
    web_dist_dir: Path | None = None
    damage_model_classes: list[str] = Field(default_factory=list)
    damage_score_threshold: float = 0.5
    # Walkthrough processing: one point per this many seconds when target_points_count is 0, a cap on
    # points, the fisheye lens field of view for v360, and the panoramas' JPEG quality.
    walkthrough_point_interval_seconds: float = 2.0
    walkthrough_max_points: int = 1000
    walkthrough_fisheye_fov: float = 190.0
    walkthrough_panorama_quality: int = 90
    # Project tours: a 360 video gives a tour node every this many seconds, at most this many per video.
    tour_video_interval_seconds: float = 2.0
    tour_video_max_nodes: int = 50

    # Captures: frames from a video capture (when it gives no num_frames), JPEG quality, GIF size cap.
    capture_frames_fps: float = 5.0
    capture_frame_quality: int = 90
    capture_gif_max_bytes: int = 4 * 1024 * 1024
    # Camera poses: a COLMAP vocabulary-tree file for photo sets too large to match every pair (none: such
    # sets are matched in path order with a wide overlap; COLMAP's own tree would be downloaded, offline not).
    capture_vocab_tree_path: Path | None = None
    # Splat training (GPU workers): steps (gsplat's simple_trainer default); the sogs-sh0 profile is written
    # by the same splat-transform as the project job's (splat_transform).
    capture_splat_steps: int = 30_000
    # The turntable MP4 the GPU worker renders from a trained splat (`video_url`): frames in its one
    # full turn, at 30 fps (0: no turntable).
    capture_turntable_frames: int = Field(120, ge=0)
    # Direct video: how far (seconds) the left and right eyes of a Separate group may differ in length.
    video_eye_duration_tolerance_seconds: float = 0.1

    # Operability (docs/metrics.md): Prometheus text at /metrics, and log lines as "text" or "json" (one
    # object per line, with the request id that follows an upload into its jobs).
    metrics_enabled: bool = True
    log_format: Literal["text", "json"] = "text"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'omnidrop.db'}"

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{self.data_dir.resolve() / 'blobs'}"

    @property
    def resolved_scratch_dir(self) -> Path:
        return (self.scratch_dir or self.data_dir / "scratch").resolve()

    @property
    def resolved_queue_url(self) -> str:
        return self.queue_url or f"sqlite:///{self.data_dir.resolve() / 'queue.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


@lru_cache
def get_settings() -> Settings:
    return Settings()
