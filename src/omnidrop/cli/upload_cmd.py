"""`omnidrop upload PATHS…` and `omnidrop status NAME [--wait]`."""

from __future__ import annotations

import time

import typer

from omnidrop.cli.client_command import EXIT_PROCESSING, EXIT_TIMEOUT, client_command
from omnidrop.cli.client_common import Common, Fresh, Parallel, StatePath, parse_size


@client_command
def upload(
    paths: list[str] = typer.Argument(..., help="Files, directories (walked) or glob patterns: one session."),
    project_title: str | None = typer.Option(None, "--project-title", "-t", help="Title of the project made from the session."),
    project: bool = typer.Option(True, "--project/--no-project", help="Create a project once every file is up (chunked only)."),
    via: str = typer.Option("chunked", "--via", help="chunked (File Upload API), tus, ietf (draft) or parts (presigned S3 parts)."),
    chunk_size: str = typer.Option("8MiB", "--chunk-size", help="Bytes per request (chunks, tus PATCHes, parts: at least 5MiB)."),
    parallel: Parallel = 4,
    wait: bool = typer.Option(False, "--wait", help="After creating the project, wait until it is ready."),
    timeout: float | None = typer.Option(None, "--timeout", help="Seconds --wait waits at most."),
    fresh: Fresh = False,
    state_path: StatePath = None,
    *, common: Common,
) -> None:
    """Upload files into one session (resumable: run it again after a crash or Ctrl-C to continue)."""
    from omnidrop.cli.client_output import describe_error, error_json, exit_code_for
    from omnidrop.client import BatchUploader, LocalFile, expand_paths, server_names
    from omnidrop.client.batch import VIAS

    out = common.output
    if via not in VIAS:
        raise typer.BadParameter(f"choose one of {', '.join(VIAS)}", param_hint="--via")
    size = parse_size(chunk_size)
    if via != "chunked" and project_title:
        raise typer.BadParameter("projects are made from a chunked session; drop --project-title or use --via chunked",
                                 param_hint="--project-title")

    found = expand_paths(paths)
    if not found:
        raise typer.BadParameter("no files to upload", param_hint="PATHS")
    names = server_names(found, paths)
    files = [LocalFile.at(p, names[p]) for p in found]
    want_project = project and via == "chunked"
    with common.client(parallel) as client:
        progress = out.progress()
        started = time.monotonic()
        with progress:
            progress.expect({f.key: f.size for f in files})
            result = BatchUploader(client, common.state(state_path), via=via, chunk_size=size, progress=progress,
                                   fresh=fresh).run(files, project=want_project, title=project_title)
        elapsed = time.monotonic() - started
        data = {
            "ok": not result.failed, "via": result.via, "upload_id": result.upload_id, "project": result.project,
            "resumed": result.resumed, "already_done": result.already_done, "seconds": round(elapsed, 3),
            "bytes": sum(f.size for f in files),
            "files": [{"path": str(o.file.path), "name": o.file.name, "size": o.file.size, "ok": o.ok,
                       **({"location": o.location} if o.location else {}),
                       **({"error": error_json(o.error)} if o.error else {})} for o in result.files],
        }
        if result.failed:
            for o in result.failed:
                out.err.print(f"error: {o.file.path}: {describe_error(o.error)}", markup=False, style="red")
            code = exit_code_for(result.failed[0].error)
            out.result("", data)
            if not out.json:
                out.err.print(f"{len(result.failed)} of {len(files)} files failed; fix and run again to resume",
                              markup=False)
            raise typer.Exit(code)
        if result.already_done:
            out.info("already uploaded (from the resume state); use --fresh to upload again")
        ready = None
        if result.project and wait:
            ready = client.uploads.wait_project(result.project, timeout=timeout,
                                                on_status=lambda s: out.info(f"{s.name}: status {s.status}"))
            data["project_status"] = ready.record
        out.result(_summary(result, files, elapsed), data)
        if ready is not None and ready.failed:
            raise typer.Exit(EXIT_PROCESSING)
        if ready is not None and not ready.ready:
            raise typer.Exit(EXIT_TIMEOUT)


def _summary(result, files, elapsed: float) -> str:
    total = sum(f.size for f in files)
    rate = f", {total / max(elapsed, 1e-6) / 2**20:.1f} MiB/s" if not result.already_done and elapsed > 0 else ""
    head = f"{len(files)} file{'s' if len(files) != 1 else ''}, {total} bytes{rate}"
    if result.via == "chunked":
        lines = [f"{head} in session {result.upload_id}"]
        if result.project:
            lines.append(f"project {result.project}")
        return "\n".join(lines)
    return "\n".join([head] + [f"{o.file.name}\t{o.location}" for o in result.files])


@client_command
def status(
    name: str = typer.Argument(..., help="Project name (the upload id, or what `omnidrop upload` printed)."),
    wait: bool = typer.Option(False, "--wait", help="Poll until the project is ready or failed."),
    timeout: float | None = typer.Option(None, "--timeout", help="Seconds --wait waits at most."),
    interval: float = typer.Option(2.0, "--interval", min=1.0, help="Seconds between polls."),
    *, common: Common,
) -> None:
    """A project's status (0..100); the full record once ready."""
    out = common.output
    with common.client() as client:
        if wait:
            s = client.uploads.wait_project(name, timeout=timeout, interval=interval,
                                            on_status=lambda s: out.info(f"{s.name}: status {s.status}"))
        else:
            s = client.uploads.project(name)
        text = f"{s.name}: status {s.status}" + (f" ({s.state})" if s.state else "")
        if s.failed:
            text += f": {s.record.get('error')}: {s.record.get('message')}"
        elif s.ready and not out.quiet:
            text += "".join(f"\n{f['name']}\t{f['type']}\t{f['size']}" for f in s.record.get("files", []))
        out.result(text, s.record)
        if s.failed:
            raise typer.Exit(EXIT_PROCESSING)
        if wait and not s.ready:
            raise typer.Exit(EXIT_TIMEOUT)
