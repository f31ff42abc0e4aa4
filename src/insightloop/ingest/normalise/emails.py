"""E-mail addresses: one spelling per mailbox, checked for syntax only (never over the network).

Decision: the **whole** address is lower-cased, the local part included. RFC 5321 lets a server
treat ``Anna@x.se`` and ``anna@x.se`` as different mailboxes, but no large provider does, and
identity resolution needs one spelling per person; the original stays beside the normalised value.

Plain ASCII addresses (nearly all of them) are accepted by a compiled pattern that admits only
what email-validator admits too (a property test holds it to that); anything else goes through
email-validator with ``check_deliverability=False``, which also turns punycode domains into
Unicode (``xn--fsqu00a.xn--fiqs8s`` becomes ``例子.中国``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from insightloop.ingest.normalise.reasons import Normalised

__all__ = ["FAST_EMAIL", "PLACEHOLDER_LOCAL_PARTS", "normalise_email"]

FAST_EMAIL = re.compile(
    r"[a-z0-9_%+-]{1,64}(?:\.[a-z0-9_%+-]{1,64}){0,8}@"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,8}[a-z]{2,63}"
)
"""Lower-case ASCII addresses that email-validator accepts unchanged (with the checks below)."""

PLACEHOLDER_LOCAL_PARTS = frozenset(
    {
        "asdf",
        "dummy",
        "fake",
        "n.a",
        "na",
        "no-email",
        "no.email",
        "no_email",
        "nobody",
        "noemail",
        "nomail",
        "none",
        "noone",
        "null",
        "test",
        "unknown",
        "xxx",
    }
)
"""Local parts that front desks type when the customer gave no address (warned, not rejected)."""

_SPECIAL_USE = tuple(SPECIAL_USE_DOMAIN_NAMES)
_MAILTO = re.compile(r"mailto:", re.IGNORECASE)
_BRACKETED = re.compile(r"<([^<>]*)>$")


def _unwrap(text: str) -> str:
    """``Anna <a@x.se>``, ``<a@x.se>`` and ``mailto:a@x.se?subject=hi`` become ``a@x.se``."""
    text = text.strip()
    bracketed = _BRACKETED.search(text)
    if bracketed:
        text = bracketed.group(1).strip()
    if _MAILTO.match(text):
        text = text[7:].partition("?")[0].strip()
    return text


def _fast_ok(text: str) -> bool:
    if len(text) > 254 or not FAST_EMAIL.fullmatch(text):
        return False
    local, _, domain = text.partition("@")
    if len(local) > 64 or len(domain) > 253 or "--" in domain:
        # "--" may be punycode (xn--), which the validator decodes: leave those to it.
        return False
    return not any(domain == name or domain.endswith("." + name) for name in _SPECIAL_USE)


def _is_placeholder(address: str) -> bool:
    local, _, domain = address.partition("@")
    return local in PLACEHOLDER_LOCAL_PARTS or domain.split(".", 1)[0] in ("test", "noemail")


@lru_cache(maxsize=65_536)
def _normalise(text: str) -> Normalised[str]:
    text = _unwrap(unicodedata.normalize("NFC", text))
    if not text:
        return Normalised(None, "email_empty")
    text = unicodedata.normalize("NFC", text.lower())
    if not _fast_ok(text):
        if "@" not in text:
            return Normalised(None, "email_missing_at")
        try:
            checked = validate_email(text, check_deliverability=False)
        except EmailNotValidError:
            return Normalised(None, "email_invalid_syntax")
        text = unicodedata.normalize("NFC", checked.normalized.lower())
    return Normalised(text, "email_placeholder" if _is_placeholder(text) else None)


def normalise_email(text: str | None) -> Normalised[str]:
    """Normalise one e-mail address.

    Trims, applies Unicode NFC, removes a display name with angle brackets and a ``mailto:``
    prefix, lower-cases the whole address and checks its syntax.

    Parameters
    ----------
    text
        The address as received.

    Returns
    -------
    Normalised[str]
        The address, or ``None`` with ``email_empty``, ``email_missing_at`` or
        ``email_invalid_syntax``; a well-known placeholder keeps its value and gets the warning
        ``email_placeholder``.

    Examples
    --------
    >>> normalise_email("  Anna.Svensson@Mejl.Example ")
    Normalised(value='anna.svensson@mejl.example', reason=None)
    >>> normalise_email("Anna <mailto:ANNA@X.SE>").value
    'anna@x.se'
    >>> normalise_email("anna at x.se")
    Normalised(value=None, reason='email_missing_at')
    >>> normalise_email("noemail@store.example").reason
    'email_placeholder'
    """
    if text is None:
        return Normalised(None, "email_empty")
    return _normalise(text)
