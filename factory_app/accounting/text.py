"""Clean text and names, for what comes from an accounting package (whose names are
attacker-controlled input): control characters dropped, Unicode composed, lengths cut to
the columns'; names normalised for matching (case, accents, punctuation and company
suffixes ignored).
"""
from __future__ import annotations

import re
import unicodedata


from .base import RemoteContact


SUFFIX_WORDS = {"pty", "ltd", "limited", "proprietary", "inc", "incorporated", "llc", "corp", "corporation",
                "co", "company", "plc", "gmbh", "pl"}


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalise_name(name: str | None) -> str:
    """Case, accents, punctuation, whitespace and company suffixes ignored."""
    text = name or ""
    if not text.isascii():  # plain ASCII is its own NFKD form
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = text.lower()
    words = re.sub(r"[^a-z0-9]+", " ", text.replace("&", " and ")).split()
    while words and words[-1] in SUFFIX_WORDS:
        words.pop()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def clean(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    if type(value) is not str:
        value = str(value)
    if not (value.isascii() and value.isprintable()):  # plain text needs neither step (the common case)
        value = CONTROL.sub("", unicodedata.normalize("NFC", value))
    return value.strip()[:limit] or None


def problem_with(contact: RemoteContact) -> str | None:
    name = clean(contact.name, 10_000)
    if not name:
        return "It has no name."
    if len(name) > 255:
        return f"Its name is {len(name)} characters long; Factory keeps at most 255."
    return None
