"""Log lines as text (the default) or as one JSON object per line (OMNIDROP_LOG_FORMAT=json), each with
the request id and job id of the request or job that wrote it, so one upload can be followed from its
request into its jobs on the worker."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from omnidrop.telemetry.context import JOB_ID, REQUEST_ID

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes every LogRecord has; anything else on a record came from `extra=` and goes into the JSON.
# uvicorn's color_message repeats the message with terminal colour codes.
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName",
                                                                                "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        request_id, job_id = REQUEST_ID.get(), JOB_ID.get()
        if request_id:
            line["request_id"] = request_id
        if job_id:
            line["job_id"] = job_id
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(log_format: str, *, text_default: bool) -> None:
    """Send log lines to stderr in `log_format` ("text" or "json").

    `text_default`: whether text mode installs a handler (the worker does; the HTTP server leaves text
    logging as its server set it up). JSON mode also turns the servers' own loggers into JSON and turns
    on one access line per request (omnidrop.access).
    """
    if log_format == "json":
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(logging.INFO)
        # uvicorn.access stays as the server set it (off under `omnidrop serve`): omnidrop.access replaces it.
        for name in ("uvicorn", "uvicorn.error", "granian", "huey"):
            server_logger = logging.getLogger(name)
            server_logger.handlers[:] = []
            server_logger.propagate = True
        logging.getLogger("omnidrop.access").setLevel(logging.INFO)
        return
    if log_format != "text":
        raise ValueError(f"OMNIDROP_LOG_FORMAT is text or json, not {log_format!r}")
    logging.getLogger("omnidrop.access").setLevel(logging.WARNING)  # off: as without this module
    if text_default:
        logging.basicConfig(level=logging.INFO, format=TEXT_FORMAT)
