"""The committed docs/compat-matrix.md matches what the golden fixtures show."""

from __future__ import annotations

from tests.mapping.compat_matrix import DOC, README, build, readme_section, table_rows


def test_committed_matrix_is_current() -> None:
    assert DOC.read_text() == build(), (
        "docs/compat-matrix.md is stale: run python -m tests.mapping.compat_matrix --write"
    )


def test_readme_embeds_the_current_matrix() -> None:
    section = readme_section(README.read_text())
    assert section is not None, "README.md lost its compat-matrix markers"
    assert section == table_rows(build()), (
        "README.md's matrix is stale: run python -m tests.mapping.compat_matrix --write"
    )
