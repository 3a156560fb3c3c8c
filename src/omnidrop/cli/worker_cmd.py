"""`omnidrop worker`: a Huey consumer that runs jobs. Start several on any machines at scale."""

from __future__ import annotations

import typer


def worker(
    threads: int = typer.Option(None, help="Jobs run at once (default: OMNIDROP_WORKER_THREADS)."),
    periodic: bool = typer.Option(True, help="Run the schedule (sweep, reaper). Keep it on exactly one worker."),
    metrics_port: int | None = typer.Option(None, help="Serve this worker's Prometheus metrics on this port "
                                            "(a worker under `omnidrop serve` reports through the server's /metrics)."),
) -> None:
    """Run background jobs until SIGINT (finish running jobs) or SIGTERM (stop now)."""
    from huey.consumer import Consumer

    from omnidrop.jobs import runner
    from omnidrop.jobs.queue import huey
    from omnidrop.settings import get_settings
    from omnidrop.telemetry.logs import configure_logging
    from omnidrop.worker import compose

    settings = get_settings()
    configure_logging(settings.log_format, text_default=True)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        from omnidrop.telemetry.exposition import registry

        start_http_server(metrics_port, registry=registry())
    compose()  # the job kinds, their services and the housekeeping, before any job runs
    # Jobs orphaned by a worker that died before us: lapsed leases go back on the queue now, not in a minute.
    runner.sweep_sync()
    # Huey's idle backoff would reach 10 s between polls; a job queued after a quiet spell should start
    # within a second (one cheap poll per second per thread on SQLite or Redis).
    Consumer(huey, workers=threads or settings.worker_threads, worker_type="thread", periodic=periodic,
             max_delay=1.0).run()
