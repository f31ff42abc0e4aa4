"""Model files that describe themselves: JSON with kind, parameters, version, config, training
window, size, creation time and a SHA-256 hash of the canonical payload.

Layout::

    {"format": "insightloop-clv-model", "format_version": 1,
     "sha256": "<hex digest of the canonical payload>",
     "payload": {"kind": "bgnbd", "params": {...}, "fit": {...},
                 "spend_model": {"kind": "gamma_gamma", "params": {...}, "fit": {...}} | null,
                 "insightloop_version": "0.1.0", "config": {...},
                 "training_window": {"first_transaction": "1997-01-01", ...},
                 "n_customers": 2357, "created_at": "2025-01-01T00:00:00Z"}}

The canonical payload is its JSON with sorted keys, no whitespace and UTF-8 encoding; loading
recomputes the hash, so a file changed after it was written is refused.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from insightloop.__about__ import __version__
from insightloop.analytics.clv.bgnbd import BetaGeoModel
from insightloop.analytics.clv.errors import ModelFileError
from insightloop.analytics.clv.fitting import FitInfo
from insightloop.analytics.clv.gamma_gamma import GammaGammaModel
from insightloop.analytics.clv.paretonbd import ParetoNBDModel

__all__ = ["FORMAT", "FORMAT_VERSION", "ModelFile", "canonical_json", "load_model", "save_model"]

FORMAT = "insightloop-clv-model"
FORMAT_VERSION = 1

PurchaseModels = BetaGeoModel | ParetoNBDModel
_PURCHASE_KINDS: dict[str, type[BetaGeoModel] | type[ParetoNBDModel]] = {
    BetaGeoModel.kind: BetaGeoModel,
    ParetoNBDModel.kind: ParetoNBDModel,
}
_REFIT = "Re-fit and save the model again (`insightloop clv fit ... --model-file PATH`)."


@dataclass(frozen=True)
class ModelFile:
    """A saved model with everything it says about itself."""

    purchase_model: PurchaseModels
    spend_model: GammaGammaModel | None = None
    config: dict[str, Any] = field(default_factory=dict)
    training_window: dict[str, Any] = field(default_factory=dict)
    n_customers: int | None = None
    insightloop_version: str = __version__
    created_at: str = ""
    sha256: str = ""


def canonical_json(payload: dict[str, Any]) -> bytes:
    """The bytes that are hashed: sorted keys, no whitespace, UTF-8, no NaN."""
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _finite(value: Any) -> Any:
    """JSON has no NaN: standard errors that could not be computed become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def _model_entry(model: PurchaseModels | GammaGammaModel) -> dict[str, Any]:
    fit = model.fit_info.to_dict() if model.fit_info is not None else None
    return {"kind": model.kind, "params": dict(model.params), "fit": _finite(fit)}


def save_model(
    path: str | Path,
    purchase_model: PurchaseModels,
    spend_model: GammaGammaModel | None = None,
    *,
    config: dict[str, Any] | None = None,
    training_window: dict[str, Any] | None = None,
    n_customers: int | None = None,
) -> str:
    """Write a model file; returns the SHA-256 of its payload.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "clv.json")
    >>> digest = save_model(path, BetaGeoModel(r=0.243, alpha=4.414, a=0.793, b=2.426))
    >>> load_model(path).purchase_model.alpha
    4.414
    """
    payload: dict[str, Any] = {
        **_model_entry(purchase_model),
        "spend_model": _model_entry(spend_model) if spend_model is not None else None,
        "insightloop_version": __version__,
        "config": dict(config or {}),
        "training_window": dict(training_window or {}),
        "n_customers": n_customers,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    try:
        digest = hashlib.sha256(canonical_json(payload)).hexdigest()
    except (TypeError, ValueError) as exc:
        raise ModelFileError(
            f"The model cannot be saved: {exc}.",
            hint="Config and training window must hold JSON values (text, numbers, lists).",
        ) from None
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "sha256": digest,
                "payload": payload}  # fmt: skip
    Path(path).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return digest


def _fit_info(entry: Any) -> FitInfo | None:
    if not entry:
        return None
    errors = {k: (float("nan") if v is None else v) for k, v in entry["standard_errors"].items()}
    return FitInfo(
        log_likelihood=entry["log_likelihood"],
        n_customers=entry["n_customers"],
        n_distinct=entry["n_distinct"],
        iterations=entry["iterations"],
        standard_errors=errors,
    )


def load_model(path: str | Path) -> ModelFile:
    """Read a model file, verifying its hash and kind.

    Raises
    ------
    ModelFileError
        When the file is missing or not a model file, its hash does not match its content,
        or its kind is unknown to this release.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{path} does not exist.", hint=_REFIT) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(f"{path.name} is not a JSON model file.", hint=_REFIT) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(f"{path.name} is not an insightloop CLV model file.", hint=_REFIT)
    version = document.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path.name} has model file format {version}; this release reads up to "
            f"{FORMAT_VERSION}.",
            hint=f"Upgrade insightloop (this is {__version__}), or {_REFIT[0].lower()}{_REFIT[1:]}",
        )
    payload = document.get("payload")
    if not isinstance(payload, dict):
        raise ModelFileError(f"{path.name} has no payload.", hint=_REFIT)
    digest = hashlib.sha256(canonical_json(payload)).hexdigest()
    if digest != document.get("sha256"):
        raise ModelFileError(
            f"{path.name} was changed after it was saved: its content does not match its "
            "SHA-256 hash.",
            hint="Do not edit model files by hand. Restore the original file, or " + _REFIT,
        )
    kind = payload.get("kind")
    if kind not in _PURCHASE_KINDS:
        raise ModelFileError(
            f"{path.name} holds a model of kind '{kind}', which this release does not know "
            f"(known: {', '.join(sorted(_PURCHASE_KINDS))}).",
            hint=f"Load it with the insightloop release that wrote it "
            f"({payload.get('insightloop_version')}), or " + _REFIT,
        )
    try:
        purchase = _PURCHASE_KINDS[kind](**payload["params"], fit_info=_fit_info(payload["fit"]))
        spend_entry = payload.get("spend_model")
        spend = None
        if spend_entry is not None:
            if spend_entry.get("kind") != GammaGammaModel.kind:
                raise ModelFileError(
                    f"{path.name} holds a spend model of unknown kind '{spend_entry.get('kind')}'.",
                    hint=_REFIT,
                )
            spend = GammaGammaModel(**spend_entry["params"], fit_info=_fit_info(spend_entry["fit"]))
    except (KeyError, TypeError):
        raise ModelFileError(f"{path.name} lacks model parameters.", hint=_REFIT) from None
    return ModelFile(
        purchase_model=purchase,
        spend_model=spend,
        config=payload.get("config") or {},
        training_window=payload.get("training_window") or {},
        n_customers=payload.get("n_customers"),
        insightloop_version=str(payload.get("insightloop_version")),
        created_at=str(payload.get("created_at")),
        sha256=digest,
    )
