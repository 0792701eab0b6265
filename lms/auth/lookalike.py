"""Addresses that read as someone else's.

``аdmin@…`` with a Cyrillic а, ``ａdmin`` in full-width letters, ``admın`` with a dotless
ı or ``ädmin`` with a mark all read as ``admin``. A new address is refused when:

- a part of it (the local part, or a label of the domain) mixes scripts (Latin with
  Cyrillic...), which no real mailbox needs and every spoof does; or
- its *skeleton* equals an existing account's: the address with case folded, marks
  removed and every character replaced by the one it is confusable with (Unicode's
  confusables data, as shipped by ``confusable_homoglyphs``).

Syntax is checked by ``email-validator`` (the same library the web forms use).
"""

from __future__ import annotations

import unicodedata

from confusable_homoglyphs import confusables
from email_validator import EmailNotValidError, validate_email


class AddressError(ValueError):
    """The address cannot be used: the message says why."""


def checked_address(email: str) -> str:
    """The normalised address (NFKC, case-folded), or AddressError."""
    from lms.auth.models import normalise_email

    raw = (email or "").strip()
    try:
        valid = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise AddressError(f"'{raw}' is not a usable email address: {exc}") from None
    address = normalise_email(valid.normalized)
    local, _, domain = address.rpartition("@")
    for part in (local, *domain.split(".")):
        if confusables.is_mixed_script(part):
            raise AddressError(
                f"'{raw}' mixes alphabets (for example Latin and Cyrillic letters), so it "
                "could be mistaken for another address. Use one alphabet."
            )
    return address


def skeleton(address: str) -> str:
    """What ``address`` looks like: two addresses with one skeleton are look-alikes."""
    text = _without_marks(unicodedata.normalize("NFKC", address).casefold())
    text = "".join(_prototype(char) for char in text)
    return _without_marks(text.casefold())


def _without_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.category(ch).startswith("M"))


def _prototype(char: str) -> str:
    """The character ``char`` is confusable with, per Unicode's confusables.txt.

    The library keeps the mapping in both directions: a confusable character lists its
    one prototype, and a prototype lists all its confusables. When two characters list
    only each other, either may be the prototype: take the smaller, the same for both."""
    homoglyphs = confusables.confusables_data.get(char)
    if not homoglyphs or len(homoglyphs) > 1:
        return char  # a prototype itself, or confusable with nothing
    other = homoglyphs[0]["c"]
    if len(other) > 1 or len(confusables.confusables_data.get(other, ())) > 1:
        return other
    return min(char, other)
