"""Jobs used by the tests only (the app has no demo jobs). Importable by a worker
started from the repository root."""
from pathlib import Path

from factory_app.jobs import job_context, redis_connection


def remember(key: str, value: str) -> str:
    with job_context():
        redis_connection().set(key, value)
    return value


def touch(path: str) -> None:
    with job_context():
        Path(path).write_text("done")
