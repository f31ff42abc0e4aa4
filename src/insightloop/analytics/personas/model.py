"""The fitted persona model and its self-describing, hash-checked JSON file.

The file holds everything a re-run needs to keep personas stable: the feature transform, the
centroids in the standardised space, and each persona's id and label. Its ``sha256`` is the hash
of the canonical JSON of every other field; :meth:`PersonaModel.load` refuses a file whose hash
does not match, of another kind, or of a newer format.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from insightloop.__about__ import __version__
from insightloop.analytics.personas.settings import PersonaError
from insightloop.analytics.personas.transform import FeatureTransform

__all__ = ["FORMAT_VERSION", "MODEL_KIND", "Persona", "PersonaModel", "persona_id"]

MODEL_KIND = "insightloop.personas"
FORMAT_VERSION = 1


def persona_id(number: int) -> str:
    """The id of the ``number``-th persona ever created by a lineage of models (``P01``...)."""
    return f"P{number:02d}"


@dataclass(frozen=True)
class Persona:
    """One persona: its stable id, its label and its centroid in the standardised space."""

    persona_id: str
    label: str
    centroid: tuple[float, ...]


@dataclass(frozen=True)
class PersonaModel:
    """A fitted segmentation: transform, personas and how they were found.

    Attributes
    ----------
    transform
        The fitted feature transform (applied as is by re-runs and by ``assign_personas``).
    personas
        The personas, largest first at fitting time.
    feature_columns
        The feature columns asked for (``transform.dropped`` says which were left out, and why).
    id_column
        The customer id column.
    categorical_columns, value_column
        The descriptive columns the cards were built from.
    scores
        Mean silhouette per candidate number of personas.
    settings
        The settings of the fit.
    next_id
        Number of the next new persona id: ids are never reused, even for retired personas.
    created_utc, version
        When, and by which insightloop release, the model was fitted.
    """

    transform: FeatureTransform
    personas: tuple[Persona, ...]
    feature_columns: tuple[str, ...]
    id_column: str = "customer_id"
    categorical_columns: tuple[str, ...] = ()
    value_column: str | None = None
    scores: dict[int, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    next_id: int = 1
    created_utc: str = ""
    version: str = __version__

    @property
    def k(self) -> int:
        """Number of personas."""
        return len(self.personas)

    @property
    def features(self) -> tuple[str, ...]:
        """The feature columns actually used (read by the transform)."""
        return self.transform.features

    @property
    def centroids(self) -> np.ndarray:
        """``(k, d)`` centroids in the standardised space, in the order of :attr:`personas`."""
        return np.array([p.centroid for p in self.personas], dtype=np.float64)

    @property
    def persona_ids(self) -> tuple[str, ...]:
        """Persona ids in the order of :attr:`personas`."""
        return tuple(p.persona_id for p in self.personas)

    @property
    def labels(self) -> dict[str, str]:
        """Label per persona id."""
        return {p.persona_id: p.label for p in self.personas}

    def to_dict(self) -> dict[str, Any]:
        """The model as a JSON-ready document, without its hash."""
        return {
            "kind": MODEL_KIND,
            "format_version": FORMAT_VERSION,
            "insightloop_version": self.version,
            "created_utc": self.created_utc,
            "id_column": self.id_column,
            "feature_columns": list(self.feature_columns),
            "features": list(self.features),
            "categorical_columns": list(self.categorical_columns),
            "value_column": self.value_column,
            "settings": self.settings,
            "transform": self.transform.to_dict(),
            "space": list(self.transform.output_names),
            "personas": [
                {"persona_id": p.persona_id, "label": p.label, "centroid": list(p.centroid)}
                for p in self.personas
            ],
            "next_id": self.next_id,
            "scores": {str(k): v for k, v in sorted(self.scores.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PersonaModel:
        """Rebuild a model from :meth:`to_dict` output (the hash is checked by :meth:`load`)."""
        return cls(
            transform=FeatureTransform.from_dict(data["transform"]),
            personas=tuple(
                Persona(str(p["persona_id"]), str(p["label"]), tuple(map(float, p["centroid"])))
                for p in data["personas"]
            ),
            feature_columns=tuple(data["feature_columns"]),
            id_column=str(data["id_column"]),
            categorical_columns=tuple(data["categorical_columns"]),
            value_column=data["value_column"],
            scores={int(k): float(v) for k, v in data["scores"].items()},
            settings=dict(data["settings"]),
            next_id=int(data["next_id"]),
            created_utc=str(data["created_utc"]),
            version=str(data["insightloop_version"]),
        )

    def save(self, path: str | Path) -> Path:
        """Write the model to ``path`` as JSON with its SHA-256; returns the path."""
        document = self.to_dict()
        document["sha256"] = _digest(document)
        target = Path(path)
        target.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path) -> PersonaModel:
        """Read a model written by :meth:`save`, verifying its kind, format and hash.

        Raises
        ------
        PersonaError
            The file is missing, not JSON, not a persona model, of a newer format, altered
            after it was saved (hash mismatch) or incomplete.
        """
        source = Path(path)
        refit = "Fit the personas again with fit_personas(...) and save the new model."
        try:
            document = json.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PersonaError(
                f"no persona model at {source}", hint="Check the path, or fit and save one."
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PersonaError(
                f"{source} is not a readable JSON model: {exc}", hint=refit
            ) from None
        if not isinstance(document, dict) or document.get("kind") != MODEL_KIND:
            kind = document.get("kind") if isinstance(document, dict) else type(document).__name__
            raise PersonaError(
                f"{source} is not a persona model (kind {kind!r}, expected {MODEL_KIND!r})",
                hint="Pass the file written by PersonaModel.save.",
            )
        if document.get("format_version") != FORMAT_VERSION:
            raise PersonaError(
                f"{source} has format version {document.get('format_version')!r}; this release "
                f"(insightloop {__version__}) reads version {FORMAT_VERSION}",
                hint="Load it with the insightloop release that wrote it, or fit again.",
            )
        expected = document.pop("sha256", None)
        actual = _digest(document)
        if expected != actual:
            raise PersonaError(
                f"{source} fails its integrity check: the SHA-256 of its content is {actual}, "
                f"the file says {expected}",
                hint="The file was changed after it was saved. " + refit,
            )
        try:
            return cls.from_dict(document)
        except (KeyError, TypeError, ValueError) as exc:
            raise PersonaError(f"{source} is incomplete: {exc!r}", hint=refit) from None


def _digest(document: Mapping[str, Any]) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
