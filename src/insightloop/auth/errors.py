"""The error of the auth package: :class:`AuthError`, with a code the API maps to a status."""

from __future__ import annotations

from typing import Literal

from insightloop.errors import InsightloopError

__all__ = ["AuthError", "AuthErrorCode"]

#: ``not_found`` (HTTP 404), ``conflict`` (409) or ``invalid_request`` (400).
AuthErrorCode = Literal["not_found", "conflict", "invalid_request"]


class AuthError(InsightloopError):
    """A user, token or write key cannot be created, found or changed as asked.

    Parameters
    ----------
    message
        What is wrong; names users, token ids and key ids, never a password or a secret.
    code
        ``not_found``, ``conflict`` or ``invalid_request``.
    hint
        What to do next.

    Examples
    --------
    >>> error = AuthError("No user 'ann'.", code="not_found", hint="See `insightloop users list`.")
    >>> error.code
    'not_found'
    """

    code: str = "invalid_request"

    def __init__(
        self, message: str, *, code: AuthErrorCode = "invalid_request", hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
