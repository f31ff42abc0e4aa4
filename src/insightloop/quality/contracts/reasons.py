"""The reason codes of contract rules, the default severities of normaliser codes, and the error.

A contract rule reports a violation as ``<code>:<column>`` (for example ``required_missing:email``
or ``out_of_range:nps``) so that the quarantine viewer shows which rule and which column a row broke
without ever showing the value. A ``format`` rule reports the normaliser's own code unchanged (such
as ``email_invalid_syntax``): those codes already name the kind of value. Codes, once published
here, keep their spelling and meaning, because they are stored in the ``quarantine`` table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Literal

from insightloop.errors import InsightloopError

__all__ = [
    "DEFAULT_FORMAT_SEVERITIES",
    "EXACT_DUPLICATE",
    "RULE_CODES",
    "ContractError",
    "Severity",
    "qualified",
]

Severity = Literal["reject", "warn"]

EXACT_DUPLICATE = "exact_duplicate"
"""Counted, not attached to rows: an exact copy of an earlier row of the batch is skipped."""

RULE_CODES: Mapping[str, str] = MappingProxyType(
    {
        "required_missing": "The column is null, or blank after trimming whitespace.",
        "value_not_allowed": "The value is not one of the rule's allowed values.",
        "out_of_range": "The value is below the rule's minimum or above its maximum (inclusive).",
        "pattern_mismatch": "The value does not match the rule's regular expression as a whole.",
        "duplicate_key": "An earlier row of the batch has the same key (but is not identical).",
        "key_already_loaded": "The key is among the keys already loaded.",
        "reference_missing": "The value is not among the known keys of the referenced entity.",
    }
)
"""Every code a contract rule reports (qualified with the column, ``<code>:<column>``)."""

DEFAULT_FORMAT_SEVERITIES: Mapping[str, Severity] = MappingProxyType(
    {"email_placeholder": "warn", "name_placeholder": "warn", "phone_junk": "warn"}
)
"""Normaliser codes that only warn by default; every other normaliser code rejects the row.

These are the normalisers' warnings (``insightloop.ingest.normalise.reasons.REASONS``; quality
sits below ingest and cannot import it, a test keeps the two in step) plus ``phone_junk``:
``0000000`` is the phone's placeholder, typed by till staff where a number is asked for, as
``noemail@…`` is the e-mail's. The normaliser drops the value, but the record is as good as one
without a phone, so it is loaded with a warning rather than quarantined.
"""


def qualified(code: str, columns: Sequence[str]) -> str:
    """The reason code a rule reports: its code and the column(s) it checks.

    Examples
    --------
    >>> qualified("required_missing", ["email"])
    'required_missing:email'
    >>> qualified("duplicate_key", ["order_id", "line_number"])
    'duplicate_key:order_id+line_number'
    """
    return f"{code}:{'+'.join(columns)}"


class ContractError(InsightloopError):
    """A contract definition is invalid, or a batch cannot be checked against its contract.

    Parameters
    ----------
    message
        What is wrong. Never contains a value of a customer record.
    problems
        Every problem found, one line each (entity, rule and fix); all are reported at once.
    hint
        What to do next.

    Examples
    --------
    >>> err = ContractError("2 problems", problems=["a", "b"], hint="fix them")
    >>> err.code, err.problems
    ('contract_error', ['a', 'b'])
    """

    code = "contract_error"

    def __init__(
        self, message: str, *, problems: Sequence[str] = (), hint: str | None = None
    ) -> None:
        self.problems = list(problems)
        if self.problems:
            message = message + "".join(f"\n  - {p}" for p in self.problems)
        super().__init__(message, hint=hint)
