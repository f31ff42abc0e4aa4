"""The hashes of loaded keys answer as a set of every key added, through merges, and hash a
key the same way from a chunk and from the table."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from insightloop.ingest.load import keys as keys_module
from insightloop.ingest.load.keys import LoadedKeys
from insightloop.store import Engine


def test_the_hashes_answer_as_the_set_of_added_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keys_module, "MERGE_AT", 50)  # merge often
    loaded = LoadedKeys(Engine.in_memory(), "events", "web", ["message_id"])
    rng = np.random.default_rng(7)
    added: set[int] = set()
    assert not loaded.may_contain(np.array([1, 2], np.uint64), has_rows=False).any()
    for _ in range(40):
        batch = rng.integers(0, 400, size=int(rng.integers(0, 30)), dtype=np.uint64)
        asked = rng.integers(0, 400, size=60, dtype=np.uint64)
        expected = [int(v) in added for v in asked]
        assert loaded.may_contain(asked, has_rows=False).tolist() == expected
        loaded.add(batch)
        added.update(int(v) for v in batch)
    assert loaded._sorted is not None
    assert len(loaded._sorted) > 0  # merges happened


def test_a_key_hashes_alike_from_a_chunk_and_from_the_table() -> None:
    engine = Engine.in_memory()
    rows = pa.table({"order_id": ["o1", "o2"], "line": [1, 2], "_source": ["shop", "other"]})
    engine.con.con.register("incoming", rows)
    engine.con.con.execute("CREATE TABLE order_items AS SELECT * FROM incoming")
    loaded = LoadedKeys(engine, "order_items", "shop", ["order_id", "line"])
    chunk = pa.table({"order_id": ["o1", "o2", "o3"], "line": [1, 2, 1]})
    # Only o1/1 is the source's: o2/2 belongs to another source, o3/1 to nobody.
    found = loaded.may_contain(loaded.hashes(chunk), has_rows=True)
    assert found.tolist() == [True, False, False]
    assert LoadedKeys.for_source(engine, "order_items", "shop", []) is None
