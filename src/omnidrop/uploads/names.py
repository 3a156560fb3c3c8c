"""Filenames: one rule for every name omnidrop stores, whatever brought it (an upload, an archive
entry, a download's Content-Disposition or URL, a presigned-upload form, a direct video's file, a
vehicle video's form field), plus the allowed extensions.

The rule: NFC; path separators, characters Windows and shells trip over, and every control and
invisible formatting character (C0/C1 controls, bidi overrides and isolates such as U+202E,
zero-width characters, line/paragraph separators, lone surrogates) are removed, not interpreted;
leading dots (hidden files, `..`) and surrounding spaces, trailing dots go; at most 255 UTF-8 bytes.
A free-text title shown as a file's name (`clean_text`) gets the same character cleaning and a
length bound, but keeps its punctuation.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Iterable

from omnidrop.uploads.errors import ExtensionNotAllowed, InvalidFilename

MAX_NAME_BYTES = 255
# Names a server makes up itself (archive entries, downloads) stay below the limit, leaving room for a
# uniqueness suffix (`_12`).
MADE_NAME_BYTES = 200
# Separators, characters Windows and shells trip over.
_UNSAFE = re.compile(r'[/\\:*?"<>|]')
# Unicode categories removed: Cc controls, Cf formatting (bidi controls, zero-width), Cs surrogates,
# Zl/Zp line and paragraph separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _visible(text: str) -> str:
    # NFC after the removal too: an accent split from its letter by a zero-width space joins it again.
    return unicodedata.normalize("NFC", "".join(c for c in text if unicodedata.category(c) not in _INVISIBLE))


def _clean(raw: str) -> str:
    text = _UNSAFE.sub("", _visible(raw))
    # Leading dots would hide the file or spell `..`; trailing dots and spaces vanish on Windows.
    return text.strip().lstrip(".").rstrip(". ")


def clean_text(raw: str, max_chars: int) -> str:
    """The rule's character cleaning for free text shown as a name (a video's title, an upload's
    name): NFC, every control and invisible formatting character removed, surrounding spaces
    stripped, cut to `max_chars` characters (what the column holds). Never refused; punctuation
    (`/`, `:`) stays."""
    return _visible(raw).strip()[:max_chars].rstrip()


def flatten_filename(raw: str) -> str:
    """The rule for a name a client chose: `a/b\\c.jpg` -> `abc.jpg`; refused (InvalidFilename) when
    nothing usable is left or it is longer than 255 bytes, so the client can pick another."""
    name = _clean(raw)
    if not name or len(name.encode()) > MAX_NAME_BYTES:
        raise InvalidFilename(f"unusable filename {raw!r}")
    return name


def safe_filename(raw: str | Iterable[str], fallback: str = "file", max_bytes: int = MADE_NAME_BYTES) -> str:
    """The same rule for a name nobody can be asked to change (an archive entry, a download): never
    refused. Path components (a list) are cleaned one by one and joined with `_`
    (`floor1/img 01.jpg` -> `floor1_img 01.jpg`); an empty result is `fallback`, a long one is cut
    to `max_bytes`, keeping its extension."""
    parts = [raw] if isinstance(raw, str) else list(raw)
    name = "_".join(p for p in (_clean(part) for part in parts) if p) or fallback
    return _truncate(name, max_bytes)


def _truncate(name: str, max_bytes: int) -> str:
    if len(name.encode()) <= max_bytes:
        return name
    stem, ext = os.path.splitext(name)
    if len(ext.encode()) > 20:
        stem, ext = name, ""
    budget = max_bytes - len(ext.encode())
    return stem.encode()[:budget].decode(errors="ignore").rstrip(" .") + ext


def extension_of(name: str, allowed: list[str]) -> str:
    """The longest allowed suffix (`tar.gz` before `gz`), else the last one."""
    lower = name.lower()
    for ext in sorted(allowed, key=len, reverse=True):
        if lower.endswith("." + ext):
            return ext
    return lower.rsplit(".", 1)[1] if "." in lower else ""


def check_extension(name: str, allowed: list[str]) -> str:
    ext = extension_of(name, allowed)
    if ext not in allowed:
        raise ExtensionNotAllowed(ext, sorted(allowed))
    return ext


class UniqueNames:
    """Hands out names unique within one set. A name already given comes back as `stem_N.ext`, with N
    counted on per name, so k entries of one name cost O(k) probes in all, not O(k²).

    `fold` says which names count as the same (str.casefold: unique on case-insensitive file systems
    too); `first` is the first suffix number. Deterministic: the same names claimed in the same order
    give the same results. `mark()`/`rollback()` undo the claims made since a mark, in O(claims undone).
    """

    def __init__(self, *, first: int = 2, fold: Callable[[str], str] = str.casefold) -> None:
        self.first, self.fold = first, fold
        self._taken: set[str] = set()
        self._next: dict[str, int] = {}  # folded name -> next suffix number to try
        # What each claim changed, newest last: (folded name, None) for a name taken, or (folded name,
        # previous counter) for a counter moved on (previous 0: it had none).
        self._journal: list[tuple[str, int | None]] = []
        self.probes = 0  # candidate names tried: at most claims + names claimed literally

    def __contains__(self, name: str) -> bool:
        return self.fold(name) in self._taken

    def claim(self, name: str) -> str:
        key = self.fold(name)
        if key not in self._taken:
            self._take(key)
            return name
        stem, ext = os.path.splitext(name)
        n = self._next.get(key, self.first)
        while True:
            self.probes += 1
            candidate = f"{stem}_{n}{ext}"
            n += 1
            if self.fold(candidate) not in self._taken:
                break
        self._journal.append((key, self._next.get(key, 0)))
        self._next[key] = n
        self._take(self.fold(candidate))
        return candidate

    def _take(self, key: str) -> None:
        self._taken.add(key)
        self._journal.append((key, None))

    def mark(self) -> int:
        return len(self._journal)

    def rollback(self, mark: int) -> None:
        while len(self._journal) > mark:
            key, previous = self._journal.pop()
            if previous is None:
                self._taken.discard(key)
            elif previous == 0:
                del self._next[key]
            else:
                self._next[key] = previous
