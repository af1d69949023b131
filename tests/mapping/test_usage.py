"""The one cache rule (:func:`make_usage`): input includes cache reads and writes, always."""

from __future__ import annotations

import pytest

from pulse.mapping.usage import Usage, make_usage


def test_excluded_input_gets_the_cache_added():
    usage = make_usage(100, 50, cache_read=2000, cache_creation=300, cache_excluded=True)
    assert usage == Usage(2400, 50, 2000, 300)


def test_excluded_without_input_counts_the_cache_alone():
    assert make_usage(None, 5, cache_read=70, cache_excluded=True).input == 70


def test_included_input_is_taken_as_sent():
    assert make_usage(100, 1, cache_read=2000, cache_excluded=False).input == 100


@pytest.mark.parametrize(("input_tokens", "expected"), [(2100, 2100), (2000, 2000), (50, 2050)])
def test_unknown_shape_adds_the_cache_only_when_input_cannot_include_it(input_tokens, expected):
    assert make_usage(input_tokens, 1, cache_read=2000).input == expected


def test_output_from_total_and_negative_counts():
    assert make_usage(30, None, total=100).output == 70
    assert make_usage(-3, -4, cache_read=-1) == Usage(0, 0, 0)


def test_metadata_keeps_only_what_was_reported():
    assert make_usage(1, 2, cache_read=0, total=3).metadata() == {
        "cache_read_input_tokens": 0, "total_tokens": 3}
    assert not Usage().known and Usage(output=0).known
