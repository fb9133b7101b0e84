"""Per package: what a test needs to drive its face of the sandbox where a person would.
A new package adds its entry here (and its key to the registry and to sandbox.faces):
the contract tests in tests/accounting/ then run for it too.

- `consent(authorise_url, organisations)`: the package's consent page, as the office
  manager goes through it (tick the organisation, allow); returns the callback URL.
- `demo_organisation`: the demo story's Harbour Sheet Metal as the package names it.
- `ledger_ids(remote_org_id, remote_id)`: the bookkeeper's page's names for an
  organisation and a document the adapter knows by these ids (Xero's are the ledger's)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sandbox.ledger.seed import HARBOUR_ID

from .consent import consent as form_consent

CLIENT, SECRET = "contract-client", "contract-secret"
CALLBACK = "http://localhost/settings/integrations/callback"


@dataclass(frozen=True)
class FaceDriver:
    key: str
    demo_organisation: str
    consent: Callable[[str, list[str] | None], str] = form_consent

    def ledger_ids(self, remote_org_id: str, remote_id: str) -> tuple[str, str]:
        return remote_org_id, remote_id


DRIVERS = {"xero": FaceDriver("xero", HARBOUR_ID)}


def settings(package: str, sandbox_url: str) -> dict[str, str]:
    """The adapter's settings pointing it at its face of the sandbox at `sandbox_url`."""
    from factory_app.accounting import REGISTRY
    return REGISTRY[package].sandbox_settings(sandbox_url, CLIENT, SECRET, "contract-webhook-key", CALLBACK)
