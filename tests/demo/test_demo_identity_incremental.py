"""Incremental identity resolution on the demo company: records that arrive later are matched
against the customers already resolved with the saved model, and a full rebuild (every pair
scored with the same model) gives the same clusters (docs/identity.md, "Incremental
resolution")."""

from __future__ import annotations

from pathlib import Path

from benchmarks.identity_accuracy import score_identity
from insightloop import Workspace
from insightloop.config import load_settings
from insightloop.identity.config import identity_config
from insightloop.identity.idmap import CARRIERS_TABLE
from insightloop.identity.resolve import rebuild_identifier_map

# isort: off
# The CLI's entry module first: it registers every command in its order (docs/cli.md).
from insightloop.cli.main import app  # noqa: F401
from insightloop.cli.demo_cmds import declare_demo_sources

# isort: on
from tests.demo.companies import Company

#: Loaded first; the China CRM, the web orders and the events arrive later.
_FIRST = ("crm_hq", "crm_nordics", "loyalty_members", "pos_receipts")


def _clusters(ws: Workspace) -> set[frozenset[tuple[str, str]]]:
    rows = ws.engine.records(ws.engine.table("customer_map"))
    groups: dict[str, set[tuple[str, str]]] = {}
    for r in rows:
        groups.setdefault(r["customer_id"], set()).add((r["source"], r["source_key"]))
    return {frozenset(g) for g in groups.values()}


def _mapping(ws: Workspace) -> dict[tuple[str, str], tuple[str, int, str]]:
    rows = ws.engine.records(ws.engine.table("identifier_map"))
    return {
        (r["id_type"], r["id_value"]): (r["customer_id"], r["records"], r["rule"]) for r in rows
    }


def test_later_records_resolve_incrementally_as_a_rebuild_would(
    company: Company, tmp_path: Path
) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        declare_demo_sources(ws, company.root)
        ws.load(sources=list(_FIRST))
        first = ws.run(["resolve"])
        assert first.status == "succeeded", first.error
        assert first.step_records[0].summary["matching"]["mode"] == "trained"
        model = ws.layout.models_dir / "identity" / "identity-model.json"
        assert model.exists()

        ws.load()
        ids_before = {
            (r["source"], r["source_key"]): r["customer_id"]
            for r in ws.engine.records(ws.engine.table("customer_map"))
        }
        # Most records are new here: allow the incremental path for the test.
        text = ws.layout.config_file.read_text(encoding="utf-8")
        ws.layout.config_file.write_text(
            text.replace("[identity]\n", "[identity]\nincremental_max_share = 1.0\n", 1),
            encoding="utf-8",
        )
        ws.settings = load_settings(ws.layout.config_file)
        later = ws.run(["resolve"])
        assert later.status == "succeeded", later.error
        summary = later.step_records[0].summary["matching"]
        assert summary["mode"] == "incremental"
        assert summary["new_records"] > 0
        incremental = _clusters(ws)
        # The identifier map, updated from what changed, is what mapping every value gives.
        mapped = _mapping(ws)
        ws.engine.drop_table(CARRIERS_TABLE)
        rebuild_identifier_map(ws.engine, identity_config(ws.settings.identity), "check")
        assert _mapping(ws) == mapped
        score = score_identity(ws.engine, identity_config(ws.settings.identity), company.root)
        assert score.precision >= 0.995, score
        assert score.recall >= 0.94, score
        # Customers resolved before keep their ids.
        after = {
            (r["source"], r["source_key"]): r["customer_id"]
            for r in ws.engine.records(ws.engine.table("customer_map"))
        }
        kept = sum(after.get(k) == v for k, v in ids_before.items())
        assert kept >= 0.99 * len(ids_before)

        report = ws.rebuild_identities()
        assert report.matching["mode"] == "rescored"
        # Every score uses the model's saved term frequencies, so the rebuild scores each pair
        # as the incremental run did.
        assert _clusters(ws) == incremental
