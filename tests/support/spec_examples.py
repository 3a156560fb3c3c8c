"""Pull the example programs out of the API documents, verbatim, so tests run exactly what users copy."""

from __future__ import annotations

from pathlib import Path


def between(text: str, first_line: str, last_line: str | None) -> str:
    """The lines from the one starting with `first_line` up to (and including) the one starting with `last_line`;
    with `last_line` None, up to the next blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first_line))
    if last_line is None:
        end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines)) - 1
    else:
        end = next(i for i in range(start, len(lines)) if lines[i].startswith(last_line))
    return "\n".join(lines[start : end + 1]) + "\n"


def file_upload_python(spec_dir: Path) -> str:
    text = (spec_dir / "file-upload-api.md").read_text()
    return between(text, "import os, requests", 'print("https://360-for-you.com/projects/"')


def file_upload_curl(spec_dir: Path) -> tuple[str, str]:
    """(one big file, many small files) shell snippets."""
    text = (spec_dir / "file-upload-api.md").read_text()
    big = between(text, "KEY=sk_...; BASE=", '     -d "{\\"title\\":\\"Big scan\\"')
    many_start = text.index("Many small files")
    small = between(text[many_start:], "ID=$(curl", "     -d \"{\\\"title\\\":\\\"Photoset\\\"")
    return big, small
