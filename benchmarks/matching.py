"""Probabilistic matching at scale: ``python -m benchmarks.matching --records 1000000``.

Synthetic person records with known duplicates are generated with numpy (names from pools of
English, Swedish and Chinese names, households sharing address, landline, surname and sometimes
an e-mail, typos, nicknames, upper case, ASCII spellings, pinyin for Han names, changed e-mails,
junk values). A child process then resolves them end to end with the automatic configuration
(prepare, train, score, cluster) and scores an incremental batch of new records against the
existing ones; the parent reports wall times, the child's peak resident memory (``wait4``) and
pairwise precision, recall and F1 of the clusters against the truth, plus how many household
members were wrongly merged.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

_EN_FIRST = (
    "William Bill,Robert Bob,Richard Dick,James Jim,John Jack,Michael Mike,Thomas Tom,David Dave,"
    "Daniel Dan,Joseph Joe,Christopher Chris,Matthew Matt,Edward Ted,Anthony Tony,Andrew Andy,"
    "Samuel Sam,Benjamin Ben,Peter Pete,Henry Harry,Charles Charlie,George,Oliver Ollie,Jacob Jake,"
    "Ryan,Luke,Adam,Nathan Nate,Elizabeth Liz,Margaret Maggie,Jennifer Jen,Katherine Kate,"
    "Susan Sue,Jessica Jess,Sarah,Emily,Emma,Olivia,Sophie,Grace,Chloe,Lucy,Hannah,Amelia,Isabella,"
    "Charlotte,Alice,Rebecca Becky,Victoria Vicky,Deborah Debbie,Patricia Trish,Abigail Abby,Mary,"
    "Laura,Rachel,Helen,Claire,Amy,Zoe,Megan,Lauren"
)
_SV_FIRST = (
    "Karl Kalle,Lars Lasse,Nils Nisse,Per Pelle,Joakim Jocke,Olof Olle,Gustav Gurra,Mikael Micke,"
    "Fredrik Freddan,Erik,Anders,Johan,Björn,Göran,Jörgen,Håkan,Måns,Sören,Åke,Oskar,Axel,Hugo,"
    "Elias,Magnus Mange,Henrik Henke,Tobias Tobbe,Anna,Eva,Maria Mia,Karin Kajsa,Kristina Kicki,"
    "Margareta Maggan,Birgitta Gittan,Åsa,Linnéa Linn,Märta,Maja,Elsa,Ebba,Ingrid Inga,Agnes,Saga,"
    "Tove,Frida,Annika,Malin,Sofia,Katarina Kattis,Ulrika Ulla,Helena Lena,Sara,Lovisa,Ida,Emelie"
)
_CN_GIVEN = (
    "秀英 xiuying,伟 wei,芳 fang,娜 na,敏 min,静 jing,丽 li,强 qiang,磊 lei,军 jun,洋 yang,勇 yong,"
    "艳 yan,杰 jie,娟 juan,涛 tao,明 ming,超 chao,秀兰 xiulan,霞 xia,平 ping,刚 gang,桂英 guiying,"
    "建华 jianhua,志强 zhiqiang,婷婷 tingting,子涵 zihan,浩然 haoran,欣怡 xinyi,宇轩 yuxuan,"
    "梓萱 zixuan,俊杰 junjie,雨桐 yutong,思远 siyuan,晓明 xiaoming,文博 wenbo,佳琪 jiaqi"
)
_CN_FAMILY = (
    "王 wang,李 li,张 zhang,刘 liu,陈 chen,杨 yang,黄 huang,赵 zhao,吴 wu,周 zhou,徐 xu,孙 sun,"
    "马 ma,朱 zhu,胡 hu,郭 guo,何 he,高 gao,林 lin,罗 luo,郑 zheng,梁 liang,谢 xie,宋 song,唐 tang,"
    "许 xu,韩 han,冯 feng,邓 deng,曹 cao,彭 peng,曾 zeng,肖 xiao,田 tian,董 dong,袁 yuan,潘 pan,"
    "于 yu,蒋 jiang,蔡 cai,余 yu,杜 du,叶 ye,程 cheng,苏 su,魏 wei,吕 lv,丁 ding,任 ren,欧阳 ouyang"
)
_SURNAME_HEADS = [
    "And", "Berg", "Lind", "Sand", "Ek", "Holm", "Lund", "Sjö", "Ström", "Dahl", "Nord", "Sväl",
    "Hell", "Fors", "Ås", "Björk", "Gran", "Wall", "Ny", "Sten", "Mal", "Ros", "Blom", "Lil",
    "Fal", "Hag", "Kron", "Rud", "Sund", "Wik", "Ald", "Bark", "Brad", "Carl", "Dun", "Fair",
    "Hart", "Kent", "Mor", "Ash", "Black", "Wood", "Brook", "Fox", "Hill", "Church", "Cart",
    "Whit", "Long", "Green", "Bright", "Stan", "Ather", "Pen", "Gold", "Silver", "Win", "Red",
    "Ham",
]  # fmt: skip
_SURNAME_TAILS = [
    "sson", "son", "berg", "ström", "qvist", "gren", "lund", "holm", "by", "dahl", "man", "ton",
    "ley", "ford", "wood", "well", "field", "worth", "ham", "er", "ing", "bury", "more", "stone",
    "ridge", "land", "croft",
]  # fmt: skip
_STREETS = [
    "Storgatan", "Drottninggatan", "Kungsgatan", "Skolgatan", "Kyrkogatan", "Parkvägen",
    "Björkvägen", "Sjövägen", "Ängsvägen", "Högvägen", "Church Street", "High Street",
    "Station Road", "Mill Lane", "Park Avenue", "Victoria Road", "Green Lane", "Manor Road",
    "Queens Road", "King Street",
]  # fmt: skip
_CITIES = [
    "Stockholm", "Göteborg", "Malmö", "Uppsala", "Västerås", "Örebro", "London", "Leeds",
    "Bristol", "York", "Shanghai",
]  # fmt: skip
_DOMAINS = ("mail.example", "post.example", "web.example", "inbox.example")


def _pool(spec: str) -> tuple[list[str], list[str | None]]:
    names, nicks = [], []
    for item in spec.split(","):
        parts = item.strip().split(" ")
        names.append(parts[0])
        nicks.append(parts[1] if len(parts) > 1 else None)
    return names, nicks


def _typo(rng: np.random.Generator, value: str) -> str:
    if len(value) < 3:
        return value
    i = int(rng.integers(1, len(value) - 1))
    kind = rng.integers(3)
    if kind == 0:  # substitution
        return value[:i] + "aeiourstln"[int(rng.integers(10))] + value[i + 1 :]
    if kind == 1:  # transposition
        return value[: i - 1] + value[i] + value[i - 1] + value[i + 1 :]
    return value[:i] + value[i + 1 :]  # deletion


def generate(records: int, seed: int = 7) -> tuple[pa.Table, np.ndarray]:
    """``records`` person records and, for each, the id of the person it describes."""
    from anyascii import anyascii

    rng = np.random.default_rng(seed)
    en, en_nick = _pool(_EN_FIRST)
    sv, sv_nick = _pool(_SV_FIRST)
    cn_given = [tuple(x.split(" ")) for x in _CN_GIVEN.split(",")]
    cn_family = [tuple(x.split(" ")) for x in _CN_FAMILY.split(",")]
    surnames = [h + t for h in _SURNAME_HEADS for t in _SURNAME_TAILS]
    persons = int(records / 1.45) + 1
    # Households: consecutive persons share an address (and mostly a surname and a landline).
    size = rng.choice([1, 2, 3, 4], size=persons, p=[0.5, 0.27, 0.14, 0.09])
    household = np.repeat(np.arange(persons), size)[:persons]
    first_of_household = np.r_[True, household[1:] != household[:-1]]
    culture = rng.choice(3, size=persons, p=[0.45, 0.45, 0.10])[household]
    surname = rng.integers(len(surnames), size=persons)[household]
    own_surname = rng.random(persons) < 0.15
    surname = np.where(own_surname, rng.integers(len(surnames), size=persons), surname)
    cn_fam = rng.choice(len(cn_family), size=persons, p=_zipf(len(cn_family)))[household]
    # Members of a household have their own first names (as in the demo company).
    head_index = np.maximum.accumulate(np.where(first_of_household, np.arange(persons), 0))
    rank = np.arange(persons) - head_index
    given = rng.integers(1 << 30, size=persons)[head_index] + 7 * rank
    dob = rng.integers(-14600, 13000, size=persons)  # days since 1970: 1930 .. 2005
    street = rng.integers(len(_STREETS), size=persons)[household]
    number = rng.integers(1, 120, size=persons)[household]
    postcode = rng.integers(10000, 99999, size=persons)[household]
    city = rng.integers(len(_CITIES), size=persons)[household]
    landline = rng.integers(10**7, 10**8, size=persons)[household]
    has_landline = (rng.random(persons) < 0.6)[household]
    family_email = (rng.random(persons) < 0.2) & ~first_of_household
    head = head_index
    n_records = rng.choice([1, 2, 3], size=persons, p=[0.7, 0.18, 0.12])
    person_of_record = np.repeat(np.arange(persons), n_records)[:records]
    if len(person_of_record) < records:
        extra = rng.integers(persons, size=records - len(person_of_record))
        person_of_record = np.r_[person_of_record, extra]
    is_dup = np.r_[False, person_of_record[1:] == person_of_record[:-1]]

    def person_name(p: int) -> tuple[str, str, str | None, str]:
        c = culture[p]
        if c == 2:
            han, pinyin = cn_given[given[p] % len(cn_given)]
            fam_han, fam_pinyin = cn_family[cn_fam[p]]
            return pinyin.capitalize(), fam_pinyin.capitalize(), None, fam_han + han
        names, nicks = (en, en_nick) if c == 0 else (sv, sv_nick)
        i = given[p] % len(names)
        return names[i], surnames[surname[p]], nicks[i], ""

    columns: dict[str, list[Any]] = {k: [] for k in (
        "record_id", "first_name", "last_name", "name_raw", "email", "phone", "birth_date",
        "street", "postcode", "city", "country")}  # fmt: skip
    r = rng.random((records, 16))
    for k in range(records):
        p = int(person_of_record[k])
        first, last, nick, han = person_name(p)
        email_person = int(head[p]) if family_email[p] else p
        f_e, l_e, _, _ = person_name(email_person)
        domain = _DOMAINS[email_person % 4]
        email = f"{anyascii(f_e).lower()}.{anyascii(l_e).lower()}{email_person}@{domain}"
        phone = f"+467{(p * 7919) % 10**8:08d}"
        day = np.datetime64("1970-01-01") + np.timedelta64(int(dob[p]), "D")
        birth = str(day)
        name_raw = None
        dup = is_dup[k]
        if han and not dup and r[k, 0] < 0.6:
            first, last, name_raw = None, None, han
        elif han and r[k, 0] < 0.3:
            first, last = last, first  # "Wang Xiuying": family name first
        if dup and first is not None:
            if nick and r[k, 1] < 0.3:
                first = nick
            elif r[k, 1] > 0.9:
                first = _typo(rng, first)
            if r[k, 2] < 0.1:
                last = _typo(rng, last)
            if r[k, 3] < 0.5:
                first, last = anyascii(first), anyascii(last)
            if r[k, 4] < 0.1:
                first, last = first.upper(), last.upper()
        if dup:
            if r[k, 5] < 0.1:
                birth = None
            elif r[k, 5] < 0.14:
                birth = _typo_digit(rng, birth)
            if r[k, 6] < 0.25:
                email = f"{anyascii(first or 'x').lower()}{k}@new.example"
            elif r[k, 6] < 0.4:
                email = None
        if r[k, 7] < 0.3:
            phone = None
        elif has_landline[p] and r[k, 7] > 0.75:
            phone = f"+468{landline[p]:08d}"
        if r[k, 8] < 0.005:
            email = "noemail@store.example"
        if r[k, 9] < 0.003:
            phone = "0000000"
        st = f"{_STREETS[street[p]]} {number[p]}"
        if dup and r[k, 10] < 0.05:
            st = _typo(rng, st)
        columns["record_id"].append(f"r{k}")
        columns["first_name"].append(first)
        columns["last_name"].append(last)
        columns["name_raw"].append(name_raw)
        columns["email"].append(email)
        columns["phone"].append(phone)
        columns["birth_date"].append(birth)
        columns["street"].append(st)
        columns["postcode"].append(None if r[k, 11] < 0.03 else f"{postcode[p]:05d}")
        columns["city"].append(_CITIES[city[p]])
        columns["country"].append("SE" if culture[p] == 1 else "GB" if culture[p] == 0 else "CN")
    table = pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
    households = household[person_of_record]
    return table.append_column("household_id", pa.array(households)), person_of_record


def _zipf(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1)
    return weights / weights.sum()


def _typo_digit(rng: np.random.Generator, date: str) -> str:
    i = int(rng.choice([2, 3, 6, 9]))
    return date[:i] + str(int(rng.integers(10))) + date[i + 1 :]


ROLES = {
    "first_name": "first_name", "last_name": "last_name", "full_name": "name_raw",
    "birth_date": "birth_date", "email": "email", "phone": "phone", "street": "street",
    "postcode": "postcode", "city": "city", "country": "country",
}  # fmt: skip


def run_resolve(data: Path, out: Path) -> None:
    """Resolve ``data`` end to end (prepare, train, score, cluster); write timings and clusters."""
    from insightloop.identity.splink_clusters import cluster_pairs
    from insightloop.identity.splink_model import MatchModel
    from insightloop.identity.splink_prepare import prepare_records

    timings: dict[str, float] = {}
    table = pq.read_table(data).drop(["household_id"])
    start = time.perf_counter()
    records = prepare_records(table, ROLES, id_column="record_id")
    timings["prepare"] = time.perf_counter() - start
    mark = time.perf_counter()
    model = MatchModel.train(records)
    timings["train"] = time.perf_counter() - mark
    mark = time.perf_counter()
    pairs = model.predict()
    timings["predict"] = time.perf_counter() - mark
    mark = time.perf_counter()
    clusters, report = cluster_pairs(model, pairs)
    timings["cluster"] = time.perf_counter() - mark
    timings["end_to_end"] = time.perf_counter() - start
    pq.write_table(clusters, out / "clusters.parquet")
    model.save(out / "model.json")
    decisions = pc.value_counts(pairs["decision"]).flatten()
    result: dict[str, Any] = {
        "timings": timings,
        "pairs": pairs.num_rows,
        "cluster_report": report,
        "blocking": model.report["blocking"],
        "decisions": dict(zip(*[c.to_pylist() for c in decisions], strict=True)),
    }
    model.close()
    (out / "result.json").write_text(json.dumps(result, indent=2, default=str))


def run_incremental(data: Path, new_data: Path, out: Path) -> None:
    """Score a batch of new records against the existing ones with the saved model."""
    from insightloop.identity.splink_model import MatchModel
    from insightloop.identity.splink_prepare import prepare_records

    timings: dict[str, float] = {}
    records = prepare_records(pq.read_table(data).drop(["household_id"]), ROLES, "record_id")
    new = prepare_records(pq.read_table(new_data).drop(["household_id"]), ROLES, "record_id")
    with MatchModel.load(out / "model.json") as model:
        mark = time.perf_counter()
        model.predict_new(new.slice(0, 10), existing=records)  # attach the existing records
        timings["attach_existing"] = time.perf_counter() - mark
        mark = time.perf_counter()
        new_pairs = model.predict_new(new)
        timings["score_batch"] = time.perf_counter() - mark
    decisions = pc.value_counts(new_pairs["decision"]).flatten()
    result = {
        "timings": timings,
        "pairs": new_pairs.num_rows,
        "decisions": dict(zip(*[c.to_pylist() for c in decisions], strict=True)),
    }
    (out / "incremental.json").write_text(json.dumps(result, indent=2))


def _measure(command: list[str]) -> tuple[float, float]:
    """Run a child to completion: wall seconds and peak RSS (MiB, from wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(command)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the benchmark child failed: {' '.join(command)}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def _pairs_count(groups: pa.Table, keys: list[str]) -> int:
    counts = groups.group_by(keys).aggregate([([], "count_all")])["count_all"]
    n = counts.to_numpy().astype(np.int64)
    return int((n * (n - 1) // 2).sum())


def evaluate(data: Path, clusters: Path) -> dict[str, Any]:
    truth = pq.read_table(data, columns=["record_id", "household_id"])
    persons = pq.read_table(data.with_suffix(".truth.parquet"))
    got = pq.read_table(clusters)
    joined = truth.join(persons, "record_id").join(got, "record_id")
    predicted = _pairs_count(joined, ["cluster_id"])
    true_pairs = _pairs_count(joined, ["person_id"])
    tp = _pairs_count(joined, ["cluster_id", "person_id"])
    same_household = _pairs_count(joined, ["cluster_id", "household_id"])
    # Pairs of different persons of one household put in one cluster: the guard's failures.
    merged_household = same_household - tp
    precision = tp / predicted if predicted else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "true_pairs": true_pairs, "predicted_pairs": predicted, "true_positives": tp,
        "precision": round(precision, 5), "recall": round(recall, 5), "f1": round(f1, 5),
        "household_members_merged_pairs": merged_household,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=10_000, help="incremental batch size")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep the generated data in this folder")
    parser.add_argument("--resolve", nargs=2, metavar=("DATA", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--incremental", nargs=3, metavar=("DATA", "NEW", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.resolve:
        run_resolve(*(Path(p) for p in args.resolve))
        return 0
    if args.incremental:
        run_incremental(*(Path(p) for p in args.incremental))
        return 0
    folder = args.keep or Path(tempfile.mkdtemp(prefix="il-bench-match-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        summary = _run(args, folder)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(summary, indent=2))
    return 0


def _run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    mark = time.perf_counter()
    table, person = generate(args.records + args.new, seed=args.seed)
    existing, new = table.slice(0, args.records), table.slice(args.records)
    data = folder / "records.parquet"
    pq.write_table(existing, data)
    pq.write_table(new, folder / "new.parquet")
    pq.write_table(
        pa.table({"record_id": existing["record_id"], "person_id": person[: args.records]}),
        data.with_suffix(".truth.parquet"),
    )
    print(f"generated {table.num_rows:,} records in {time.perf_counter() - mark:.1f} s", flush=True)
    me = [sys.executable, "-m", "benchmarks.matching"]
    wall, peak = _measure([*me, "--resolve", str(data), str(folder)])
    result = json.loads((folder / "result.json").read_text())
    summary: dict[str, Any] = {
        "benchmark": "matching",
        "records": args.records,
        "resolve": {
            "child_wall_seconds": round(wall, 1),
            "peak_rss_mib": round(peak, 1),
            "seconds": {k: round(v, 2) for k, v in result["timings"].items()},
        },
        "accuracy": evaluate(data, folder / "clusters.parquet"),
        "pairs_scored_above_review": result["pairs"],
        "decisions": result["decisions"],
        "clusters": result["cluster_report"],
        "blocking": result["blocking"],
        "command": f"python -m benchmarks.matching --records {args.records} --new {args.new}",
    }
    if args.new:
        new_path = str(folder / "new.parquet")
        wall, peak = _measure([*me, "--incremental", str(data), new_path, str(folder)])
        incremental = json.loads((folder / "incremental.json").read_text())
        summary["incremental"] = {
            "new_records": args.new,
            "existing_records": args.records,
            "child_wall_seconds": round(wall, 1),
            "peak_rss_mib": round(peak, 1),
            "seconds": {k: round(v, 2) for k, v in incremental["timings"].items()},
            "pairs": incremental["pairs"],
            "decisions": incremental["decisions"],
        }
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
