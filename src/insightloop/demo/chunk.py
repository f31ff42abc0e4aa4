"""Generate everything about one chunk of persons: their source records and their truth.

:func:`build_chunk` is a pure function of (seed, number of customers, chunk index): its random
stream is the chunk's own child of the run's seed sequence, so chunks can be built in any order
or in parallel and the output never depends on anything but the seed and the size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from insightloop.demo.baskets import build_baskets
from insightloop.demo.campaigns import consents_chunk, members_chunk
from insightloop.demo.catalogue import make_catalogue
from insightloop.demo.events import EventContext, events_chunk
from insightloop.demo.fmt import compose, digit_matrix
from insightloop.demo.orders import SalesContext, order_chunk, pos_chunk, transaction_ids
from insightloop.demo.output import EncodedChunk, FileChunk, encode, events_path
from insightloop.demo.params import CHUNK_SIZE
from insightloop.demo.population import make_persons
from insightloop.demo.purchases import simulate_holdout, simulate_purchases
from insightloop.demo.records import RecordContext, crm_chunks, loyalty_chunk
from insightloop.demo.service import ServiceContext, interactions_chunk, simulate_interactions
from insightloop.demo.surveys import survey_chunk
from insightloop.demo.systems import place_persons
from insightloop.demo.truth import interaction_truth, person_truth, transaction_truth

__all__ = ["ChunkFile", "ChunkResult", "build_chunk", "chunk_plan", "global_rng", "tag_modulus"]


@dataclass
class ChunkFile:
    """One file's share of a chunk, encoded, with what the truth needs to know about it."""

    chunk: FileChunk
    encoded: EncodedChunk
    defects: pa.Table


@dataclass
class ChunkResult:
    """Everything one chunk contributes to the output.

    ``line_truth`` tables carry a ``_row`` column (record position inside this chunk's share of
    the named file) that the writer turns into a file line number.
    """

    index: int
    persons: int
    person_ids: pa.Array
    files: list[ChunkFile]
    truth: dict[str, pa.Table] = field(default_factory=dict)
    line_truth: dict[str, tuple[str, pa.Table]] = field(default_factory=dict)


def chunk_plan(customers: int) -> list[tuple[int, int, int]]:
    """(chunk index, first global person index, size) for a run of ``customers`` persons."""
    starts = range(0, customers, CHUNK_SIZE)
    return [(i, s, min(CHUNK_SIZE, customers - s)) for i, s in enumerate(starts)]


def global_rng(seed: int) -> np.random.Generator:
    """The run-wide stream (catalogue); chunk ``i`` uses spawn key ``i + 1``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))


def tag_modulus(customers: int) -> int:
    """Size of the numeric e-mail tag space: a power of ten above two tags per person."""
    return 10 ** max(3, len(str(2 * customers)))


def build_chunk(seed: int, customers: int, index: int) -> ChunkResult:
    """Build chunk ``index`` of a run with ``seed`` and ``customers`` persons."""
    _, start, size = chunk_plan(customers)[index]
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index + 1,)))
    catalogue = make_catalogue(global_rng(seed))
    tags = tag_modulus(customers)

    persons = make_persons(rng, start, size)
    txns, alive = simulate_purchases(rng, persons)
    holdout = simulate_holdout(rng, persons, alive)
    presence = place_persons(rng, index, persons, txns)
    baskets = build_baskets(rng, persons, txns, catalogue)
    ids = transaction_ids(index, txns)

    records = RecordContext(persons, presence, txns, baskets, tags)
    chunks = crm_chunks(rng, records)
    chunks.append(loyalty_chunk(rng, records))
    sales = SalesContext(index, persons, presence, txns, baskets, catalogue, tags)
    chunks.append(order_chunk(rng, sales, ids))
    pos, pos_truth = pos_chunk(rng, sales, ids)
    chunks.append(pos)
    service = ServiceContext(index, persons, presence, txns, baskets, catalogue, ids, tags)
    interactions = simulate_interactions(rng, service)
    chunks.append(interactions_chunk(rng, service, interactions))
    survey, survey_truth = survey_chunk(rng, service, interactions)
    chunks.append(survey)
    consent, consent_state = consents_chunk(rng, index, persons, presence, tags)
    chunks.append(consent)
    members, member_truth = members_chunk(rng, persons, presence, txns, alive, consent_state, ids)
    chunks.append(members)
    events = EventContext(persons, presence, txns, baskets, catalogue, alive, ids, tags)
    chunks.append(events_chunk(rng, events, events_path(index)))

    person_ids = compose(size, ["P", digit_matrix(persons.gidx, 8)])
    files = [ChunkFile(c, encode(c), c.defects.table(c.person)) for c in chunks]
    for c in chunks:
        # Encoded now; only value-truth files still need their columns (and every file its keys).
        c.lines = None
        if not c.spec.truth_values:
            c.columns = None
    result = ChunkResult(index, size, person_ids, files)
    result.truth["persons"] = person_truth(
        persons, txns, baskets, holdout, presence, interactions, person_ids, tags
    )
    result.truth["transactions"] = transaction_truth(txns, baskets, ids, person_ids)
    result.truth["interactions"] = interaction_truth(interactions, ids, person_ids)
    survey_truth["person_id"] = person_ids.take(survey_truth.pop("person"))
    result.truth["responses"] = pa.table(survey_truth)
    member_truth["person_id"] = person_ids.take(member_truth.pop("person"))
    result.truth["campaign_members"] = pa.table(member_truth)
    pos_truth["_row"] = pa.array(np.arange(pos.rows))
    result.line_truth["pos_lines"] = (pos.spec.path, pa.table(pos_truth))
    return result
