"""`omnidrop walkthrough upload`: the 360 Walkthrough Upload API's five steps in one resumable command."""

from __future__ import annotations

import hashlib
from pathlib import Path

import typer

from omnidrop.cli.client_command import client_command
from omnidrop.cli.client_common import Common, Fresh, StatePath, parse_size

app = typer.Typer(help="360 walkthroughs: upload .insv videos onto a floor plan.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


@app.command("upload")
@client_command
def upload(
    videos: list[Path] = typer.Argument(..., help="The walkthrough video(s), e.g. .insv."),
    project: str = typer.Option(..., "--project", help="Walkthrough project id."),
    drawing: str = typer.Option(..., "--drawing", help="Drawing (floor plan) id."),
    date: str = typer.Option(..., "--date", help="Capture date, DD-MM-YYYY."),
    name: str = typer.Option(..., "--name", help="Name of the upload object."),
    uploaded_by: str = typer.Option(..., "--uploaded-by", help="Who uploads (the document's uploaded_by)."),
    start: str = typer.Option(..., "--start", help="Start position on the drawing: lat,lng."),
    end: str = typer.Option(..., "--end", help="End position on the drawing: lat,lng."),
    target_points: int = typer.Option(0, "--target-points", min=0, help="target_points_count."),
    asset_type: str = typer.Option("video", "--asset-type", help="asset_type of step 5."),
    via: str = typer.Option("tus", "--via", help="tus or ietf (the draft) for the video bytes."),
    chunk_size: str = typer.Option("8MiB", "--chunk-size", help="Bytes per PATCH."),
    fresh: Fresh = False,
    state_path: StatePath = None,
    *, common: Common,
) -> None:
    """Create the upload object, send the video(s) over tus, link them (run again to resume)."""
    from omnidrop.client import LocalFile

    if via not in ("tus", "ietf"):
        raise typer.BadParameter("choose tus or ietf", param_hint="--via")
    size = parse_size(chunk_size)
    out = common.output
    files = [LocalFile.at(v) for v in videos]
    state = common.state(state_path)
    with common.client(1) as client:
        ident = "\n".join([client.url, "walkthrough", project, drawing, date, name, *sorted(f.key for f in files)])
        skey = hashlib.sha256(ident.encode()).hexdigest()
        if fresh:
            state.put("batches", skey, None)
        entry = state.get("batches", skey) or {}
        if entry.get("linked"):
            obj = client.walkthrough.get_upload(entry["object_id"])
            out.info("already uploaded and linked (use --fresh to upload again)")
            out.result(f"upload object {obj['id']}: {obj['processing_status']}", obj)
            return
        if not entry.get("object_id"):
            obj = client.walkthrough.create_upload(project, date=date, name=name, drawing_id=drawing,
                                                   uploaded_by=uploaded_by)
            entry = state.merge("batches", skey, object_id=obj["id"], videos={})
        object_id = entry["object_id"]
        api = client.tus if via == "tus" else client.ietf
        links = []
        progress = out.progress()
        with progress:
            progress.expect({f.key: f.size for f in files})
            for f in files:
                known = (state.get("batches", skey) or {}).get("videos", {}).get(f.key, {})

                def record(u: str, k: str = f.key) -> None:
                    state.update("batches", skey, lambda e: {**e, "videos": {**e.get("videos", {}), k: {"url": u}}})

                if known.get("done"):
                    got = known["url"]
                    progress.start(f.key, f.name, f.size, f.size)
                    progress.finish(f.key)
                else:
                    got = api.upload_file(f, url=known.get("url"), chunk_size=size, progress=progress,
                                          metadata={"walkthrough_upload_id": str(object_id)}, on_created=record)
                    state.update("batches", skey, lambda e, k=f.key, u=got: {
                        **e, "videos": {**e.get("videos", {}), k: {"url": u, "done": True}}})
                links.append({"url": got, "title": f.name, "file_extension": f.path.suffix.lstrip(".").lower()})
        obj = client.walkthrough.link(object_id, links, start_position=start, end_position=end,
                                      asset_type=asset_type, target_points_count=target_points,
                                      uploaded_by=uploaded_by)
        state.merge("batches", skey, linked=True)
        out.result(f"upload object {obj['id']}: {obj['processing_status']}, {len(obj['videos'])} video(s)", obj)
