"""Which systems know each person, since when, and under which keys.

A person's first store purchase may enrol them in the loyalty programme (and a lost card is
re-issued under a new number); their first logged-in web or app order opens an e-commerce account
(and a few open a second one later); most of them get a CRM record, some two. Every
transaction learns here which store, card and account it happened under.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from insightloop.demo import geo
from insightloop.demo.fmt import chunk_seq, concat, ean13, keys, scramble
from insightloop.demo.params import PERSONAS
from insightloop.demo.population import Persons
from insightloop.demo.purchases import Transactions

__all__ = ["Presence", "first_per_person", "place_persons"]

GUEST_RATE = 0.09
SECOND_ACCOUNT_RATE = 0.08
REISSUE_RATE = 0.04
AWAY_STORE_RATE = 0.12
CRM_RATE_KNOWN = 0.95
CRM_RATE_UNKNOWN = 0.3
CRM_DUPLICATE_RATE = {"sv": 0.04, "en": 0.04, "zh": 0.09}


@dataclass
class Presence:
    """System membership of one chunk's persons and the keys of their records."""

    store: np.ndarray  # per transaction: store position, -1 online
    guest: np.ndarray  # per transaction: online order without login
    account: np.ndarray  # per transaction: account row, -1 none
    card: np.ndarray  # per transaction: scanned loyalty card row, -1 none
    acc_person: np.ndarray
    acc_day: np.ndarray
    acc_key: pa.Array
    card_person: np.ndarray
    card_day: np.ndarray
    card_store: np.ndarray
    card_reissue: np.ndarray
    card_key: pa.Array
    crm_person: np.ndarray
    crm_day: np.ndarray
    crm_duplicate: np.ndarray
    crm_key: pa.Array
    home_store: np.ndarray


