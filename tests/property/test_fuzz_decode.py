"""Fuzzing every search space's `decode`: a genome comes back, or one clean InvalidGenomeError line.

Inputs are valid encodings (which must round-trip), mutations of them (characters inserted, deleted or
replaced; runs of thousands of digits; other scripts' digits; Unicode and control whitespace), random text
and inputs over the length cap. Anything but a genome or InvalidGenomeError (IndexError, ValueError from
int()'s digit limit, RecursionError, ...) fails the test with its traceback.

The default run tries 1,000 inputs per space (deterministic). `pytest -m fuzz tests/property` runs the
long, randomised profile as well (EVONAS_FUZZ_EXAMPLES inputs per space, default 25,000).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import InvalidGenomeError
from harness.spaces import SearchSpace, get_space, space_names
from harness.spaces.base import MAX_ENCODING_CHARS

log = logging.getLogger(__name__)

#: parameter variants fuzzed besides each space's defaults (a new space is fuzzed with its defaults)
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "genetic_cnn": [{"stages": [2, 3], "channels": [4, 4]}, {"stages": [5, 6], "channels": [8, 8]}],
    "macro_re": [{"channels": 8, "initial_add_nodes": 8, "max_nodes": 20}, {"initial_add_nodes": 0}],
    "de_sequential": [{"head_width": 64, "dropout": 0.25}, {"min_length": 1, "max_length": 3}],
}

DEFAULT_PROFILE = settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LONG_PROFILE = settings(
    DEFAULT_PROFILE,
    max_examples=int(os.environ.get("EVONAS_FUZZ_EXAMPLES", "25000")),
    derandomize=False,
)

# characters the encodings use, their look-alikes in other scripts, and odd whitespace
SYNTAX = "0123456789-|:>x. CMPAFDNHOLVe+_"
NON_ASCII_DIGITS = "\u0660\u0661\u0662\u06f3\u0967\uff10\uff11\uff19\U0001d7ce\u00b2\u2460"
ODD_SPACE = "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u2003\u2028\u3000\ufeff\x00\x7f"
ALPHABET = SYNTAX + NON_ASCII_DIGITS + ODD_SPACE + "é漢🙂\\'\"#"


def spaces_of(name: str) -> list[SearchSpace]:
    return [get_space(name, **params) for params in [{}, *VARIANTS.get(name, [])]]


def valid_genome(space: SearchSpace, seed: int, steps: int) -> Any:
    """A sampled genome after `steps` mutations (richer than the initial sample)."""
    rng = np.random.default_rng(seed)
    genome = space.sample(rng)
    for _ in range(steps):
        genome = space.mutate(genome, rng)
    return genome


def digit_run(draw: st.DrawFn) -> str:
    digits = draw(st.sampled_from(["9", "1", "0", "\u0661", "\uff19"]))
    return draw(st.sampled_from(["", "-"])) + digits * draw(st.integers(8, 6000))


@st.composite
def fragments(draw: st.DrawFn) -> str:
    """A short piece of text to splice into an encoding."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return digit_run(draw)
    if kind == 1:
        return draw(st.sampled_from(NON_ASCII_DIGITS + ODD_SPACE))
    return draw(st.text(alphabet=ALPHABET, min_size=1, max_size=6))


def mutate_text(draw: st.DrawFn, text: str) -> str:
    """Insert, delete or replace characters of `text`, a few times."""
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        if op == "insert":
            text = text[:at] + draw(fragments()) + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 5)) :]
        elif op == "replace":
            text = text[:at] + draw(fragments()) + text[at + 1 :]
        else:
            text = text[:at] + text[at:] * draw(st.integers(2, 4))
    return text


