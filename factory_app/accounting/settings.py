"""Per-package settings, by one lookup rule: `<PACKAGE>_<NAME>` is a setting of one
package (XERO_CLIENT_ID, XERO_HTTP_TIMEOUT), and `ACCOUNTING_<NAME>` the same setting for
every package without one of its own (ACCOUNTING_HTTP_TIMEOUT). An empty value counts as
unset, so an empty environment variable doesn't hide the fallback.

The values come from the app's config, which config.py fills from the environment; an
adapter reads its settings here and nowhere else, and so do the engines that need a
package's figure (its calls a minute, its redirect URI).
"""
from __future__ import annotations

from typing import Any, Mapping

from flask import current_app


def setting(package: str, name: str, default: Any = None, config: Mapping | None = None) -> Any:
    """The package's own value, else every package's, else `default`."""
    config = config if config is not None else current_app.config
    for key in (f"{package.upper()}_{name}", f"ACCOUNTING_{name}"):
        value = config.get(key)
        if value is not None and value != "":
            return value
    return default


def override(config: Mapping, package: str, name: str, value: Any) -> dict:
    """A copy of `config` in which this package's setting is `value` (the package's own
    name wins over every other, so that is the one set)."""
    return {**config, f"{package.upper()}_{name}": value}
