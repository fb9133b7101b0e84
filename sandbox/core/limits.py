"""Rate limits per key (a face's company): by default 60 calls a minute, 5 at once, 5,000
a day, and 10,000 a minute for the whole app (Xero's); a face gives its own package's
limits to acquire(). What the sandbox was started with (`limits`) overrides both. Windows
are rolling and run on the sandbox clock."""
from __future__ import annotations

import math
import threading
from collections import defaultdict, deque

DEFAULTS = {"per_minute": 60, "concurrent": 5, "per_day": 5000, "app_per_minute": 10000}


class RateLimiter:
    def __init__(self, clock, limits: dict | None = None):
        self.clock = clock
        self.overrides = dict(limits or {})
        self.limits = dict(DEFAULTS, **self.overrides)
        self.lock = threading.Lock()
        self.minute: dict[str, deque] = defaultdict(deque)
        self.day: dict[str, deque] = defaultdict(deque)
        self.app_minute: deque = deque()
        self.active: dict[str, int] = defaultdict(int)

    def reset(self):
        with self.lock:
            self.minute.clear()
            self.day.clear()
            self.app_minute.clear()
            self.active.clear()

    @staticmethod
    def _trim(window: deque, now: float, span: float):
        while window and window[0] <= now - span:
            window.popleft()

    def acquire(self, key: str, limits: dict | None = None) -> tuple[str | None, int, dict]:
        """(problem or None, retry_after seconds, headers). On success the caller must
        release(key). `limits`: the face's own, where they are not the defaults."""
        now = self.clock.now()
        lim = self.limits if limits is None else dict(DEFAULTS, **limits, **self.overrides)
        with self.lock:
            minute, day, app = self.minute[key], self.day[key], self.app_minute
            self._trim(minute, now, 60)
            self._trim(day, now, 86400)
            self._trim(app, now, 60)
            problem, retry = None, 0
            if len(day) >= lim["per_day"]:
                problem, retry = "day", math.ceil(day[0] + 86400 - now)
            elif len(app) >= lim["app_per_minute"]:
                problem, retry = "appminute", math.ceil(app[0] + 60 - now)
            elif len(minute) >= lim["per_minute"]:
                problem, retry = "minute", math.ceil(minute[0] + 60 - now)
            elif self.active[key] >= lim["concurrent"]:
                problem, retry = "concurrent", 1
            if problem is None:
                minute.append(now)
                day.append(now)
                app.append(now)
                self.active[key] += 1
            headers = {"X-DayLimit-Remaining": str(max(0, lim["per_day"] - len(day))),
                       "X-MinLimit-Remaining": str(max(0, lim["per_minute"] - len(minute))),
                       "X-AppMinLimit-Remaining": str(max(0, lim["app_per_minute"] - len(app)))}
            return problem, max(1, retry), headers

    def release(self, key: str):
        with self.lock:
            self.active[key] = max(0, self.active[key] - 1)
