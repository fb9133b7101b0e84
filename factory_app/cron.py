"""Periodic jobs, for `rq cron factory_app.cron` — run exactly one such process
(`factory-app serve` starts it; in production run one beside the workers).

The cron job itself is cheap: it enqueues one sync per connection, each with a
deterministic job id (unique), and a run already queued or running is joined rather
than started twice.
"""
from rq import cron

from factory_app.accounting.push import resend_stuck
from factory_app.accounting.sync import daily_sync

cron.register(daily_sync, "default", cron="30 2 * * *", name="daily-accounting-sync")
# documents whose worker died mid-job go out again (each push is idempotent)
cron.register(resend_stuck, "default", interval=60, name="resend-stuck-documents")