def first_per_person(person: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """Index of the first transaction (in person/time order) matching ``mask``; -1 if none."""
    out = np.full(n, -1, dtype=np.int64)
    idx = np.flatnonzero(mask)
    owners, first = np.unique(person[idx], return_index=True)
    out[owners] = idx[first]
    return out


def _switch_rows(
    rng: np.random.Generator, person: np.ndarray, mask: np.ndarray, n: int, rate: float
) -> np.ndarray:
    """Per person, a qualifying transaction (not their first) from which a second key is used;
    -1 for persons who never switch."""
    idx = np.flatnonzero(mask)
    counts = np.bincount(person[idx], minlength=n)
    switches = (counts >= 2) & (rng.random(n) < rate)
    start = np.cumsum(counts) - counts
    pick = 1 + (rng.random(n) * np.maximum(counts - 1, 1)).astype(np.int64)
    out = np.full(n, -1, dtype=np.int64)
    out[switches] = idx[start[switches] + pick[switches]]
    return out


def _rows_for(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows for persons with a first key and, where present, a second: (person, txn, is_second)."""
    people = np.flatnonzero(first >= 0)
    again = np.flatnonzero(second >= 0)
    person = np.concatenate([people, again])
    txn = np.concatenate([first[people], second[again]])
    second_flag = np.concatenate([np.zeros(len(people), bool), np.ones(len(again), bool)])
    order = np.lexsort((second_flag, person))
    return person[order], txn[order], second_flag[order]


def _key_of_txn(
    person: np.ndarray,
    rows_person: np.ndarray,
    rows_second: np.ndarray,
    txn: np.ndarray,
    switch: np.ndarray,
    n: int,
) -> np.ndarray:
    """Row of the key in force at each transaction (-1 if the person has none yet)."""
    first_row = np.full(n, -1, dtype=np.int64)
    second_row = np.full(n, -1, dtype=np.int64)
    rows = np.arange(len(rows_person))
    first_row[rows_person[~rows_second]] = rows[~rows_second]
    second_row[rows_person[rows_second]] = rows[rows_second]
    idx = np.arange(len(person))
    use_second = (switch[person] >= 0) & (idx >= switch[person])
    return np.where(use_second, second_row[person], first_row[person])


def place_persons(
    rng: np.random.Generator, chunk: int, persons: Persons, txns: Transactions
) -> Presence:
    """Decide system membership, keys and per-transaction store, card and account."""
    n = persons.n
    person = txns.person
    persona = persons.persona
    home = geo.stores_of(persons.city, rng, np.zeros(n, bool))
    is_store = txns.channel == 0
    away = rng.random(txns.n) < AWAY_STORE_RATE
    store = np.where(is_store, geo.stores_of(persons.city[person], rng, away), -1)
    store = np.where(is_store & ~away, home[person], store)

    guest = (txns.channel == 1) & (rng.random(txns.n) < GUEST_RATE)
    logged_in = (txns.channel > 0) & ~guest
    first_login = first_per_person(person, logged_in, n)
    second_acc = _switch_rows(rng, person, logged_in, n, SECOND_ACCOUNT_RATE)
    acc_person, acc_txn, acc_second = _rows_for(first_login, second_acc)
    account = np.where(
        logged_in, _key_of_txn(person, acc_person, acc_second, acc_txn, second_acc, n), -1
    )

    loyalty_rate = np.array([pp.loyalty_rate for pp in PERSONAS])[persona]
    first_store = first_per_person(person, is_store, n)
    member = (first_store >= 0) & (rng.random(n) < loyalty_rate)
    first_card = np.where(member, first_store, -1)
    reissue = np.where(member, _switch_rows(rng, person, is_store, n, REISSUE_RATE), -1)
    card_person, card_txn, card_second = _rows_for(first_card, reissue)
    card_of_txn = _key_of_txn(person, card_person, card_second, card_txn, reissue, n)
    enrolled = (first_card[person] >= 0) & (np.arange(txns.n) >= first_card[person])
    scan_rate = np.array([pp.scan_rate for pp in PERSONAS])[persona[person]]
    # The card is always scanned at enrolment and at re-issue; otherwise when the shopper
    # remembers it.
    at_issue = np.isin(np.arange(txns.n), card_txn)
    scanned = is_store & enrolled & ((rng.random(txns.n) < scan_rate) | at_issue)
    card = np.where(scanned, card_of_txn, -1)

    known = (first_login >= 0) | member
    has_crm = rng.random(n) < np.where(known, CRM_RATE_KNOWN, CRM_RATE_UNKNOWN)
    first_known = np.where(
        first_login >= 0,
        txns.day[np.maximum(first_login, 0)],
        np.inf,
    )
    first_known = np.minimum(first_known, np.where(member, txns.day[first_card], np.inf))
    crm_created = np.where(known, first_known, persons.t0) - rng.random(n) * 0.2
    dup_rate = np.where(
        persons.language == "zh", CRM_DUPLICATE_RATE["zh"], CRM_DUPLICATE_RATE["sv"]
    )
    dup = has_crm & (rng.random(n) < dup_rate)
    crm_person = np.concatenate([np.flatnonzero(has_crm), np.flatnonzero(dup)])
    crm_dup = np.concatenate([np.zeros(int(has_crm.sum()), bool), np.ones(int(dup.sum()), bool)])
    order = np.lexsort((crm_dup, crm_person))
    crm_person, crm_dup = crm_person[order], crm_dup[order]
    end = txns.day.max() if txns.n else 0.0
    crm_day = crm_created[crm_person]
    crm_day = np.where(crm_dup, crm_day + rng.random(len(crm_day)) * (end - crm_day), crm_day)

    card_body = 279 * 10**9 + scramble(
        chunk_seq(chunk, np.arange(len(card_person)), 10**5), 10**9, 11
    )
    crm_country = persons.country[crm_person]
    office = np.where(np.isin(crm_country, ["SE", "CN"]), crm_country, "C")
    crm_numbers = keys("", chunk_seq(chunk, np.arange(len(crm_person)), 10**5), 13, 8)
    return Presence(
        store=store,
        guest=guest,
        account=account,
        card=card,
        acc_person=acc_person,
        acc_day=txns.day[acc_txn],
        acc_key=keys("", chunk_seq(chunk, np.arange(len(acc_person)), 10**5), 12),
        card_person=card_person,
        card_day=txns.day[card_txn],
        card_store=store[card_txn],
        card_reissue=card_second,
        card_key=ean13(card_body),
        crm_person=crm_person,
        crm_day=crm_day,
        crm_duplicate=crm_dup,
        crm_key=concat(pa.array(office, pa.string()), crm_numbers),
        home_store=home,
    )
