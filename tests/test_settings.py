from pathlib import Path

from omnidrop.settings import DEFAULT_EXTENSIONS, Settings


def test_defaults_are_the_embedded_engine(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for var in ("OMNIDROP_DATA_DIR", "OMNIDROP_CONFIG", "OMNIDROP_DATABASE_URL", "OMNIDROP_STORAGE_URL"):
        monkeypatch.delenv(var, raising=False)
    s = Settings()
    assert s.data_dir == Path("omnidrop-data")
    assert s.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path / 'omnidrop-data' / 'omnidrop.db'}"
    assert s.resolved_storage_url == f"file://{tmp_path / 'omnidrop-data' / 'blobs'}"
    assert s.resolved_queue_url == f"sqlite:///{tmp_path / 'omnidrop-data' / 'queue.db'}"
    assert s.upload_ttl_seconds == 259200
    for ext in ("jpg", "e57", "ifc", "ply", "splat", "insv", "mp4", "zip", "7z", "rar"):
        assert ext in DEFAULT_EXTENSIONS


def test_file_then_environment(monkeypatch, tmp_path):
    config = tmp_path / "omnidrop.toml"
    config.write_text('max_file_bytes = 1000\nallowed_extensions = ["jpg"]\nrate_limits = {"POST /uploads" = "5/hour"}\n'
                      'data_dir = "/srv/omnidrop"\n')
    monkeypatch.setenv("OMNIDROP_CONFIG", str(config))
    monkeypatch.setenv("OMNIDROP_MAX_FILE_BYTES", "2000")  # the environment wins over the file
    monkeypatch.delenv("OMNIDROP_DATA_DIR", raising=False)
    s = Settings()
    assert (s.max_file_bytes, s.allowed_extensions, s.rate_limits) == (2000, ["jpg"], {"POST /uploads": "5/hour"})
    assert s.data_dir == Path("/srv/omnidrop")


def test_omnidrop_toml_in_the_working_directory_is_read(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OMNIDROP_CONFIG", raising=False)
    (tmp_path / "omnidrop.toml").write_text("fsync = false\n")
    assert Settings().fsync is False
