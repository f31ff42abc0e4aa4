"""The model file describes itself, round-trips exactly and refuses to load when altered."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from insightloop.__about__ import __version__
from insightloop.analytics.personas import (
    PersonaError,
    PersonaModel,
    PersonaResult,
    assign_personas,
    fit_personas,
    persona_cards,
)


def test_the_file_round_trips(
    fitted: PersonaResult, planted: tuple[pa.Table, np.ndarray], tmp_path: Path
) -> None:
    path = fitted.model.save(tmp_path / "personas.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["kind"] == "insightloop.personas"
    assert document["insightloop_version"] == __version__
    assert document["features"] == list(fitted.model.features)
    assert document["created_utc"].endswith("+00:00")
    assert len(document["sha256"]) == 64
    assert len(document["space"]) == len(document["personas"][0]["centroid"])

    loaded = PersonaModel.load(path)
    assert loaded == fitted.model
    table, _ = planted
    assert assign_personas(loaded, table).equals(fitted.assignments)
    # Cards of a saved model over the same customers are the fitted cards (none is new now).
    assert persona_cards(loaded, table) == [replace(c, is_new=False) for c in fitted.cards]


def test_a_loaded_model_keeps_ids_on_rerun(
    fitted: PersonaResult, planted: tuple[pa.Table, np.ndarray], tmp_path: Path
) -> None:
    loaded = PersonaModel.load(fitted.model.save(tmp_path / "m.json"))
    again = fit_personas(planted[0], previous=loaded, value_column="revenue_365d")
    assert again.model.persona_ids == fitted.model.persona_ids
    assert again.new_persona_ids == ()


def test_a_tampered_file_is_refused(fitted: PersonaResult, tmp_path: Path) -> None:
    path = fitted.model.save(tmp_path / "personas.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["personas"][0]["label"] = "Renamed by hand"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(PersonaError, match="fails its integrity check") as info:
        PersonaModel.load(path)
    assert "changed after it was saved" in (info.value.hint or "")


def test_other_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PersonaError, match="no persona model at"):
        PersonaModel.load(tmp_path / "missing.json")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"kind": "insightloop.clv"}), encoding="utf-8")
    with pytest.raises(PersonaError, match="is not a persona model"):
        PersonaModel.load(other)
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(PersonaError, match="not a readable JSON model"):
        PersonaModel.load(broken)


def test_a_newer_format_is_refused(fitted: PersonaResult, tmp_path: Path) -> None:
    path = fitted.model.save(tmp_path / "personas.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["format_version"] = 99
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(PersonaError, match="format version 99"):
        PersonaModel.load(path)


def test_a_rerun_must_keep_the_previous_features(
    fitted: PersonaResult, planted: tuple[pa.Table, np.ndarray]
) -> None:
    table, _ = planted
    with pytest.raises(PersonaError, match="differ from the previous model") as info:
        fit_personas(table, feature_columns=["orders_365d", "share_store"], previous=fitted.model)
    assert "without previous" in (info.value.hint or "")
    with pytest.raises(PersonaError, match="missing column"):
        fit_personas(table.drop_columns(["share_app"]), previous=fitted.model)
