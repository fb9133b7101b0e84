"""What every part of the books shares: ids, the change events a face turns into its
webhooks, and the books' problems (a rule broken), which each face words its own way.

The books are package-neutral: their records are plain dicts with snake_case fields
(`contact.is_customer`, `document.lines`, `payment.document_id`), money as Decimal, days
as "YYYY-MM-DD", change times as epoch milliseconds (`updated_ms`) and a `version` that
counts the record's changes. No record holds a
package's field names: each face (sandbox/faces/<key>/) translates both ways."""
from __future__ import annotations

import uuid

CONTACT, DOCUMENT, CREDIT = "contact", "document", "credit"  # the kinds of record a change event names
CREATED, UPDATED = "create", "update"


def new_id() -> str:
    return str(uuid.uuid4())


def emit(store, tenant: str, kind: str, change: str, record_id: str) -> None:
    """A record created or changed: the sandbox holds it until the transaction commits,
    then every face with webhooks sends it its own way."""
    hook = getattr(store, "on_event", None)
    if hook:
        hook(tenant, kind, change, record_id)


class Problem(str):
    """A rule of the books broken: the text says it plainly (the bookkeeper's page shows
    it); `code` and `details` let a face say it in its package's words."""

    code: str
    details: dict

    def __new__(cls, code: str, text: str, /, **details):
        problem = super().__new__(cls, text)
        problem.code, problem.details = code, details
        return problem


def unchanged(record: dict, existing: dict | None) -> bool:
    """The record is the existing one but for its change time and version."""
    return existing is not None and {k: v for k, v in record.items() if k not in ("updated_ms", "version")} == \
        {k: v for k, v in existing.items() if k not in ("updated_ms", "version")}


def touch(store, record: dict) -> dict:
    """A record changed now: its change time and its version (0 when new, one more at each
    change after: what a face shows as QuickBooks' SyncToken or MYOB's RowVersion)."""
    record["updated_ms"] = store.clock.now_ms()
    record["version"] = int(record.get("version", -1)) + 1
    return record


def check_len(problems: list, value, field: str, limit: int) -> None:
    """A text field of the books at most `limit` characters long."""
    if value is not None and not isinstance(value, str):
        problems.append(Problem("not_text", f"{field} must be text.", field=field))
    elif value and len(value) > limit:
        problems.append(Problem("too_long", f"{field} must not be more than {limit} characters long.",
                                field=field, limit=limit))
