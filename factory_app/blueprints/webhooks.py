"""Webhooks from accounting packages: POST /webhooks/<package>, handed to that package's
adapter, which proves the request is the package's (its signature) and reads its events.
No session, no CSRF: the signature is the proof. A good request is answered at once with
an empty 200 (packages want an answer within seconds; the work is queued), a bad or
missing signature with 401, a package Factory doesn't know with 404."""
from __future__ import annotations

from flask import Blueprint, request

from ..accounting import provider as get_provider
from ..accounting import payments as payment_service
from ..extensions import csrf, db
from ..web import PACKAGE_PATH

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.route(f"/{PACKAGE_PATH}", methods=["POST"])
@csrf.exempt
def receive(provider_key: str):
    events = get_provider(provider_key).webhook_events(request.headers, request.get_data(cache=False))
    if events is None:
        return "", 401
    if events and payment_service.handle_webhook_events(provider_key, events):
        db.session.commit()
    return "", 200
