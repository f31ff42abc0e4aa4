"""Phones written without a country code, read with the regions of each row."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from insightloop.errors import ConfigError
from insightloop.ingest.sources import SourceDeclaration, apply_mapping, parse_sources

TEAMS = {"SE": "SE", "EN": "GB,IE,US"}


def _apply(mapping: dict[str, Any], columns: dict[str, list[Any]], **options: Any) -> dict:
    source = SourceDeclaration.model_validate(
        {"name": "t", "kind": "file", "path": "t.csv", "entity": "interactions"}
        | {"mapping": mapping, "options": options}
    )
    return apply_mapping(source, pa.table(columns)).to_pydict()


def test_each_row_is_read_with_its_teams_countries_in_order() -> None:
    region = {"split": "agent", "sep": "-", "part": 1, "value_map": TEAMS}
    out = _apply(
        {"interaction_id": "id", "phone": {"column": "phone", "region": region}},
        {
            "id": ["1", "2", "3", "4", "5", "6"],
            "phone": [
                "076-242 50 78",
                "07790 647191",
                "083 898 3491",
                "(212) 579-8161",
                "12",
                "0701234567",
            ],
            "agent": ["AGT-SE-1", "AGT-EN-2", "AGT-EN-2", "AGT-EN-3", "AGT-EN-3", "AGT-XX-1"],
        },
        region="SE",
    )
    assert out["phone"] == [
        "+46762425078",  # Swedish team: Sweden
        "+447790647191",  # English team: the UK first,
        "+353838983491",  # then Ireland,
        "+12125798161",  # then the US
        None,
        "+46701234567",  # no team in the map: the source's region
    ]
    assert out["phone__reason"][4] == "phone_too_short"
    assert out["phone_raw"][0] == "076-242 50 78"


def test_a_fixed_list_of_regions() -> None:
    out = _apply(
        {"interaction_id": "id", "phone": {"column": "phone", "region": "ie, us"}},
        {"id": ["1", "2"], "phone": ["083 898 3491", "(212) 579-8161"]},
    )
    assert out["phone"] == ["+353838983491", "+12125798161"]


@pytest.mark.parametrize(
    ("transform", "message"),
    [
        ({"column": "phone", "region": "XX"}, "region 'XX'"),
        ({"column": "phone", "region": {"column": "team", "value_map": {"A": "SE,ZZ"}}}, "ZZ"),
        ({"column": "phone", "region": {"column": "team", "cast": "int"}}, "per-row region"),
    ],
)
def test_unusable_regions_are_refused(transform: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_sources(
            {
                "t": {"kind": "file", "path": "t.csv", "entity": "interactions"}
                | {"mapping": {"interaction_id": "id", "phone": transform}}
            }
        )


def test_a_region_on_a_column_that_is_not_a_phone_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"notes\.region: only phone numbers"):
        parse_sources(
            {
                "t": {"kind": "file", "path": "t.csv", "entity": "interactions"}
                | {"mapping": {"interaction_id": "id", "notes": {"column": "x", "region": "SE"}}}
            }
        )
