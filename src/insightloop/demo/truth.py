"""Ground-truth tables of one chunk: persons, transactions, interactions.

These are what analytics are scored against and are never loaded as data. Person-level truth
holds the latent parameters, the planted persona and segment, the true contact details, the
calibration-window summary (frequency, recency, T, monetary value, in weeks and EUR) and the
simulated holdout outcome.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.demo import contact, geo
from insightloop.demo.baskets import Baskets
from insightloop.demo.catalogue import CURRENCIES
from insightloop.demo.fmt import compose, digit_matrix, take
from insightloop.demo.names import FIRST, LAST
from insightloop.demo.params import COUNTRIES, GAMMA_GAMMA, PERSONAS, UPLIFT_SEGMENTS
from insightloop.demo.population import Persons
from insightloop.demo.purchases import CHANNELS, END_DAY, Holdout, Transactions, to_operational
from insightloop.demo.service import CHANNELS as CONTACT_CHANNELS
from insightloop.demo.service import CODES, Interactions
from insightloop.demo.systems import Presence
from insightloop.demo.texts import REASONS

__all__ = ["interaction_truth", "person_truth", "transaction_truth"]

MS_PER_DAY = 86_400_000
WEEK_MS = 7 * MS_PER_DAY


def _optional(values: pa.Array, index: np.ndarray) -> pa.Array:
    taken = values.take(pa.array(np.maximum(index, 0)))
    return pc.if_else(pa.array(index >= 0), taken, pa.nulls(len(index), values.type))


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int64).astype("datetime64[D]"))


def person_truth(
    persons: Persons,
    txns: Transactions,
    baskets: Baskets,
    holdout: Holdout,
    presence: Presence,
    interactions: Interactions,
    person_ids: pa.Array,
    tag_modulus: int,
) -> pa.Table:
    """One row per person: who they are, their latent behaviour and what they really did."""
    n = persons.n
    idx = np.arange(n)
    count = np.bincount(txns.person, minlength=n)
    first = np.searchsorted(txns.person, idx)
    last = first + count - 1
    first_ms = baskets.utc_ms[first]
    last_ms = baskets.utc_ms[last]
    repeat_value = np.bincount(
        txns.person, weights=np.where(txns.is_first, 0.0, baskets.value_eur), minlength=n
    )
    frequency = count - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, repeat_value / np.maximum(frequency, 1), np.nan)
    # The same summary in operational time, where the planted BG/NBD holds exactly (no season).
    op_first = to_operational(persons.persona, txns.day[first])
    op_last = to_operational(persons.persona, txns.day[last])
    op_end = to_operational(persons.persona, np.full(n, float(END_DAY)))
    late = np.bincount(txns.person[baskets.late_days > 0], minlength=n)
    unresolved = np.bincount(interactions.person[~interactions.resolved], minlength=n)
    changed = np.isfinite(persons.email_change)
    email0 = contact.email_of(persons, idx, np.zeros(n, dtype=np.int64), tag_modulus)
    email1 = contact.email_of(persons, idx, np.ones(n, dtype=np.int64), tag_modulus)
    emails = pa.ListArray.from_arrays(
        pa.array(np.concatenate([[0], np.cumsum(1 + changed)]).astype(np.int32)),
        _interleave(email0, email1, changed),
    )
    change_day = np.floor(np.where(changed, persons.email_change, 0)).astype(np.int64)
    landline = pc.if_else(
        pa.array(persons.has_landline),
        geo.landline_e164(persons.city, persons.household),
        pa.nulls(n, pa.string()),
    )
    # The window ends at midnight local time, as each market's systems cut their exports.
    offsets = {c.code: c.utc_offset_hours for c in COUNTRIES}
    offset_h = np.select([persons.country == code for code in offsets], list(offsets.values()))
    end_ms = END_DAY * MS_PER_DAY - offset_h * 3_600_000
    return pa.table(
        {
            "person_id": person_ids,
            "household_id": compose(n, ["H", digit_matrix(persons.household, 8)]),
            "persona": take(pa.array([pp.name for pp in PERSONAS]), persons.persona),
            "country": pa.array(persons.country),
            "language": pa.array(persons.language),
            "sex": pa.array(np.where(persons.sex == 1, "male", "female")),
            "first_name": take(FIRST.text, persons.first),
            "last_name": take(LAST.text, persons.last),
            "first_name_ascii": take(FIRST.ascii, persons.first),
            "last_name_ascii": take(LAST.ascii, persons.last),
            "date_of_birth": _dates(persons.dob),
            "emails": emails,
            "email_changed_on": pa.array(change_day.astype("datetime64[D]"), mask=~changed),
            "mobile": geo.e164(persons.country, persons.mobile),
            "landline": landline,
            "street": geo.address_line(
                persons.country, persons.street, persons.house, persons.flat
            ),
            "postcode": persons.postcode,
            "city": take(geo.CITY_NAME, persons.city),
            "lambda_per_week": pa.array(persons.lam),
            "p_dropout": pa.array(persons.p),
            "spend_nu": pa.array(persons.nu),
            "mean_spend_eur": pa.array(GAMMA_GAMMA["p"] / persons.nu),
            "price_sensitivity": pa.array(persons.price_sens),
            "first_purchase_at": pa.array(first_ms.astype("datetime64[ms]")),
            "calib_frequency": pa.array(frequency),
            "calib_recency_weeks": pa.array((last_ms - first_ms) / WEEK_MS),
            "calib_T_weeks": pa.array((end_ms - first_ms) / WEEK_MS),
            "calib_monetary_eur": pa.array(monetary, from_pandas=True),
            "calib_recency_op_weeks": pa.array(op_last - op_first),
            "calib_T_op_weeks": pa.array(op_end - op_first),
            "calib_value_eur": pa.array(
                np.round(np.bincount(txns.person, weights=baskets.value_eur, minlength=n), 2)
            ),
            "late_deliveries": pa.array(late),
            "unresolved_contacts": pa.array(unresolved),
            "has_crm_record": pa.array(np.isin(idx, presence.crm_person)),
            "is_loyalty_member": pa.array(np.isin(idx, presence.card_person)),
            "has_ecommerce_account": pa.array(np.isin(idx, presence.acc_person)),
            "alive_at_end": pa.array(holdout.alive_at_end),
            "churn_risk": pa.array(holdout.churn_risk),
            "churned_in_holdout": pa.array(holdout.churned),
            "holdout_purchases": pa.array(holdout.purchases),
            "holdout_value_eur": pa.array(holdout.value_eur),
            "expected_holdout_purchases": pa.array(holdout.expected_purchases),
            "expected_holdout_value_eur": pa.array(holdout.expected_value_eur),
            "uplift_segment": take(pa.array(list(UPLIFT_SEGMENTS)), persons.uplift_segment),
            "base_response": pa.array(persons.base_response),
            "true_uplift": pa.array(persons.uplift),
        }
    )


def _interleave(first: pa.Array, second: pa.Array, has_second: np.ndarray) -> pa.Array:
    """``first[i]`` followed by ``second[i]`` where ``has_second[i]``, flattened."""
    count = 1 + has_second.astype(np.int64)
    owner = np.repeat(np.arange(len(count)), count)
    is_second = np.arange(len(owner)) - (np.cumsum(count) - count)[owner] == 1
    index = pa.array(owner)
    return pc.if_else(pa.array(is_second), second.take(index), first.take(index))


def transaction_truth(
    txns: Transactions, baskets: Baskets, ids: pa.Array, person_ids: pa.Array
) -> pa.Table:
    """One row per purchase (web, app and store), with its true value in EUR."""
    lines = np.diff(np.append(baskets.first_line, baskets.n_lines))
    return pa.table(
        {
            "transaction_id": ids,
            "person_id": person_ids.take(pa.array(txns.person)),
            "channel": take(pa.array(CHANNELS), txns.channel),
            "timestamp_utc": pa.array(baskets.utc_ms.astype("datetime64[ms]")),
            "currency": take(pa.array(CURRENCIES), baskets.currency),
            "total_local": pa.array(baskets.total_cents / 100.0),
            "value_eur": pa.array(baskets.value_eur),
            "planted_spend_eur": pa.array(np.round(txns.spend_eur, 2)),
            "is_first": pa.array(txns.is_first),
            "is_dropout_purchase": pa.array(txns.is_dropout),
            "late_days": pa.array(baskets.late_days),
            "lines": pa.array(lines),
        }
    )


def interaction_truth(it: Interactions, ids: pa.Array, person_ids: pa.Array) -> pa.Table:
    """One row per contact: its true reason next to what the agent recorded."""
    return pa.table(
        {
            "interaction_id": it.ids,
            "person_id": person_ids.take(pa.array(it.person)),
            "true_reason": take(pa.array(REASONS), it.reason),
            "recorded_reason_code": take(pa.array(CODES), it.recorded),
            "channel": take(pa.array(CONTACT_CHANNELS), it.channel),
            "resolved": pa.array(it.resolved),
            "transaction_id": _optional(ids, it.txn),
            "dropout_related": pa.array(it.dropout_related),
        }
    )
