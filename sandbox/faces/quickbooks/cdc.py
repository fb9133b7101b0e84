"""Change data capture: GET /cdc?entities=Customer,Invoice&changedSince=<moment>.

What changed since the moment (at most 30 days back: older is refused with 400, as
Intuit does, and the client reads whole lists instead), per entity in the order asked,
at most 1,000 objects in all; records deleted in the books come back as
{"Id", "status": "Deleted", "MetaData"}. `changedSince` may come without an offset
(read as UTC). TaxCode and TaxRate are not offered (Intuit doesn't either)."""
from __future__ import annotations

from datetime import datetime, timezone

LOOK_BACK_DAYS = 30
MAX_OBJECTS = 1000
ENTITIES = ("Customer", "Vendor", "Item", "Account", "Invoice", "Bill")


class CdcError(Exception):
    def __init__(self, code: str, message: str, detail: str):
        super().__init__(detail)
        self.code, self.message, self.detail = code, message, detail


def moment(text: str | None, now: float) -> float:
    """changedSince as epoch seconds (CdcError when missing, unreadable or too old)."""
    if not text:
        raise CdcError("2020", "Required param missing, need to supply the required value for the API",
                       "Required parameter changedSince is missing in the request")
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CdcError("2010", "Request has invalid or unsupported property",
                       f"changedSince {text!r} is not a date and time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    seconds = parsed.timestamp()
    if now - seconds > LOOK_BACK_DAYS * 86400:
        raise CdcError("2010", "Request has invalid or unsupported property",
                       f"changedSince must be within the last {LOOK_BACK_DAYS} days")
    return seconds


def entities(text: str | None) -> list[str]:
    asked = [e.strip() for e in (text or "").split(",") if e.strip()]
    if not asked:
        raise CdcError("2020", "Required param missing, need to supply the required value for the API",
                       "Required parameter entities is missing in the request")
    found = []
    for name in asked:
        entity = next((e for e in ENTITIES if e.lower() == name.lower()), None)
        if entity is None:
            raise CdcError("2010", "Request has invalid or unsupported property",
                           f"CDC is not supported for the entity {name}")
        found.append(entity)
    return found


def answer(changed: dict[str, list[dict]], stamp: str) -> dict:
    """Intuit's CDCResponse, the entities in the order asked, cut at MAX_OBJECTS in all."""
    left, responses = MAX_OBJECTS, []
    for entity, docs in changed.items():
        kept = docs[:max(0, left)]
        left -= len(kept)
        responses.append({entity: kept, "startPosition": 1, "maxResults": len(kept)} if kept else {})
    return {"CDCResponse": [{"QueryResponse": responses}], "time": stamp}
