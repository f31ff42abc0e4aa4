"""``insightloop match``: person files in, clusters, scored pairs and a model out, no workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.csv as pv
import pyarrow.parquet as pq
from typer.testing import CliRunner

from insightloop.cli.main import app

runner = CliRunner()

CRM = (
    "customer_no,First Name,Surname,Date of birth,E-mail,Phone,Street,Zip,City\n"
    "c1,Bill,Smith,1970-01-02,bill.smith@mail.example,+46701234567,Storgatan 1,11122,Uppsala\n"
    "c2,William,SMITH,1970-01-02,bill.smith@mail.example,070-123 45 67,Storgatan 1,11122,Uppsala\n"
    "c3,Anna,Smith,1972-05-05,bill.smith@mail.example,+4618555555,Storgatan 1,11122,Uppsala\n"
    "c4,Björn,Söderberg,1980-03-04,bjorn@mail.example,,Ågatan 2,75320,Uppsala\n"
    "c5,Bjorn,Soderberg,1980-03-04,,+46709998877,Agatan 2,75320,Uppsala\n"
    "c6,Karin,Berg,1990-09-09,karin@mail.example,,Mill Lane 3,22233,Lund\n"
)
SHOP = (
    "account,name,email,born\n"
    "a1,王秀英,xiuying@mail.example,1985-06-07\n"
    "a2,Kalle Nilsson,kalle@mail.example,1975-07-08\n"
)
CRM2 = (
    "customer_no,First Name,Surname,Date of birth,E-mail\n"
    "k1,Xiuying,Wang,1985-06-07,xiuying@mail.example\n"
    "k2,Karl,Nilsson,1975-07-08,\n"
)


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "160", "NO_COLOR": "1"})
    return result.exit_code, result.stdout + result.stderr


def _clusters(path: Path) -> dict[str, str]:
    rows = pv.read_csv(path).to_pylist()
    return {f"{r['input']}:{r['record_id']}": r["cluster_id"] for r in rows}


def test_match_deduplicates_a_file_and_keeps_the_household_apart(tmp_path: Path) -> None:
    (tmp_path / "crm.csv").write_text(CRM, encoding="utf-8")
    code, out = invoke("match", str(tmp_path / "crm.csv"), "--out", str(tmp_path / "out"))
    assert code == 0, out
    assert "Deduplicated 6 records" in out
    assert "linked pairs" in out
    clusters = _clusters(tmp_path / "out/clusters.csv")
    assert clusters["crm:c1"] == clusters["crm:c2"]  # Bill = William
    assert clusters["crm:c4"] == clusters["crm:c5"]  # Björn Söderberg = Bjorn Soderberg
    assert clusters["crm:c3"] != clusters["crm:c1"]  # his wife: same address, phone, e-mail
    pairs = pv.read_csv(tmp_path / "out/pairs.csv").to_pylist()
    link = next(p for p in pairs if {p["left_id"], p["right_id"]} == {"c1", "c2"})
    assert link["decision"] == "link"
    assert json.loads(link["evidence"])["first_name"] == "nickname"
    model = json.loads((tmp_path / "out/model.json").read_text(encoding="utf-8"))
    assert model["format"] == "insightloop.match_model"
    assert model["roles"]["first_name"] == ["First Name"]


def test_match_links_files_with_column_roles_in_parquet_and_json(tmp_path: Path) -> None:
    (tmp_path / "shop.csv").write_text(SHOP, encoding="utf-8")
    (tmp_path / "crm.csv").write_text(CRM2, encoding="utf-8")
    code, out = invoke(
        "match", str(tmp_path / "shop.csv"), str(tmp_path / "crm.csv"),
        "--out", str(tmp_path / "out"), "--column", "full_name=name",
        "--column", "birth_date=born", "--id-column", "account", "--format", "parquet",
        "--threshold", "0.95", "--json",
    )  # fmt: skip
    # The id column differs between the files, so naming one for both is an error...
    assert code == 1
    assert "has no column 'account'" in out
    code, out = invoke(
        "match", str(tmp_path / "shop.csv"), str(tmp_path / "crm.csv"),
        "--out", str(tmp_path / "out"), "--column", "full_name=name",
        "--column", "birth_date=born", "--format", "parquet", "--threshold", "0.95", "--json",
    )  # fmt: skip
    assert code == 0, out
    summary = json.loads(out)
    assert summary["mode"] == "link"
    assert summary["inputs"] == {"shop": 2, "crm": 2}
    assert summary["roles"]["shop"]["full_name"] == ["name"]
    clusters = pq.read_table(tmp_path / "out/clusters.parquet").to_pylist()
    by = {f"{r['input']}:{r['record_id']}": r["cluster_id"] for r in clusters}
    assert by["shop:1"] == by["crm:k1"]  # 王秀英 = Xiuying Wang (rows numbered: no id column)
    assert by["shop:2"] == by["crm:k2"]  # Kalle = Karl


def test_match_errors_say_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "crm.csv").write_text(CRM, encoding="utf-8")
    code, out = invoke("match", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o"))
    assert code == 1
    assert "does not exist" in out
    assert "Hint:" in out
    code, out = invoke(
        "match", str(tmp_path / "crm.csv"), "--out", str(tmp_path / "o"), "--column", "nick=x"
    )
    assert code == 1
    assert "'nick' is not a role" in out
    code, out = invoke(
        "match", str(tmp_path / "crm.csv"), "--out", str(tmp_path / "o"), "--threshold", "2"
    )
    assert code == 1
    assert "--threshold must be in (0, 1]" in out
    (tmp_path / "odd.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    code, out = invoke("match", str(tmp_path / "odd.csv"), "--out", str(tmp_path / "o"))
    assert code == 1
    assert "--column first_name=COL" in out
