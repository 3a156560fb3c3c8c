"""One typed settings object, read from OMNIDROP_* environment variables and an optional TOML file.

The file is `$OMNIDROP_CONFIG` if set, else `omnidrop.toml` in the working directory when present.
Environment variables win over the file.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

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

    reaper_interval_seconds: float = 300.0

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'omnidrop.db'}"

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{self.data_dir.resolve() / 'blobs'}"

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
