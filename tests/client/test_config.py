"""Flags, then environment, then the config file."""

from __future__ import annotations

import pytest

from omnidrop.client.config import ClientConfig, resolve
from omnidrop.client.errors import ConfigError


def test_flags_beat_environment_beat_the_file(tmp_path, monkeypatch):
    path = tmp_path / "client.toml"
    ClientConfig(url="http://file:1", api_key='sk_"quoted"\\key', token="t1").save(path)
    assert ClientConfig.load(path).api_key == 'sk_"quoted"\\key'
    monkeypatch.delenv("OMNIDROP_URL", raising=False)
    monkeypatch.delenv("OMNIDROP_API_KEY", raising=False)
    monkeypatch.delenv("OMNIDROP_TOKEN", raising=False)
    assert resolve(config_path=path).url == "http://file:1"
    monkeypatch.setenv("OMNIDROP_URL", "http://env:2/")
    monkeypatch.setenv("OMNIDROP_API_KEY", "sk_env")
    got = resolve(config_path=path)
    assert (got.url, got.api_key, got.token) == ("http://env:2", "sk_env", "t1")
    assert resolve("http://flag:3", "sk_flag", config_path=path).bearer == "sk_flag"


def test_bad_urls_and_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="http"):
        resolve("ftp://x", config_path=tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("url = [")
    with pytest.raises(ConfigError, match="cannot read"):
        ClientConfig.load(bad)
