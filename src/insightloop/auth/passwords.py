"""Passwords: generated with :mod:`secrets`, checked for strength, hashed with argon2id.

The hasher defaults to argon2-cffi's own parameters (RFC 9106's low-memory profile at the time of
writing); tests pass a cheaper :class:`argon2.PasswordHasher`. Hashes record their parameters, so a
hash made with older parameters still verifies and is replaced at the next sign-in.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from insightloop.auth.errors import AuthError

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "Passwords",
    "check_password",
    "generate_password",
]

#: The shortest password accepted.
MIN_PASSWORD_LENGTH = 12
#: The longest password accepted (hashing a megabyte on every sign-in would be a cheap attack).
MAX_PASSWORD_LENGTH = 1024


def generate_password() -> str:
    """A new random password: 24 URL-safe characters (144 bits).

    Examples
    --------
    >>> len(generate_password()) >= 20
    True
    """
    return secrets.token_urlsafe(18)


def check_password(password: str, username: str) -> None:
    """Raise an :class:`AuthError` saying what to fix when ``password`` is too weak.

    The message never quotes the password.
    """
    how = "choose a longer one, or leave it out to have a strong one generated"
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(
            f"The password is too short ({len(password)} characters): it needs at least "
            f"{MIN_PASSWORD_LENGTH}.",
            code="invalid_request",
            hint=f"Use a password of {MIN_PASSWORD_LENGTH} characters or more: {how}.",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AuthError(
            f"The password is too long ({len(password)} characters): at most "
            f"{MAX_PASSWORD_LENGTH} are accepted.",
            code="invalid_request",
            hint="Use a shorter password, or leave it out to have one generated.",
        )
    if password.strip() != password or not password.strip():
        raise AuthError(
            "The password starts or ends with white space.",
            code="invalid_request",
            hint="Remove the leading and trailing spaces (a stray newline, often).",
        )
    if len(set(password)) < 4:
        raise AuthError(
            "The password is too easy to guess: it repeats a few characters.",
            code="invalid_request",
            hint=f"Use a password with more variety: {how}.",
        )
    if username and username.casefold() in password.casefold():
        raise AuthError(
            "The password is too easy to guess: it contains the username.",
            code="invalid_request",
            hint=f"Use a password without the username: {how}.",
        )


class Passwords:
    """Hashes and verifies passwords with one argon2 hasher.

    Parameters
    ----------
    hasher
        Default: ``PasswordHasher()``, argon2-cffi's secure defaults (argon2id).
    """

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches ``password_hash`` (``False`` for a malformed hash too)."""
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def verify_nobody(self, password: str) -> None:
        """Spend the time of one verification, for a user that does not exist.

        Signing in as an unknown user then takes as long as with a wrong password, so response
        times do not reveal which usernames exist.
        """
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(18))
        self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than the hasher's."""
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True
