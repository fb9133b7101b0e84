"""A package's JSON HTTP client. Transport failures (a timeout, a refused connection)
become Unreachable, named for the package; every answer that arrives goes through the
package's `classify(response, url)` hook, which raises the interface's error for it
(RateLimited, Unreachable, AccessTokenExpired, ReconnectNeeded, Rejected) or returns for
a good one. Every call has a timeout."""
from __future__ import annotations

from typing import Any, Callable

import requests

from ..base import RetriableError, Unreachable
from . import jsonmoney

Classify = Callable[[requests.Response, str], None]


class JsonHttp:
    def __init__(self, package: str, classify: Classify, timeout: float):
        self.package, self.classify, self.timeout = package, classify, timeout

    def send(self, method: str, url: str, **kwargs) -> requests.Response:
        """The answer to one request, once `classify` has accepted it."""
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = requests.request(method, url, **kwargs)
        except requests.Timeout as exc:
            raise Unreachable(f"{self.package} did not answer in time.") from exc
        except requests.ConnectionError as exc:
            raise Unreachable(f"{self.package} could not be reached.") from exc
        self.classify(response, url)
        return response

    def json(self, response: requests.Response) -> Any:
        """The answer's body, money exact; RetriableError when it can't be read."""
        try:
            return jsonmoney.loads(response.content)
        except ValueError as exc:
            raise RetriableError(f"{self.package} sent an unreadable answer.") from exc

    def call(self, method: str, url: str, **kwargs) -> Any:
        return self.json(self.send(method, url, **kwargs))


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given in seconds (None when absent or unreadable)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def body_of(response: requests.Response) -> Any:
    """An error answer's body as JSON, or None when it is not JSON (for its messages)."""
    try:
        return response.json()
    except ValueError:
        return None
