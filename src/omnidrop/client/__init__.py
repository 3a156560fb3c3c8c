"""omnidrop's Python SDK: a typed httpx client for every upload surface, resume-safe by design.

Light on purpose: it imports nothing of omnidrop's server (no database, storage or app code), only
httpx, so scripts and desktop apps can use it alone.
"""

from omnidrop.client.batch import BatchResult, BatchUploader, FileOutcome
from omnidrop.client.client import Client
from omnidrop.client.config import ClientConfig, Credentials, resolve
from omnidrop.client.errors import ApiError, ClientError, ConfigError, LocalFileError, TransportError
from omnidrop.client.files import LocalFile, expand_paths, server_names
from omnidrop.client.progress import NoProgress, Progress
from omnidrop.client.state import StateFile
from omnidrop.client.transport import RetryPolicy

__all__ = [
    "ApiError", "BatchResult", "BatchUploader", "Client", "ClientConfig", "ClientError", "ConfigError",
    "Credentials", "FileOutcome", "LocalFile", "LocalFileError", "NoProgress", "Progress", "RetryPolicy",
    "StateFile", "TransportError", "expand_paths", "resolve", "server_names",
]
