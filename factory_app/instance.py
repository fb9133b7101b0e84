"""The instance folder (SQLite database, generated keys, the embedded Redis' files):
readable by its owner only. The folder is 0700 and what Factory writes into it 0600, so
a local account other than Factory's can read neither the database nor the keys."""
from __future__ import annotations

import os
from pathlib import Path

FOLDER_MODE, FILE_MODE = 0o700, 0o600


def secure_folder(folder: Path, database_uri: str = "") -> None:
    """Make (or tighten) the folder and what is in it; create the SQLite database file
    with owner-only rights before SQLite does (SQLite gives its journal files the
    database file's rights)."""
    folder.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    _tighten(folder, FOLDER_MODE)
    for entry in folder.iterdir():
        _tighten(entry, FOLDER_MODE if entry.is_dir() else FILE_MODE)
    database = sqlite_file(database_uri)
    if database is not None and database.parent == folder:
        private_file(database)


def sqlite_file(database_uri: str) -> Path | None:
    prefix = "sqlite:///"
    if not database_uri.startswith(prefix) or database_uri[len(prefix):] in ("", ":memory:"):
        return None
    return Path(database_uri[len(prefix):].split("?", 1)[0]).resolve()


def private_file(path: Path, content: str | None = None) -> Path:
    """Create the file owner-only (if missing), optionally with this content."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        _tighten(path, FILE_MODE)
    else:
        with os.fdopen(fd, "w") as fh:
            if content is not None:
                fh.write(content)
    return path


def _tighten(path: Path, mode: int) -> None:
    try:
        if path.stat().st_uid == os.getuid() and not path.is_symlink():
            path.chmod(mode)
    except OSError:  # gone meanwhile, or not ours to change: leave it
        pass
