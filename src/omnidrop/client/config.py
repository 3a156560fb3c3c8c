"""Where the client finds its server and credentials: flags, then environment, then the config file.

| source | server URL | API key | login token |
|---|---|---|---|
| flags | `--url` | `--key` | `--token` |
| environment | `OMNIDROP_URL` | `OMNIDROP_API_KEY` | `OMNIDROP_TOKEN` |
| config file (`omnidrop login`) | `url` | `api_key` | `token` |

The file is `$OMNIDROP_CLIENT_CONFIG`, else `$XDG_CONFIG_HOME/omnidrop/client.toml` (`~/.config/…`),
written atomically with mode 0600 since it holds a secret.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

from omnidrop.client.errors import ConfigError

DEFAULT_URL = "http://127.0.0.1:8000"


def default_config_path() -> Path:
    if env := os.environ.get("OMNIDROP_CLIENT_CONFIG"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "omnidrop" / "client.toml"


@dataclass
class ClientConfig:
    url: str | None = None
    api_key: str | None = None
    token: str | None = None
    token_expires_at: str | None = None
    username: str | None = None

    @classmethod
    def load(cls, path: Path | None = None) -> ClientConfig:
        path = path or default_config_path()
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            return cls()
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
        return cls(**{k: str(v) for k, v in data.items() if k in cls.__dataclass_fields__ and v is not None})

    def save(self, path: Path | None = None) -> Path:
        path = path or default_config_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        # TOML basic strings accept JSON's escapes, so json.dumps writes a valid value for any text.
        text = "".join(f"{k} = {json.dumps(v)}\n" for k, v in asdict(self).items() if v is not None)
        fd, tmp = tempfile.mkstemp(prefix=".client-", dir=path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return path


@dataclass(frozen=True)
class Credentials:
    url: str
    api_key: str | None
    token: str | None

    @property
    def bearer(self) -> str | None:
        """What goes after `Bearer`: an API key, else a login token (the walkthrough API takes either)."""
        return self.api_key or self.token


def resolve(url: str | None = None, api_key: str | None = None, token: str | None = None,
            config_path: Path | None = None) -> Credentials:
    cfg = ClientConfig.load(config_path)
    final_url = url or os.environ.get("OMNIDROP_URL") or cfg.url or DEFAULT_URL
    if not final_url.startswith(("http://", "https://")):
        raise ConfigError(f"the server URL must start with http:// or https://, got {final_url!r}")
    return Credentials(
        url=final_url.rstrip("/"),
        api_key=api_key or os.environ.get("OMNIDROP_API_KEY") or cfg.api_key,
        token=token or os.environ.get("OMNIDROP_TOKEN") or cfg.token,
    )
