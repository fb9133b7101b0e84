"""Periodic jobs, for `rq cron factory_app.cron` — run exactly one such process
(`factory-app cron` runs it and starts it again if it stops, say when Redis goes away;
`factory-app serve` starts that).

The cron jobs themselves are cheap: the nightly one enqueues one sync per connection,
each with a deterministic job id (unique), and a run already queued or running (with a
live job) is joined rather than started twice. The outbox sweep (every minute) is the
same the workers run themselves: a third way back for work left without a job.
"""
from rq import cron

from factory_app.accounting import tasks

cron.register(tasks.daily_sync, "default", cron="30 2 * * *", name="daily-accounting-sync")
cron.register(tasks.sweep_outbox, "default", interval=60, name="outbox-sweep")