@st.composite
def cases(draw: st.DrawFn, spaces: list[SearchSpace]) -> tuple[str, SearchSpace, Any, Any]:
    """(kind, space, genome or None, text): kind is valid, mutated, random or huge."""
    space = draw(st.sampled_from(spaces))
    genome = valid_genome(space, draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 6)))
    text = space.encode(genome)
    kind = draw(st.sampled_from(["valid", "mutated", "mutated", "mutated", "random", "huge", "other"]))
    if kind == "valid":
        return kind, space, genome, text
    if kind == "mutated":
        return kind, space, None, mutate_text(draw, text)
    if kind == "random":
        return kind, space, None, draw(st.text(alphabet=ALPHABET, max_size=60) | st.text(max_size=30))
    if kind == "huge":
        filler = draw(st.sampled_from(["0", "9", " ", "-", "|", text + " "]))
        return kind, space, None, filler * (MAX_ENCODING_CHARS // len(filler) + draw(st.integers(1, 10)))
    value = draw(st.sampled_from([None, 0, 1.5, b"1-01", ["1-01"], {"a": 1}, (), text.encode()]))
    return kind, space, None, value


def check_decode(case: tuple[str, SearchSpace, Any, Any]) -> str:
    """Decode one input; returns 'accepted' or 'clean'. Any other exception propagates (a failure)."""
    kind, space, genome, text = case
    try:
        decoded = space.decode(text)
    except InvalidGenomeError as exc:
        message = str(exc)
        assert message and "\n" not in message, message
        assert len(message) <= 600, message[:1000]
        assert kind != "valid", f"valid encoding {text!r} rejected: {message}"
        return "clean"
    again = space.encode(decoded)
    assert space.decode(again) == decoded
    if kind == "valid":
        assert decoded == genome and again == text
    return "accepted"


def run_fuzz(name: str, profile: settings) -> Counter[str]:
    counts: Counter[str] = Counter()

    @profile
    @given(cases(spaces_of(name)))
    def fuzz(case: tuple[str, SearchSpace, Any, Any]) -> None:
        counts["tried"] += 1
        counts[check_decode(case)] += 1

    fuzz()
    log.info("decode fuzz %s: %s", name, dict(counts))
    return counts


def test_every_space_is_fuzzed() -> None:
    assert set(VARIANTS) <= set(space_names())
    for name in space_names():
        assert spaces_of(name)  # the defaults at least


@pytest.mark.parametrize("name", space_names())
def test_decode_fuzz(name: str) -> None:
    counts = run_fuzz(name, DEFAULT_PROFILE)
    assert counts["tried"] >= 1000
    assert counts["accepted"] > 0 and counts["clean"] > 0  # both outcomes are exercised


@pytest.mark.fuzz
@pytest.mark.parametrize("name", space_names())
def test_decode_fuzz_long(name: str, request: pytest.FixtureRequest) -> None:
    if "fuzz" not in (request.config.option.markexpr or ""):
        pytest.skip("the long decode fuzz runs with -m fuzz")
    counts = run_fuzz(name, LONG_PROFILE)
    assert counts["tried"] >= LONG_PROFILE.max_examples


# --- explicit regressions of what fuzzing found or the issue names ---
EXAMPLES = {
    "genetic_cnn": "1-01 0-01-100 0-11-101-0001",
    "macro_re": "0:CONV_3.N | -2>99x -2>0 0>99",
    "de_sequential": "C3x8 MP C5x16 | FC64 D0.5",
}
BAD_INPUTS = {
    "genetic_cnn": ["1-01\u20030-01-100 0-11-101-0001", "1-01\x1c0-01-100\x1c0-11-101-0001", "\uff11-01"],
    "macro_re": [
        "\uff10:CONV_3.N | -2>\uff10 \uff10>99",
        "\u0660:CONV_3.N | -2>\u0660 \u0660>99",
        "0:CONV_3.N | -2>0 0>" + "9" * 5000,
        "9" * 5000 + ":CONV_3.N | -2>99",
        "0:CONV_3.N | -2>0 0>9999999999",
    ],
    "de_sequential": [
        "C3x" + "9" * 5000 + " | FC D0.5",
        "C3x8 | FC" + "9" * 5000 + " D0.5",
        "C3x8 | FC D0." + "5" * 5000,
        "C3x8\xa0MP | FC D0.5",
        "C\u0663x8 | FC D0.5",
    ],
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_decode_refuses_non_ascii_huge_numbers_and_huge_inputs(name: str) -> None:
    space = get_space(name)
    assert space.encode(space.decode(EXAMPLES[name])) == EXAMPLES[name]
    huge = EXAMPLES[name] + " " * MAX_ENCODING_CHARS
    for text in [*BAD_INPUTS[name], huge, "", "   ", "\n"]:
        with pytest.raises(InvalidGenomeError) as info:
            space.decode(text)
        message = str(info.value)
        assert "\n" not in message and len(message) <= 400, message[:500]
