"""The review list: a doubtful match of an import, resolved by a person (link to one of
the suggested records, create a new one, or skip). Two identical requests at once
resolve it once.
"""
from __future__ import annotations

import dataclasses
import json

from sqlalchemy import select, update

from ..extensions import db
from ..models import ExternalLink, ImportReview, Party
from ..models.types import utcnow
from . import connections as conn_service
from .base import Rejected, RemoteAddress, RemoteContact, RemotePerson
from .importer import KINDS, apply_contact


def _claim_review(review: ImportReview, status: str) -> bool:
    """Move the review out of "open" in the database first (an UPDATE ... WHERE status =
    'open', which waits for a concurrent resolve of the same review): of two identical
    requests at once, one resolves it and the other finds it resolved."""
    claimed = db.session.execute(update(ImportReview).where(ImportReview.id == review.id, ImportReview.status == "open")
                                 .values(status=status, resolved_at=utcnow())
                                 .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(review, ["status", "resolved_at"])
    return bool(claimed)


def resolve_review(review: ImportReview, action: str, local_id: int | None = None) -> Party | None:
    """Link to a candidate, create a new record, or skip."""
    if action not in ("skip", "link", "create"):
        raise Rejected("Unknown action.")
    if review.status != "open":
        return None
    connection = conn_service.current_connection(review.organisation_id)
    if action == "skip":
        _claim_review(review, "skipped")
        return None
    if connection is None or connection.remote_org_id != review.remote_org_id:
        raise Rejected("Reconnect to the same organisation to resolve this.")
    data = json.loads(review.remote_data)
    contact = RemoteContact(**{**data, "addresses": tuple(), "people": tuple(), "updated_at": None})
    contact = dataclasses.replace(contact, addresses=tuple(RemoteAddress(**a) for a in data.get("addresses") or []),
                                  people=tuple(RemotePerson(**p) for p in data.get("people") or []))
    model = KINDS[review.local_type]
    links = select(ExternalLink.id).where(
        ExternalLink.organisation_id == review.organisation_id, ExternalLink.provider == review.provider,
        ExternalLink.remote_org_id == review.remote_org_id, ExternalLink.local_type == review.local_type)
    if db.session.scalar(links.where(ExternalLink.remote_id == review.remote_id)) is not None:
        raise Rejected(f"{review.remote_name} is linked to a Factory record already.")
    if action == "link":
        allowed = {int(i) for i in review.candidate_ids.split(",") if i}
        party = db.session.get(model, local_id) if local_id in allowed else None
        if party is None or party.organisation_id != review.organisation_id:
            raise Rejected("Choose one of the suggested records.")
        if db.session.scalar(links.where(ExternalLink.local_id == party.id)) is not None:
            raise Rejected(f"{party.name} is linked to another contact already; unlink it first on its page.")
        if not _claim_review(review, "linked"):
            return None  # resolved a moment ago (a double click)
        fill_only = True
    else:
        if not _claim_review(review, "created"):
            return None
        party = model(organisation_id=review.organisation_id)
        db.session.add(party)
        fill_only = False
    apply_contact(party, contact, fill_only=fill_only)
    db.session.flush()
    db.session.add(ExternalLink(organisation_id=review.organisation_id, provider=review.provider,
                                remote_org_id=review.remote_org_id, local_type=review.local_type, local_id=party.id,
                                remote_id=review.remote_id, remote_name=review.remote_name))
    party.remote_state = "linked"
    db.session.flush()
    return party
