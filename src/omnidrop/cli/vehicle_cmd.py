"""`omnidrop vehicle upload|frames`: the Vehicles 360 Video API."""

from __future__ import annotations

from pathlib import Path

import typer

from omnidrop.cli.client_command import EXIT_PROCESSING, EXIT_TIMEOUT, client_command
from omnidrop.cli.client_common import Common, StatePath

app = typer.Typer(help="Vehicle 360 videos: upload, frames.", no_args_is_help=True, pretty_exceptions_enable=False)
SideOpt = typer.Option(..., "--side", help="OUTSIDE, INSIDE or OPEN.", case_sensitive=False)


def _side(side: str) -> str:
    from omnidrop.client.vehicles import SIDES

    if side.upper() not in SIDES:
        raise typer.BadParameter(f"choose one of {', '.join(SIDES)}", param_hint="--side")
    return side.upper()


@app.command("upload")
@client_command
def upload(
    video: Path = typer.Argument(..., help="The 360 video (.mp4 .mov .mkv …, at most 100 MB)."),
    vehicle: str = typer.Option(..., "--vehicle", help="Vehicle UUID."),
    side: str = SideOpt,
    wait: bool = typer.Option(False, "--wait", help="Wait for the frames, then list them."),
    download: Path | None = typer.Option(None, "--download", help="With --wait: save the frames into this directory."),
    timeout: float | None = typer.Option(None, "--timeout", help="Seconds --wait waits at most."),
    fresh: bool = typer.Option(False, "--fresh", help="Upload again even if the state says it was."),
    state_path: StatePath = None,
    *, common: Common,
) -> None:
    """Upload one video for a vehicle side; prints the job id the frames are made under."""
    from omnidrop.client import LocalFile

    side = _side(side)
    out = common.output
    f = LocalFile.at(video)
    state = common.state(state_path)
    with common.client(1) as client:
        skey = f"{client.url}|vehicle|{vehicle.lower()}|{side}|{f.key}"
        done = None if fresh else state.get("files", skey)
        if done:
            out.info(f"already uploaded as job {done['job_id']} (use --fresh to upload again)")
            body = done["response"]
        else:
            progress = out.progress()
            with progress:
                progress.expect({f.key: f.size})
                body = client.vehicles.upload(f, vehicle, side, progress)
            state.put("files", skey, {"job_id": body["job_id"], "response": body})
        data = {"ok": True, **body}
        if wait:
            frames = _wait_frames(client, out, body["job_id"], side, timeout)
            if frames is None:
                return
            data["frames"] = frames.urls
            if download:
                data["downloaded"] = [str(p) for p in client.vehicles.download(frames.urls, download)]
        out.result(f"job {body['job_id']}" + (f": {len(data['frames'])} frames" if "frames" in data else ""), data)


def _wait_frames(client, out, job_id: str, side: str, timeout: float | None):
    from omnidrop.client.errors import ApiError
    from omnidrop.client.vehicles import FramesNotReady

    try:
        return client.vehicles.wait_frames(job_id, side, timeout=timeout,
                                           on_wait=lambda e: out.info(f"job {job_id}: {e.state} {e.progress}%"))
    except FramesNotReady as exc:
        out.result(f"job {job_id}: not ready ({exc.state}, {exc.progress}%)",
                   {"ok": False, "job_id": job_id, "state": exc.state, "progress": exc.progress})
        raise typer.Exit(EXIT_TIMEOUT) from None
    except ApiError as exc:
        if exc.code.upper() == "PROCESSING_FAILED":
            out.err.print(f"error: {exc.message} ({exc.details.get('reason')})", markup=False, style="red")
            if out.json:
                out.result("", {"ok": False, "job_id": job_id, "error": {"code": exc.code, **exc.details}})
            raise typer.Exit(EXIT_PROCESSING) from None
        raise


@app.command("frames")
@client_command
def frames(
    job: str = typer.Option(..., "--job", help="The job id `vehicle upload` printed."),
    side: str = SideOpt,
    wait: bool = typer.Option(False, "--wait", help="Wait while the frames are being made."),
    download: Path | None = typer.Option(None, "--download", help="Save the frames into this directory."),
    timeout: float | None = typer.Option(None, "--timeout", help="Seconds --wait waits at most."),
    *, common: Common,
) -> None:
    """List (or download) a job's frames as signed URLs."""
    from omnidrop.client.vehicles import FramesNotReady

    side = _side(side)
    out = common.output
    with common.client(1) as client:
        if wait:
            got = _wait_frames(client, out, job, side, timeout)
        else:
            try:
                got = client.vehicles.frames(job, side)
            except FramesNotReady as exc:
                out.result(f"job {job}: not ready ({exc.state}, {exc.progress}%)",
                           {"ok": False, "job_id": job, "state": exc.state, "progress": exc.progress})
                raise typer.Exit(EXIT_TIMEOUT) from None
        data = {"ok": True, "job_id": got.job_id, "side": got.side, "frames": got.urls, "total": len(got.urls),
                "expires_in": got.expires_in}
        if download:
            data["downloaded"] = [str(p) for p in client.vehicles.download(got.urls, download)]
            text = f"{len(got.urls)} frames saved in {download}"
        else:
            text = "\n".join(got.urls)
        out.result(text, data)
