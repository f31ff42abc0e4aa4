"""The fields of the golden record, the survivorship rules, and their defaults.

A field group is one or more ``customers`` columns chosen together from one record: each name,
e-mail, phone, birth date and language on its own, and the ``address`` (street, postcode, city,
country) as one unit so an address is never mixed from two records. ``[identity] survivorship``
names a rule per group; the rest keep their defaults.

Examples
--------
>>> from insightloop.identity.config import identity_config
>>> survivorship_rules(identity_config({"survivorship": {"email": "source_priority"}}))["email"]
'source_priority'
>>> survivorship_rules(identity_config({}))["first_name"]
'most_frequent'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from insightloop.errors import ConfigError
from insightloop.identity.config import IdentityConfig

__all__ = ["FIELD_GROUPS", "GOLDEN_FIELDS", "GROUP_OF", "RULES", "FieldGroup", "survivorship_rules"]

Rule = Literal["source_priority", "most_recent", "most_frequent", "most_complete"]
RULES: tuple[str, ...] = ("source_priority", "most_recent", "most_frequent", "most_complete")


@dataclass(frozen=True)
class FieldGroup:
    """Golden-record columns chosen together from one record, and their default rule."""

    name: str
    columns: tuple[str, ...]
    default_rule: Rule
    kind: Literal["text", "date"] = "text"


FIELD_GROUPS: tuple[FieldGroup, ...] = (
    # Names by agreement: a till's capitals or a one-off typo lose to the spelling most
    # systems share.
    FieldGroup("first_name", ("first_name",), "most_frequent"),
    FieldGroup("last_name", ("last_name",), "most_frequent"),
    # Contact details change; the newest one is the one that reaches the customer.
    FieldGroup("email", ("email",), "most_recent"),
    FieldGroup("phone", ("phone",), "most_recent"),
    # A birth date does not change: disagreement is a typo, which fewer records carry.
    FieldGroup("birth_date", ("birth_date",), "most_frequent", "date"),
    FieldGroup("address", ("street", "postcode", "city", "country"), "most_recent"),
    FieldGroup("language", ("language",), "most_recent"),
)
GOLDEN_FIELDS: tuple[str, ...] = tuple(c for g in FIELD_GROUPS for c in g.columns)
GROUP_OF: dict[str, FieldGroup] = {c: g for g in FIELD_GROUPS for c in g.columns}


def survivorship_rules(config: IdentityConfig) -> dict[str, str]:
    """The rule of every field group: the defaults, overridden by ``[identity] survivorship``.

    Raises
    ------
    ConfigError
        Naming every unknown field and rule at once.
    """
    problems: list[str] = []
    groups = {g.name for g in FIELD_GROUPS}
    for name, rule in config.survivorship.items():
        if name in ("street", "postcode", "city", "country"):
            problems.append(
                f"identity.survivorship.{name}: street, postcode, city and country are chosen "
                "together; set identity.survivorship.address instead"
            )
        elif name not in groups:
            problems.append(f"identity.survivorship.{name}: no such golden-record field")
        if rule not in RULES:
            problems.append(f"identity.survivorship.{name} = {rule!r}: no such rule")
    if problems:
        raise ConfigError(
            "; ".join(problems) + ".",
            hint=f"Fields: {', '.join(sorted(groups))}. Rules: {', '.join(RULES)}. "
            "See docs/profiles.md.",
        )
    return {g.name: config.survivorship.get(g.name, g.default_rule) for g in FIELD_GROUPS}
