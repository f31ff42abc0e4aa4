"""The reason-code registry, the per-source options, and the documentation of both."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from insightloop.errors import ConfigError
from insightloop.ingest import normalise
from insightloop.ingest.normalise import REASONS, SourceOptions

DOC = Path(__file__).resolve().parents[3] / "docs" / "normalisation.md"
SOURCE = Path(normalise.__file__).parent


def test_codes_are_snake_case_with_a_kind_prefix() -> None:
    prefixes = ("email_", "phone_", "name_", "address_", "postcode_", "country_", "date_")
    for code, reason in REASONS.items():
        assert reason.code == code
        assert re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", code)
        assert code.startswith((*prefixes, "amount_"))


def test_every_code_in_the_source_is_registered() -> None:
    used = set()
    for module in SOURCE.glob("*.py"):
        used |= set(
            re.findall(
                r'"((?:email|phone|name|address|postcode|country|date|amount)_[a-z_]+)"',
                module.read_text(encoding="utf-8"),
            )
        )
    # Two identifiers share the prefixes of codes without being codes.
    assert used - {"date_formats", "country_key"} <= set(REASONS)


def test_every_code_is_documented() -> None:
    doc = DOC.read_text(encoding="utf-8")
    for code, reason in REASONS.items():
        assert f"`{code}`" in doc, f"docs/normalisation.md does not list {code}"
        assert reason.severity in ("reject", "warn")


def test_source_options_are_checked_together() -> None:
    options = SourceOptions(region="se", time_zone="Europe/Stockholm", currency="sek")
    assert options.as_dict() == {
        "region": "SE",
        "day_first": None,
        "date_formats": (),
        "time_zone": "Europe/Stockholm",
        "decimal_comma": None,
        "currency": "SEK",
    }
    with pytest.raises(ConfigError) as raised:
        SourceOptions(region="XX", time_zone="Nowhere", currency="KRONOR", date_formats=("x",))
    for name in ("region", "time_zone", "currency", "date_formats"):
        assert name in raised.value.message
