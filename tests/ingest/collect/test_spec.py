"""The checks of the collection API's messages: what is refused, with which words."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insightloop.ingest.collect import CollectError, messages_of
from insightloop.ingest.collect.spec import _plain_track, message_problem

_IDS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.sampled_from(["", " ", "\t", "u1", " u2 ", "\u00a0", "\u2003x"]),
    st.text(max_size=4),
    st.lists(st.text(max_size=2), max_size=2),
)
_MESSAGES = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["track", "identify", "page", "alias", "Track", "", None]),
            "event": _IDS,
            "userId": _IDS,
            "anonymousId": _IDS,
            "previousId": _IDS,
            "groupId": _IDS,
        },
    ),
    st.none(),
    st.integers(),
    st.text(max_size=3),
    st.lists(st.integers(), max_size=2),
)


@given(_MESSAGES)
def test_the_inline_check_of_track_calls_never_accepts_what_the_full_check_refuses(
    message: Any,
) -> None:
    if _plain_track(message):
        assert message_problem(message) is None


@given(st.lists(_MESSAGES, max_size=6))
def test_a_batch_is_refused_exactly_when_a_message_has_a_problem(messages: list[Any]) -> None:
    problems = [(i, message_problem(m)) for i, m in enumerate(messages)]
    problems = [(i, p) for i, p in problems if p is not None]
    if not problems:
        assert messages_of({"batch": messages}, "batch") == messages
        return
    with pytest.raises(CollectError) as caught:
        messages_of({"batch": messages}, "batch")
    assert caught.value.code == "invalid_message"
    assert caught.value.problems == [{"index": i, "problem": p} for i, p in problems]


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"type": "track", "userId": "u1"}, "a track call needs an event name"),
        ({"type": "track", "event": " ", "userId": "u1"}, "a track call needs an event name"),
        ({"type": "track", "event": "x", "userId": " "}, "it has neither userId nor anonymousId"),
        ({"type": "track", "event": "x", "userId": True}, "it has neither userId nor anonymousId"),
        ({"type": "track", "event": "x", "userId": 7}, None),
        ({"type": "track", "event": "x", "anonymousId": "a"}, None),
        ({"type": "alias", "userId": "u1"}, "an alias needs previousId and userId"),
    ],
)
def test_message_problems_name_what_is_missing(
    message: dict[str, Any], problem: str | None
) -> None:
    assert message_problem(message) == problem
