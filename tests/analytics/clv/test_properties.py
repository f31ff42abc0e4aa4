"""Invariants of the models, checked on generated customers (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from insightloop.analytics.clv import BetaGeoModel, ParetoNBDModel, customer_value, rfm_summary

positive = st.floats(min_value=0.05, max_value=20.0, allow_nan=False)


@st.composite
def customers(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 20))
    big_t = np.array(draw(st.lists(st.floats(0.1, 200.0), min_size=n, max_size=n)))
    x = np.array(draw(st.lists(st.integers(0, 60), min_size=n, max_size=n)), dtype=float)
    share = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    recency = np.where(x > 0, big_t * share, 0.0)
    return x, recency, big_t


@st.composite
def bgnbd(draw: st.DrawFn) -> BetaGeoModel:
    return BetaGeoModel(r=draw(positive), alpha=draw(positive), a=draw(positive), b=draw(positive))


@st.composite
def paretonbd(draw: st.DrawFn) -> ParetoNBDModel:
    return ParetoNBDModel(
        r=draw(positive), alpha=draw(positive), s=draw(positive), beta=draw(positive)
    )


@settings(max_examples=60, deadline=None)
@given(model=st.one_of(bgnbd(), paretonbd()), data=customers())
def test_probability_alive_is_a_probability(
    model: BetaGeoModel | ParetoNBDModel, data: tuple[np.ndarray, ...]
) -> None:
    alive = model.probability_alive(*data)
    assert np.isfinite(alive).all()
    assert ((alive >= 0) & (alive <= 1)).all()


@settings(max_examples=40, deadline=None)
@given(model=bgnbd(), data=customers())
def test_bgnbd_customers_without_repeat_purchases_are_alive(
    model: BetaGeoModel, data: tuple[np.ndarray, ...]
) -> None:
    x, _, big_t = data
    zeros = np.zeros_like(x)
    assert (model.probability_alive(zeros, zeros, big_t) == 1.0).all()


@settings(max_examples=40, deadline=None)
@given(
    model=st.one_of(bgnbd(), paretonbd()),
    data=customers(),
    times=st.lists(st.floats(0.0, 150.0), min_size=2, max_size=6),
)
def test_expected_purchases_grow_with_the_horizon(
    model: BetaGeoModel | ParetoNBDModel, data: tuple[np.ndarray, ...], times: list[float]
) -> None:
    times = sorted(times)
    new = model.expected_purchases(np.array(times))
    assert (np.diff(new) >= -1e-9 * (1 + np.abs(new[1:]))).all()
    curves = np.array([model.conditional_expected_purchases(t, *data) for t in times])
    assert np.isfinite(curves).all()
    assert (np.diff(curves, axis=0) >= -1e-9 * (1 + np.abs(curves[1:]))).all()


@settings(max_examples=40, deadline=None)
@given(
    model=st.one_of(bgnbd(), paretonbd()),
    data=customers(),
    rates=st.lists(st.floats(0.0, 0.2), min_size=2, max_size=4),
)
def test_clv_falls_as_the_discount_rate_rises(
    model: BetaGeoModel | ParetoNBDModel, data: tuple[np.ndarray, ...], rates: list[float]
) -> None:
    values = np.array(
        [
            customer_value(model, *data, 30.0, horizon=26, discount_rate=rate).discounted_clv
            for rate in sorted(rates)
        ]
    )
    assert (np.diff(values, axis=0) <= 1e-9 * (1 + np.abs(values[:-1]))).all()
    plain = customer_value(model, *data, 30.0, horizon=26)
    # Without discounting, the discounted sum of increments telescopes to the plain CLV.
    np.testing.assert_allclose(plain.discounted_clv, plain.clv, rtol=1e-9, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from("abcdef"), st.integers(0, 60), st.integers(0, 500)),
        min_size=1,
        max_size=40,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_summary_does_not_depend_on_row_order(rows: list[tuple[str, int, int]], seed: int) -> None:
    ids, days, cents = zip(*rows, strict=True)
    at = np.datetime64("2024-01-01") + np.array(days)
    data = {"customer_id": np.array(ids), "at": at, "amount": np.array(cents) / 100}
    order = np.random.default_rng(seed).permutation(len(rows))
    shuffled = {k: v[order] for k, v in data.items()}
    # Calibration ends on the last day; the days after a middle date form the holdout.
    middle = data["at"].min() + (data["at"].max() - data["at"].min()) // 2
    for end, holdout in ((None, None), (middle, data["at"].max())):
        ends = {"calibration_end": end, "observation_end": holdout}
        assert rfm_summary(data, **ends).equals(rfm_summary(shuffled, **ends))
