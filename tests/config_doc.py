"""The README's settings tables, generated from the declarations in ``pulse/config.py``.

``python -m tests.config_doc --write`` rewrites the block between the markers below;
``tests/test_config.py`` fails when the committed README differs from :func:`build`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pulse.config import GROUPS, options, settings_table

README = Path(__file__).resolve().parents[1] / "README.md"
START = "<!-- settings:start (python -m tests.config_doc --write) -->"
END = "<!-- settings:end -->"


def _code(text: str) -> str:
    return f"`{text}`" if text and not text.startswith("(") else text


def build() -> str:
    """One table per component (otel-config.yaml's top-level keys), settings in declaration
    order."""
    lines: list[str] = []
    groups = [option.group for _, option in options()]
    for group, title in GROUPS.items():
        rows = [row for row, g in zip(settings_table(), groups, strict=True) if g == group]
        if not rows:
            continue
        lines += ["", f"**{title}**", "",
                  "| environment | `otel-config.yaml` key | default | meaning |",
                  "|---|---|---|---|"]
        for env, key, default, meaning in rows:
            names = " / ".join(_code(name) for name in env.split(" / "))
            lines.append(f"| {names} | `{key}` | {_code(default)} | {meaning} |")
    return "\n".join(lines[1:]) + "\n"


def readme_section(readme: str) -> str | None:
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        return None
    return readme[start + len(START):end].strip("\n") + "\n"


def write_readme() -> None:
    text = README.read_text()
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"README.md has no {START} ... {END} markers")
    README.write_text(text[: start + len(START)] + "\n" + build() + text[end:])


if __name__ == "__main__":
    if "--write" in sys.argv:
        write_readme()
    else:
        print(build(), end="")
