"""`omnidrop capture upload` (the Captures API) and `omnidrop video upload` (the Direct Video Upload API):
both send presigned parts, in parallel, keeping every ETag in the resume state."""

from __future__ import annotations

import hashlib
from pathlib import Path

import typer

from omnidrop.cli.client_command import client_command
from omnidrop.cli.client_common import Common, Fresh, Parallel, StatePath

capture_app = typer.Typer(help="Captures for gaussian splatting (presigned parts).", no_args_is_help=True,
                          pretty_exceptions_enable=False)
video_app = typer.Typer(help="Direct video upload groups (presigned parts).", no_args_is_help=True,
                        pretty_exceptions_enable=False)


@capture_app.command("upload")
@client_command
def capture_upload(
    path: Path = typer.Argument(..., help="The capture: a video or a zip of photos."),
    title: str | None = typer.Option(None, "--title", help="Capture name (default: the file name)."),
    parallel: Parallel = 4,
    fresh: Fresh = False,
    state_path: StatePath = None,
    *, common: Common,
) -> None:
    """Create a capture, upload its parts, mark it uploaded; prints its eid (run again to resume)."""
    from omnidrop.client import LocalFile

    out = common.output
    f = LocalFile.at(path)
    state = common.state(state_path)
    with common.client(parallel) as client:
        skey = f"{client.url}|capture|{f.key}"
        if fresh:
            state.put("files", skey, None)
        progress = out.progress()
        with progress:
            progress.expect({f.key: f.size})
            capture = client.captures.upload_file(f, name=title, state=state, state_key=skey, progress=progress)
        out.result(f"capture {capture['eid']}: {capture.get('state')}", capture)


ROLE_BY_EXTENSION = {
    ".mp4": "video", ".mov": "video", ".aivu": "video", ".aime": "aime", ".fcpxmld": "fcpxmld", ".zip": "fcpxmld",
    ".srt": "subtitle", ".vtt": "subtitle", ".m4a": "audio", ".aac": "audio", ".wav": "audio", ".mp3": "audio",
}


def _role_file(arg: str) -> tuple[str, Path]:
    """`ROLE=PATH`, or a path whose role follows from its extension."""
    role, sep, rest = arg.partition("=")
    if sep and role in {"video", "video_left", "video_right", "audio", "subtitle", "aime", "fcpxmld"}:
        return role, Path(rest)
    p = Path(arg)
    guess = ROLE_BY_EXTENSION.get(p.suffix.lower())
    if guess is None:
        raise typer.BadParameter(f"cannot tell the role of {arg!r}: write ROLE=PATH", param_hint="FILES")
    return guess, p


@video_app.command("upload")
@client_command
def video_upload(
    files: list[str] = typer.Argument(..., help="PATH or ROLE=PATH (video, video_left, video_right, audio, subtitle, aime, fcpxmld)."),
    layout: str = typer.Option("Mono", "--layout", help="Separate, SideBySide, OverUnder, MVHEVC or Mono."),
    title: str | None = typer.Option(None, "--title", help="Title of the group."),
    parallel: Parallel = 4,
    fresh: Fresh = False,
    state_path: StatePath = None,
    *, common: Common,
) -> None:
    """Upload a group of role-tagged files; prints the group once every file is complete."""
    from omnidrop.client import LocalFile
    from omnidrop.client.videos import RoleFile

    out = common.output
    tagged = [_role_file(a) for a in files]
    role_files = [RoleFile(role, LocalFile.at(p)) for role, p in tagged]
    state = common.state(state_path)
    with common.client(parallel) as client:
        ident = "\n".join([client.url, "video", layout, *(f"{r.role}={r.file.key}" for r in role_files)])
        skey = hashlib.sha256(ident.encode()).hexdigest()
        if fresh:
            state.put("batches", skey, None)
        progress = out.progress()
        with progress:
            progress.expect({r.file.key: r.file.size for r in role_files})
            group = client.videos.upload_group(layout, role_files, title=title, state=state, state_key=skey,
                                               progress=progress)
        out.result(f"group {group['uploadSessionId']}: {group['status']}", group)
