"""Customers and suppliers."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import ADDRESS_KINDS, Address, ContactPerson, Customer, Party, Supplier

KINDS: dict[str, type[Party]] = {"customer": Customer, "supplier": Supplier}
CORE_FIELDS = ("name", "email", "phone", "website", "tax_number", "notes")


def _clean(value):
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def create_party(organisation_id: int, kind: str, data: dict) -> Party:
    party = KINDS[kind](organisation_id=organisation_id)
    db.session.add(party)
    update_party(party, data)
    return party


def update_party(party: Party, data: dict) -> Party:
    """Apply validated form data: core fields, both addresses, the contact people.

    data = {core fields..., "archived": bool, "addresses": {"postal": {...}, "street": {...}},
            "people": [{"id": int|None, "name": ..., "email": ..., "phone": ...}, ...]}
    People rows without a name are dropped; people missing from the list are removed.
    """
    for field in CORE_FIELDS:
        if field in data:
            setattr(party, field, _clean(data[field]))
    if "archived" in data:
        party.archived = bool(data["archived"])

    for kind in ADDRESS_KINDS:
        values = (data.get("addresses") or {}).get(kind)
        if values is None:
            continue
        address = party.address(kind)
        if address is None:
            address = Address(kind=kind)
            party.addresses.append(address)
        for field in Address.FIELDS:
            setattr(address, field, _clean(values.get(field)))
        if address.is_blank():
            party.addresses.remove(address)

    if "people" in data:
        existing = {p.id: p for p in party.people}
        kept = []
        for values in data["people"]:
            if not _clean(values.get("name")):
                continue
            person = existing.get(values.get("id")) or ContactPerson()
            person.name = _clean(values["name"])
            person.email = _clean(values.get("email"))
            person.phone = _clean(values.get("phone"))
            kept.append(person)
        party.people[:] = kept
    db.session.flush()
    return party


def shown_city(model):
    """The city a list row shows: its street address's, else its postal address's (as
    Party.address would find them: the street address wins even without a city)."""
    return (select(Address.city).where(Address.party_id == model.id, Address.kind.in_(("street", "postal")))
            .order_by(Address.kind.desc()).limit(1))  # "street" after "postal"
