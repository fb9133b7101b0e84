"""The path that releases before the package-neutral core queued sync runs under
(`factory_app.accounting.sync.run_job`, tasks.OLD_PATHS): kept so that a job queued then
still runs. Nothing else lives here. The work is in runs.py (the runs and their job),
importer.py (Import customers / suppliers), update.py (the update and the daily sync),
reviews.py, records.py (the synced lists), creation.py ("Also create in ..."), runlog.py
and text.py."""
from __future__ import annotations

from .runs import run_job

__all__ = ["run_job"]
