"""The files a file or folder source delivers, and their content hashes.

Paths in a declaration are relative to the workspace root (absolute paths are kept). A ``file``
source is a path or a glob; a ``folder`` source is a directory whose files matching ``pattern``
are picked up. Either way a file whose content was loaded before is not read again, so a new
file dropped into a folder, or a changed export under the same name, is what a run loads.
"""

from __future__ import annotations

import glob
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from insightloop.errors import ConfigError
from insightloop.ingest.sources import SourceDeclaration

__all__ = ["SourceFile", "file_hash", "source_files"]

_HIDDEN = (".", "~", "_")


@dataclass(frozen=True)
class SourceFile:
    """One file of a source: where it is, how it is shown, its size and content hash (None when
    listed without hashing)."""

    path: Path
    shown: str  # as reported: relative to the workspace root when inside it
    size: int
    content_hash: str | None


def file_hash(path: Path) -> str:
    """SHA-256 of the file's bytes, read in blocks (bounded memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _shown(path: Path, root: Path) -> str:
    """The path relative to the workspace root (``../company/x.csv`` outside it), else absolute."""
    try:
        return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return path.resolve().as_posix()


def source_files(source: SourceDeclaration, root: Path, *, hashed: bool = True) -> list[SourceFile]:
    """The files of ``source`` in name order, hashed unless ``hashed`` is false.

    Raises
    ------
    ConfigError
        When a plain path, or a folder, does not exist (a glob that matches nothing is not an
        error: the files have not arrived yet).
    """
    assert source.path is not None
    base = Path(source.path).expanduser()
    base = base if base.is_absolute() else root / base
    if source.kind == "folder":
        if not base.is_dir():
            raise ConfigError(
                f"sources.{source.name}: folder {_shown(base, root)} does not exist",
                hint="Create it, or correct `path` (relative paths start at the workspace root).",
            )
        paths = sorted(p for p in base.glob(source.pattern) if p.is_file())
    elif glob.has_magic(str(source.path)):
        paths = sorted(Path(p) for p in glob.glob(str(base), recursive=True) if Path(p).is_file())
    else:
        if not base.exists():
            raise ConfigError(
                f"sources.{source.name}: file {_shown(base, root)} does not exist",
                hint="Correct `path` (relative paths start at the workspace root), or use a glob "
                "such as 'exports/*.csv' if the file arrives later.",
            )
        paths = [base]
    paths = [p for p in paths if not p.name.startswith(_HIDDEN) or p == base]
    return [
        SourceFile(p, _shown(p, root), p.stat().st_size, file_hash(p) if hashed else None)
        for p in paths
    ]
