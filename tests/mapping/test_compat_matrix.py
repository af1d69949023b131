"""The committed docs/compat-matrix.md matches what the golden fixtures show."""

from __future__ import annotations

from tests.mapping.compat_matrix import DOC, build


def test_committed_matrix_is_current() -> None:
    assert DOC.read_text() == build(), (
        "docs/compat-matrix.md is stale: run python -m tests.mapping.compat_matrix --write"
    )
