"""Model files: round trip, tampering, unknown kinds."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from insightloop.__about__ import __version__
from insightloop.analytics.clv import (
    BetaGeoModel,
    ModelFileError,
    ParetoNBDModel,
    fit_clv,
    load_model,
    save_model,
)
from insightloop.analytics.clv.model_file import canonical_json
from tests.analytics.clv.conftest import CALIBRATION_END


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory, cdnow_transactions: pd.DataFrame) -> Path:
    result = fit_clv(cdnow_transactions, at="date", calibration_end=CALIBRATION_END)
    path = tmp_path_factory.mktemp("models") / "clv.json"
    result.save(path)
    return path


def test_round_trip_keeps_models_and_metadata(saved: Path) -> None:
    loaded = load_model(saved)
    assert isinstance(loaded.purchase_model, BetaGeoModel)
    assert loaded.purchase_model.params == pytest.approx(
        {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}, rel=1e-3
    )
    assert loaded.purchase_model.fit_info is not None
    assert loaded.purchase_model.fit_info.n_customers == 2357
    assert loaded.spend_model is not None
    assert round(loaded.spend_model.gamma, 2) == 15.44
    assert loaded.insightloop_version == __version__
    assert loaded.n_customers == 2357
    assert loaded.training_window["first_transaction"] == "1997-01-01"
    assert loaded.training_window["calibration_end"] == "1997-09-30"
    assert loaded.config["model"] == "bgnbd"
    assert loaded.config["columns"] == {"customer": "customer_id", "at": "date", "amount": "amount"}
    assert loaded.created_at.endswith("Z")
    document = json.loads(saved.read_text())
    assert document["format"] == "insightloop-clv-model"
    assert len(loaded.sha256) == 64
    assert loaded.sha256 == document["sha256"]


def test_a_changed_file_is_refused(saved: Path, tmp_path: Path) -> None:
    document = json.loads(saved.read_text())
    document["payload"]["params"]["r"] = 0.5
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match="changed after it was saved") as caught:
        load_model(tampered)
    assert caught.value.hint is not None
    assert "Re-fit" in caught.value.hint


def test_an_unknown_kind_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    save_model(path, ParetoNBDModel(r=0.55, alpha=10.58, s=0.61, beta=11.67))
    document = json.loads(path.read_text())
    assert load_model(path).purchase_model.kind == "paretonbd"
    document["payload"]["kind"] = "mbgnbd"
    document["sha256"] = (
        __import__("hashlib").sha256(canonical_json(document["payload"])).hexdigest()
    )
    path.write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match="kind 'mbgnbd'") as caught:
        load_model(path)
    assert "bgnbd, paretonbd" in caught.value.message
    assert caught.value.hint is not None


@pytest.mark.parametrize("content", ["not json", "[]", '{"format": "other"}'])
def test_other_files_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "model.json"
    path.write_text(content)
    with pytest.raises(ModelFileError):
        load_model(path)
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "missing.json")
