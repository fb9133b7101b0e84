"""A budget of API calls per remote organisation of a package, shared by every process
through Redis, so that all workers together stay inside the package's limits (Xero: 60
calls a minute and 5 at a time per organisation). Adapters declare their limits; the
budget keeps a margin.
"""
from __future__ import annotations

import time
import uuid
from contextlib import contextmanager

from redis.exceptions import RedisError

from ..jobs import redis_connection
from .base import RateLimited, RetriableError

# A sliding 60-second window (the package counts its minute that way, not by the clock's
# minute): a sorted set of the calls sent in the last 60 s, timed by Redis's own clock so
# that every worker on every machine agrees. Returns -1 when the call may go now, else the
# milliseconds until the oldest call leaves the window.
MINUTE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + 60000 - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], 61000)
return -1
"""


class Budget:
    def __init__(self, package: str, remote_org_id: str, per_minute: int, concurrent: int):
        """One package's budget for one of its organisations (two packages may use the
        same ids for theirs)."""
        self.name, self.per_minute, self.concurrent = f"{package}:{remote_org_id}", per_minute, concurrent
        self.redis = redis_connection()
        self._minute = self.redis.register_script(MINUTE_LUA)

    def _take_minute(self) -> float | None:
        """None when a call may go now, else seconds until a place in the window frees."""
        waited = self._minute(keys=[f"factory:rate:{self.name}"],
                              args=[self.per_minute, uuid.uuid4().hex])
        return None if waited == -1 else waited / 1000 + 0.05

    def _take_slot(self, token: str) -> bool:
        """A sorted set of running calls; entries older than 60 s are from dead processes."""
        key = f"factory:running:{self.name}"
        now = time.time()
        with self.redis.pipeline() as pipe:
            pipe.zremrangebyscore(key, 0, now - 60)
            pipe.zadd(key, {token: now})
            pipe.zrank(key, token)
            pipe.expire(key, 120)
            _, _, rank, _ = pipe.execute()
        if rank is not None and rank < self.concurrent:
            return True
        self.redis.zrem(key, token)
        return False

    def _paused(self) -> float | None:
        """Seconds left of a wait the package asked for (a 429's Retry-After), else None."""
        left = self.redis.pttl(f"factory:paused:{self.name}")
        return left / 1000 if left and left > 0 else None

    def pause(self, seconds: float) -> None:
        """No call for this organisation goes out for `seconds` (from any process), unless
        a longer pause is already on."""
        key, wanted = f"factory:paused:{self.name}", max(1, int(seconds * 1000))
        if self.redis.pttl(key) < wanted:
            self.redis.set(key, "1", px=wanted)

    @contextmanager
    def call(self, wait: float):
        """Hold one call's place in the budget; wait up to `wait` seconds for it, else
        raise RetriableError with the time after which it is worth trying again. A call
        the package refuses for a rate limit pauses every call of the organisation for
        as long as the package asks."""
        try:
            token = self._enter(wait)
        except RedisError as exc:  # no budget can be kept without Redis: not now, nothing was sent
            raise RetriableError("Factory's queue (Redis) can't be reached; trying again shortly.", retry_after=5,
                                 reached=False) from exc
        try:
            yield
        except RateLimited as exc:
            try:
                self.pause(exc.retry_after if exc.retry_after is not None else 1.0)
            except RedisError:
                pass
            raise
        finally:
            try:
                self.redis.zrem(f"factory:running:{self.name}", token)
            except RedisError:
                pass  # the slot expires with its key

    def _enter(self, wait: float) -> str:
        deadline = time.monotonic() + wait
        while (paused := self._paused()) is not None:
            if time.monotonic() + paused > deadline:
                raise RetriableError("The package asked Factory to wait before calling it again.",
                                     retry_after=paused, reached=False)
            time.sleep(paused)
        while True:
            delay = self._take_minute()
            if delay is None:
                break
            if time.monotonic() + delay > deadline:
                raise RetriableError("Factory's share of the package's per-minute limit is used up.", retry_after=delay, reached=False)
            time.sleep(delay)
        token = uuid.uuid4().hex
        while not self._take_slot(token):
            if time.monotonic() > deadline:
                raise RetriableError("Too many calls to the package are running at once.", retry_after=1, reached=False)
            time.sleep(0.05)
        return token
