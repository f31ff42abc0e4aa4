"""Customer analysis scored against the demo company's truth:
``python -m benchmarks.analytics_accuracy --customers 20000``.

Generates the demo company (or reuses ``--dir``), runs the whole pipeline as ``make demo`` does,
then compares with ``truth/persons.parquet``, which the platform never reads:

- **probability alive**: the AUC of ``1 - p_alive`` for telling apart the customers who had
  dropped out by the end of the data (``alive_at_end``, what p_alive estimates), those who had
  by the end of the holdout (the same, or ``churned_in_holdout``), and, as the generator defines
  them, those who churn during the holdout (alive at the end of the data by definition: a high
  p_alive is right for them), with the mean ``p_alive`` of each group;
- **lifetime value**: the Spearman rank correlation of each customer's CLV over the holdout
  horizon with the value they really bought in the holdout (``holdout_value_eur``), and with the
  generator's own expectation of it (``expected_holdout_value_eur``);
- **personas**: the adjusted Rand index of the personas against the planted types, as the
  pipeline chose k, and with k fixed to the number of planted types; and, as the ceiling, that
  of a classifier trained on the planted types with the same features (cross-validated).

A truth person is the customer most of their records went to (``benchmarks.identity_accuracy``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from scipy.stats import spearmanr
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import adjusted_rand_score, roc_auc_score
from sklearn.model_selection import cross_val_predict

from benchmarks.identity_accuracy import person_owners

__all__ = ["score_analytics"]


def score_analytics(workspace: Path, company: Path) -> dict[str, Any]:
    """Every figure of the module docstring, for a workspace the pipeline has run on."""
    from insightloop import Workspace
    from insightloop.analytics.activity import activity
    from insightloop.analytics.attributes import measures_day
    from insightloop.analytics.config import analytics_config
    from insightloop.analytics.personas import fit_personas
    from insightloop.analytics.workspace_personas import DESCRIBED, features_expr
    from insightloop.identity.config import identity_config

    persons = pq.read_table(company / "truth" / "persons.parquet").to_pandas()
    persons = persons.rename(columns={"persona": "true_persona"})
    with Workspace.open(workspace, read_only=True) as ws:
        owners = person_owners(ws.engine, company)
        clv = ws.engine.to_pyarrow(ws.engine.table("customer_clv")).to_pandas()
        personas = ws.engine.to_pyarrow(ws.engine.table("customer_personas")).to_pandas()
        config = analytics_config(ws.settings.analytics)
        acts = activity(ws.engine, identity_config(ws.settings.identity), config)
        day = measures_day(ws.engine)
        assert day is not None
        features = ws.engine.to_pyarrow(features_expr(ws.engine, acts, day))
    truth = persons.merge(owners, on="person_id", how="inner")
    out: dict[str, Any] = {"persons": len(persons), "persons_with_customer": len(truth)}

    scored = truth.merge(clv, on="customer_id", how="inner").drop_duplicates("customer_id")
    out["p_alive"] = {"customers": len(scored)}
    # Dead at the end of the data (what p_alive estimates), dead by the end of the holdout,
    # and the generator's churners of the holdout (alive at the end of the data by definition).
    labels = {
        "dead_at_end": ~scored["alive_at_end"].astype(bool),
        "dead_by_holdout_end": ~scored["alive_at_end"].astype(bool)
        | scored["churned_in_holdout"].astype(bool),
        "churned_in_holdout": scored["churned_in_holdout"].astype(bool),
    }
    for name, dead in labels.items():
        out["p_alive"][name] = {
            "customers": int(dead.sum()),
            "auc": round(float(roc_auc_score(dead, 1 - scored["p_alive"])), 4),
            "mean_p_alive": round(float(scored.loc[dead, "p_alive"].mean()), 4),
            "mean_p_alive_others": round(float(scored.loc[~dead, "p_alive"].mean()), 4),
        }
    out["clv"] = {
        "customers": len(scored),
        "spearman_holdout_value": round(
            float(spearmanr(scored["clv"], scored["holdout_value_eur"]).statistic), 4
        ),
        "spearman_expected_value": round(
            float(spearmanr(scored["clv"], scored["expected_holdout_value_eur"]).statistic), 4
        ),
    }

    named = truth.merge(personas, on="customer_id", how="inner").drop_duplicates("customer_id")
    planted = int(persons["true_persona"].nunique())
    columns = [c for c in features.column_names if c not in {"customer_id", *DESCRIBED}]
    fixed = fit_personas(
        features,
        feature_columns=columns,
        categorical_columns=("top_channel", "top_category"),
        value_column="profit_12m",
        k=planted,
    )
    fixed_df = fixed.assignments.to_pandas()[["customer_id", "persona_id"]]
    fixed_named = truth.merge(fixed_df, on="customer_id", how="inner").drop_duplicates(
        "customer_id"
    )
    out["personas"] = {
        "customers": len(named),
        "planted_types": planted,
        "k_chosen": int(named["persona_id"].nunique()),
        "ari_chosen_k": round(
            float(adjusted_rand_score(named["true_persona"], named["persona_id"])), 4
        ),
        "ari_k_planted": round(
            float(adjusted_rand_score(fixed_named["true_persona"], fixed_named["persona_id"])), 4
        ),
        "ari_supervised_ceiling": _supervised_ceiling(features, columns, truth),
        "features": columns,
    }
    return out


def _supervised_ceiling(features: Any, columns: list[str], truth: pd.DataFrame) -> float:
    """The adjusted Rand index of a classifier *trained on the planted types* with the same
    features (5-fold cross-validated predictions): how much of the types the features carry at
    all, the ceiling an unsupervised method can approach."""
    table = features.to_pandas().merge(
        truth[["customer_id", "true_persona"]].drop_duplicates("customer_id"), on="customer_id"
    )
    model = HistGradientBoostingClassifier(max_iter=200, random_state=0)
    predicted = cross_val_predict(model, table[columns], table["true_persona"], cv=5)
    return round(float(adjusted_rand_score(table["true_persona"], predicted)), 4)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dir", type=Path, default=Path("benchmarks/results/analytics-demo"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "insightloop.cli.main", "demo", "up", "--dir", str(args.dir),
         "--customers", str(args.customers), "--seed", str(args.seed), "--no-serve"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    pipeline_seconds = time.perf_counter() - started
    result = score_analytics(args.dir / "workspace", args.dir / "company")
    result.update(customers=args.customers, seed=args.seed, pipeline_seconds=pipeline_seconds)
    print(json.dumps(result, indent=2, default=lambda v: np.asarray(v).tolist()))


if __name__ == "__main__":
    pd.set_option("mode.copy_on_write", True)
    main()
