"""A run's log of the records it could not take: each skipped record once, with its id,
its name if it has one and why, counted as failed.
"""
from __future__ import annotations


from sqlalchemy import select

from ..extensions import db
from ..models import SyncFailure, SyncRun
from .base import RecordProblem
from .text import clean


def log_unreadable(run: SyncRun, package: str, noun: str, problems: list[RecordProblem], logged: set,
                   local_type: str | None = None) -> None:
    """Records of a list the adapter could not read (Page.failures): each is skipped, in
    the run's log with its id, its name if it has one and why, and counted as failed.
    `logged`: what the run logged already (logged_failures), so that a list read twice, or
    a run resumed after a retry, logs each record once."""
    for problem in problems:
        entry = (clean(problem.remote_id, 100), clean(problem.name, 255),
                 f"Skipped: {package} sent this {noun} in a shape Factory can't read ({clean(problem.reason, 200)}).")
        if entry in logged:
            continue
        logged.add(entry)
        remote_id, name, message = entry
        db.session.add(SyncFailure(organisation_id=run.organisation_id, run_id=run.id, remote_id=remote_id,
                                   local_type=local_type, name=name, message=message))
        run.failed += 1


def logged_failures(run: SyncRun) -> set[tuple]:
    """(remote id, name, message) of the failures the run has logged so far."""
    return {tuple(row) for row in db.session.execute(select(SyncFailure.remote_id, SyncFailure.name,
                                                            SyncFailure.message).where(SyncFailure.run_id == run.id))}
