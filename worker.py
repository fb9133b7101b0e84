"""Production worker: `python worker.py` runs one RQ worker with the scheduler.

Configuration comes from the environment (DATABASE_URL, REDIS_URL, SECRET_KEY), as for
the web processes. Run as many as you need; run exactly one `rq cron` beside them when
there are periodic jobs.
"""
from factory_app.jobs import run_worker

if __name__ == "__main__":
    run_worker()
