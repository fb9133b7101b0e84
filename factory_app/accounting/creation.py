"""The "Also create in the accounting package" tickbox: the remote contact made from a
Factory record and linked to it, unless the package has one of that name already (then
"Link to existing" is offered instead).
"""
from __future__ import annotations


from ..extensions import db
from ..models import AccountingConnection, ExternalLink, Party, SyncFailure, SyncRun
from . import connections as conn_service
from . import provider as get_provider
from .base import Rejected
from .links import same_name


def create_contact(run: SyncRun, connection: AccountingConnection) -> None:
    party = db.session.get(Party, run.subject_id)
    if party is None:
        return
    local_type = party.kind
    existing = db.session.scalar(conn_service.links_for(connection, local_type).where(ExternalLink.local_id == party.id))
    if existing is not None:
        party.remote_state = "linked"
        return
    adapter = get_provider(connection.provider)
    clash = same_name(connection, party.name)
    if clash is not None:  # the package's unique-name rule: offer "Link to existing" instead
        party.remote_state = "failed"
        party.remote_message = f"A contact named “{clash.name}” already exists in the accounting package."
        run.failed += 1
        return
    try:
        contact = conn_service.call(connection, lambda s: adapter.save_contact(
            s, None, name=party.name, email=party.email, kind=local_type,
            idempotency_key=f"factory-contact-{party.id}"))
    except Rejected as exc:
        party.remote_state, party.remote_message = "failed", exc.message
        run.failed += 1
        db.session.add(SyncFailure(organisation_id=run.organisation_id, run_id=run.id, local_type=local_type,
                                   local_id=party.id, name=party.name, message=exc.message))
        return
    db.session.add(ExternalLink(organisation_id=party.organisation_id, provider=connection.provider,
                                remote_org_id=connection.remote_org_id, local_type=local_type, local_id=party.id,
                                remote_id=contact.remote_id, remote_name=contact.name))
    party.remote_state, party.remote_message = "linked", None
    run.created += 1
