"""Amount readings: the string-method reader agrees with the pattern that defines an amount."""
from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.values import cents, cents_by_pattern

# Amount-like text: digits, signs, dots and a few look-alikes (Unicode digits, spaces, commas).
_ALPHABET = st.sampled_from(list("0123456789-.+, \n") + ["٣", "²", "１", "é"])


@pytest.mark.parametrize("text, expected", [
    ("1234.56", 123456), ("-0012.34", -1234), ("0.00", 0), ("-0.00", 0), ("7.05", 705),
    ("12.3", None), ("12.345", None), ("12,34", None), (".12", None), ("-.12", None), ("--1.00", None),
    ("+1.00", None), ("1.00\n", None), (" 1.00", None), ("1.2.34", None), ("١.00", None), ("1.٠٠", None),
    ("", None), (None, None),
])
def test_an_amount_reads_as_cents_only_in_the_norm_format(text, expected):
    """Exactly two decimals after a dot, ASCII digits, an optional leading minus: else no amount."""
    assert cents(text) == expected == cents_by_pattern(text)


@settings(max_examples=400, deadline=None)
@given(st.text(_ALPHABET, max_size=12))
@example("-")
@example("-.00")
@example("00.00")
def test_the_fast_amount_reader_agrees_with_the_pattern_on_any_text(text):
    """Whatever the text, both readers give the same cents (or both none)."""
    assert cents(text) == cents_by_pattern(text)
