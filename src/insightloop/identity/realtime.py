"""Between resolution runs: attach the devices of newly received events to known customers.

When a visitor logs in (an identify, track, page or screen call with both ids, or an alias), the
device's ``anonymous_id`` belongs to the customer of the ``user_id``. :func:`attach_devices` adds
that to ``identifier_map`` at once, so the visitor's earlier anonymous events show in the
customer's profile without waiting for the next ``insightloop run``; the next resolution run
rebuilds the map from scratch and reaches the same answer through the identifier graph. The
same guard as the graph applies: a device that logged in as more users than
``identity.limits.anonymous_id`` is attached only when all those users are one customer's (a
person's second account); a family's shared computer, whose users are different customers, is
attached to none of them.

This is a deterministic look-up only; new user ids and reference records wait for the run
(``resolve``), which matches them incrementally.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pyarrow as pa

from insightloop.identity.attach import IDENTIFIER_MAP
from insightloop.identity.config import IdentityConfig
from insightloop.store import Engine
from insightloop.store.text import trim

__all__ = ["REALTIME_RULE", "attach_devices", "customers_of_batches"]

#: The ``rule`` of identifier-map rows added between runs.
REALTIME_RULE = "login since last run"


def attach_devices(
    engine: Engine, config: IdentityConfig, batch_ids: Sequence[str], *, run_id: str
) -> int:
    """Map the new devices of the events of ``batch_ids`` to their user's customer.

    Returns the number of devices attached.
    """
    if not batch_ids or not engine.has_table(IDENTIFIER_MAP):
        return 0
    e = engine.table("events")
    anon = trim(ibis.coalesce(e.anonymous_id, e.previous_id))
    user = trim(e.user_id)
    both = e.mutate(_anon=anon, _user=user).filter(
        anon.notnull() & (anon != "") & user.notnull() & (user != "")
    )
    batches = ibis.memtable(pa.table({"_batch_id": pa.array(list(batch_ids), pa.string())}))
    new = both.semi_join(batches, "_batch_id").select("_anon", "_user").distinct()
    ids = engine.table(IDENTIFIER_MAP)
    known_users = ids.filter(ids.id_type == "user_id").select(
        _user=ids.id_value, customer_id=ids.customer_id
    )
    known_devices = ids.filter(ids.id_type == "anonymous_id").select(_anon=ids.id_value)
    # The guard counts every user the device ever logged in as, not only this batch's.
    every = both.semi_join(new, "_anon").select("_anon", "_user").distinct()
    every = every.left_join(known_users, "_user")
    per = every.group_by("_anon").aggregate(
        _users=every._user.count(),
        _known=every.customer_id.count(),
        _customers=every.customer_id.nunique(),
        customer_id=every.customer_id.max(),
    )
    one = (per._users <= config.limit("anonymous_id")) | (per._users == per._known)
    found = (
        per.filter(one & (per._customers == 1))
        .anti_join(known_devices, "_anon")
        .select(
            id_type=ibis.literal("anonymous_id"),
            id_value="_anon",
            customer_id="customer_id",
            records=ibis.literal(1, "int64"),
            rule=ibis.literal(REALTIME_RULE),
            run_id=ibis.literal(run_id),
        )
    )
    rows = engine.to_pyarrow(found)
    if rows.num_rows:
        engine.insert(IDENTIFIER_MAP, rows)
    return rows.num_rows


def customers_of_batches(engine: Engine, batch_ids: Sequence[str]) -> list[str]:
    """The customers the events of ``batch_ids`` belong to (by user id, then device), sorted.

    Events of visitors no customer is known for yet are left out.
    """
    if not batch_ids or not engine.has_table(IDENTIFIER_MAP):
        return []
    e = engine.table("events")
    e = e.filter(e._batch_id.isin(list(batch_ids)))
    ids = engine.table(IDENTIFIER_MAP)
    u = ids.filter(ids.id_type == "user_id")
    users = u.select(_user=u.id_value, _cu=u.customer_id)
    d = ids.filter(ids.id_type == "anonymous_id")
    devices = d.select(_anon=d.id_value, _ca=d.customer_id)
    j = e.select(_user=trim(e.user_id), _anon=trim(ibis.coalesce(e.anonymous_id, e.previous_id)))
    j = j.left_join(users, "_user").select("_anon", "_cu")
    j = j.left_join(devices, "_anon")
    found = j.select(customer_id=ibis.coalesce(j._cu, j._ca)).distinct()
    found = found.filter(found.customer_id.notnull()).order_by("customer_id")
    return [str(c) for c in engine.to_pyarrow(found).column("customer_id").to_pylist()]
