"""Records of Xero's API stored raw by a test (the raw-records control), exactly as given,
whatever their shape (off Xero's schema on purpose): they go out in lists as they are,
after the books' own records, and the spec checker is shown the answer without them."""
from __future__ import annotations

from .query import matches

FACE = "xero"
RAW_KINDS = {"contact": "ContactID", "item": "ItemID", "account": "AccountID", "tax_rate": "TaxType",
             "invoice": "InvoiceID"}


class Raw:
    """A record stored raw, as it goes out."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def raw_id(kind: str, value) -> str | None:
    """The id a raw record is found by (IDs=, GET by id): its id field, if that is text."""
    found = value.get(RAW_KINDS[kind]) if isinstance(value, dict) else None
    return (found if kind == "tax_rate" else found.lower()) if isinstance(found, str) else None


def raw_listed(store, tenant: str, kind: str, since: float | None, where=None, ids=None, other_filters=False,
               include_archived=True) -> list[Raw]:
    """The raw records a list read meets: those stored since `since` (the moment they were
    stored is their change time), with their id among `ids` and matching `where` (as far as
    they are objects); none when the read has filters they can't be checked against."""
    if other_filters:
        return []
    found = []
    for record_id, updated_ms, value in store.raw_records(FACE, tenant, kind):
        if since is not None and updated_ms < since * 1000:
            continue
        if ids and record_id not in ids:
            continue
        if where and not (isinstance(value, dict) and matches(value, where)):
            continue
        if not include_archived and isinstance(value, dict) and value.get("ContactStatus") == "ARCHIVED":
            continue
        found.append(Raw(value))
    return found


def raw_one(store, tenant: str, kind: str, record_id: str) -> list[Raw]:
    """The raw record of a kind with this id (the last stored), if any."""
    wanted = record_id.lower()
    found = [Raw(value) for rid, _, value in store.raw_records(FACE, tenant, kind) if rid == wanted]
    return found[-1:]
