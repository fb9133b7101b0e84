"""Every RQ entry point of the accounting integration, at a path that stays put.

A job in Redis names its function by its dotted path, and may wait there through an
upgrade (a retry an hour away, a probe after an outage). So jobs are queued under these
names only, and each hands over to the module that does the work, imported when the job
runs: the engines can be split and moved without stranding a queued job.

Jobs queued before this module existed named the engines' own functions; those paths
still run (OLD_PATHS; tests/test_accounting_core.py imports each as RQ would), and a
module that moves must leave an alias at its old path.
"""
from __future__ import annotations

RUN_SYNC = "factory_app.accounting.tasks.run_sync"
PUSH_DOCUMENTS = "factory_app.accounting.tasks.push_documents"
REFRESH_PAYMENT = "factory_app.accounting.tasks.refresh_payment"
PROBE = "factory_app.accounting.tasks.probe"

# what earlier releases queued -> the entry point that does the same now
OLD_PATHS = {
    "factory_app.accounting.sync.run_job": RUN_SYNC,
    "factory_app.accounting.push.push_document": PUSH_DOCUMENTS,
    "factory_app.accounting.push.refresh_payment_job": REFRESH_PAYMENT,
    "factory_app.accounting.outbox.probe": PROBE,
}


def run_sync(run_id: int) -> str:
    """Run (or resume) one SyncRun: an import, an update, a contact to create."""
    from .runs import run_job
    return run_job(run_id)


def push_documents(push_id: int, *also: int) -> str:
    """Send a push, and whatever else of its kind waits for the same organisation."""
    from .push import push_document
    return push_document(push_id, *also)


def refresh_payment(push_id: int) -> str:
    """Read a sent document's payment state from the package."""
    from .payments import refresh_payment_job
    return refresh_payment_job(push_id)


def probe(connection_id: int, attempt: int = 0) -> str:
    """A cheap call to a package that stopped answering: back, and what waits goes."""
    from .outbox import probe as probe_package
    return probe_package(connection_id, attempt)


def daily_sync() -> int:
    """Cron: one sync run per active connection."""
    from .runs import daily_sync as sync_all
    return sync_all()


def sweep_outbox() -> dict[str, int]:
    """Cron (and the workers, every minute): work left without a job gets one."""
    from .outbox import sweep_job
    return sweep_job()
