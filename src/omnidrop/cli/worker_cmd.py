"""`omnidrop worker`: a Huey consumer that runs jobs. Start several on any machines at scale."""

from __future__ import annotations

import shutil

import typer


def worker(
    threads: int = typer.Option(None, help="Jobs run at once (default: OMNIDROP_WORKER_THREADS)."),
    periodic: bool = typer.Option(True, help="Keep the schedule (sweep, reaper, outbox). Safe on every worker: "
                                  "a lease in the database picks the one that runs each round."),
    metrics_port: int | None = typer.Option(None, help="Serve this worker's Prometheus metrics on this port "
                                            "(a worker under `omnidrop serve` reports through the server's /metrics)."),
    queue: str = typer.Option("default", help="The job queue to consume: `default` (every job kind but splat "
                              "training) or `gpu` (splat training; needs CUDA and the [gpu] extra)."),
) -> None:
    """Run background jobs until SIGINT (finish running jobs) or SIGTERM (stop now)."""
    if queue == "gpu":
        from omnidrop.pipeline.training.trainer import cuda_problem

        problem = cuda_problem()
        if problem:
            typer.echo(f"omnidrop worker --queue gpu: refusing to start, splat training needs CUDA: {problem}",
                       err=True)
            raise typer.Exit(2)
    elif queue != "default":
        typer.echo(f"omnidrop worker: unknown queue {queue!r} (use default or gpu)", err=True)
        raise typer.Exit(2)

    from huey.consumer import Consumer

    from omnidrop.chores import EVERY_TICK, ROUNDS
    from omnidrop.jobs import runner, scratch
    from omnidrop.jobs.housekeeping import Housekeeper
    from omnidrop.jobs.queue import queue_for
    from omnidrop.jobs.registry import chore_for
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
    # Jobs' temporary files go to a folder named after this process; a killed worker's folder is removed
    # by the next worker on this machine (SIGKILL runs no cleanup).
    scratch.remove_dead(settings.resolved_scratch_dir)
    own_scratch = scratch.use_own_scratch(settings.resolved_scratch_dir)
    # Jobs orphaned by a worker that died before us: lapsed leases go back on the queue now, not in a minute.
    runner.sweep_sync()
    if periodic:
        Housekeeper(settings, runner.worker_id(), rounds={n: chore_for(n) for n in ROUNDS},
                    every_tick={n: chore_for(n) for n in EVERY_TICK},
                    periods={"reap": settings.reap_seconds}).start()
    # Huey's idle backoff would reach 10 s between polls; a job queued after a quiet spell should start
    # within a second (one cheap poll per second per thread on SQLite or Redis).
    try:
        # A gpu worker runs one training at a time unless told otherwise (one GPU, one splat).
        workers = threads or (1 if queue == "gpu" else settings.worker_threads)
        Consumer(queue_for(queue)[0], workers=workers, worker_type="thread", periodic=False,
                 max_delay=1.0).run()
    finally:  # a graceful stop cleans up after itself; a killed worker's folder waits for the next one
        shutil.rmtree(own_scratch, ignore_errors=True)
