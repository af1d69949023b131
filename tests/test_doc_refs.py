"""Every reference into the repository's own contracts resolves, so references cannot rot.

Code, tests, scripts, examples and docs cite the contracts in ``docs/`` in one form:
``docs/<file>.md §<Section heading>`` (the heading exactly as written, on the same line; several
sections of one file may follow as ``§A, §B``). This test scans every text file of the repository
and checks that each cited file exists and has a heading that the text after ``§`` starts with.
It also checks the Markdown links between the docs and from the README (``file.md#anchor``), that
a ``§`` is never used without a document (the old style of notes outside the repository), that
the repository paths a Markdown file names in backticks exist, and that no reference points at
the design notes that were never part of the repository.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SUFFIXES = {".py", ".md", ".sql", ".sh", ".toml", ".yaml", ".yml", ".env", ".html", ".js",
            ".css", ".txt", ".cfg", ".ini", ""}
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", "test-artifacts", "data"}

# `docs/api.md §Native ingest` (the heading follows the §), or a quoted `docs/api.md, "Heading"`
REF = re.compile(r"docs/([\w-]+)\.md(?: ?§|, \")")
SECTION = re.compile(r"§")
MD_LINK = re.compile(r"\]\((?:\.?/?(?:docs/)?)([\w-]+)\.md#([^)\s]+)\)")
# The design notes the project started from lived outside the repository; nothing may cite them.
# A repository path the docs name in backticks: `pulse/mapping/usage.py`, `tests/api/`.
REPO_PATH = re.compile(r"`((?:pulse|tests|bench|scripts|examples|grafana|docs)/[^`\s]*)`")
OUTSIDE = re.compile(r"\b(?:SPEC|MAPPING|DESIGN)\.md\b")


def text_files() -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        found += [Path(folder, f) for f in files if Path(f).suffix in SUFFIXES]
    return found


def read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


@cache
def headings(doc: str) -> tuple[str, ...]:
    """Headings of ``docs/<doc>.md`` (outside code blocks), as written and without backticks."""
    path = DOCS / f"{doc}.md"
    if not path.is_file():
        return ()
    found, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"#{1,6} (.+?)\s*$", line)):
            found += [m.group(1), m.group(1).replace("`", "")]
    return tuple(found)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.lower())
    return text.replace(" ", "-")


def starts_with_heading(text: str, doc: str) -> bool:
    for heading in headings(doc):
        if text.startswith(heading) and (len(text) == len(heading)
                                         or not text[len(heading)].isalnum()):
            return True
    return False


def check_line(line: str) -> list[str]:
    """Problems with the section references on one line."""
    problems = []
    doc = None
    refs = {m.end(): m.group(1) for m in REF.finditer(line)}
    starts = sorted(refs)
    for m in SECTION.finditer(line):
        begun = [s for s in starts if s <= m.end()]
        if not begun:
            problems.append(f"§ without a document: {line.strip()!r}")
            continue
        doc = refs[begun[-1]]
        if not headings(doc):
            problems.append(f"docs/{doc}.md does not exist: {line.strip()!r}")
        elif not starts_with_heading(line[m.end():], doc):
            problems.append(f"no heading in docs/{doc}.md starts {line[m.end():][:40]!r}")
    for m in REF.finditer(line):
        if m.group(0).endswith('"'):
            doc = m.group(1)
            if not starts_with_heading(line[m.end():], doc):
                problems.append(f"no heading in docs/{doc}.md starts {line[m.end():][:40]!r}")
    return problems


def check_links(text: str, doc_of_file: str | None) -> list[str]:
    """Anchors of Markdown links to the docs (``[x](api.md#rows)``, ``[x](#rows)``)."""
    problems = []
    for m in MD_LINK.finditer(text):
        doc, anchor = m.group(1), m.group(2)
        if (DOCS / f"{doc}.md").is_file() and anchor not in {slug(h) for h in headings(doc)}:
            problems.append(f"no heading for anchor {doc}.md#{anchor}")
    if doc_of_file:
        for anchor in re.findall(r"\]\(#([^)\s]+)\)", text):
            if anchor not in {slug(h) for h in headings(doc_of_file)}:
                problems.append(f"no heading for anchor #{anchor}")
    return problems


def check_paths(text: str) -> list[str]:
    """Repository paths named in a document exist (patterns like ``<name>.json`` are skipped);
    a ``docs/<file>.md#anchor`` also needs the heading."""
    problems = []
    for named in REPO_PATH.findall(text):
        path, _, anchor = named.partition("#")
        path = path.partition("::")[0]  # `pulse/x.py::function`
        if re.search(r"[<>*{}]|\.\.\.", path):
            continue
        if not (ROOT / path).exists():
            problems.append(f"names {named!r}, which does not exist")
        elif anchor and path.startswith("docs/") and path.endswith(".md"):
            problems += check_links(f"]({path}#{anchor})", None)
    return problems


def test_every_section_reference_resolves():
    problems = []
    for path in text_files():
        text = read(path)
        if text is None or path == Path(__file__):
            continue
        rel = path.relative_to(ROOT)
        for number, line in enumerate(text.splitlines(), 1):
            problems += [f"{rel}:{number}: {p}" for p in check_line(line)]
            if OUTSIDE.search(line):
                problems.append(f"{rel}:{number}: cites notes outside the repository")
        if path.suffix == ".md":
            own = path.stem if path.parent == DOCS else None
            problems += [f"{rel}: {p}" for p in check_links(text, own)]
            problems += [f"{rel}: {p}" for p in check_paths(text)]
    assert not problems, "\n".join(problems)


def test_the_checker_catches_what_it_is_for():
    """The checker itself: a good reference passes, each kind of rot is reported."""
    assert check_line("see docs/api.md §Native ingest, and §Trace item.") == []
    assert check_line('(docs/architecture.md, "Ingest path")') == []
    assert check_line("docs/sql.md §`pulse.traces_v1` - one row per LLM call") == []
    assert check_line("see docs/api.md §Native ingestion") != []  # no such heading
    assert check_line("see docs/api.md §Native") != []  # a heading's first word is not enough
    assert check_line("see docs/nothing.md §Rows") != []
    assert check_line("the rule of §6") != []
    assert check_line('(docs/architecture.md, "The ingest path")') != []
    assert check_links("[x](api.md#rows) [y](docs/mapping.md#cost)", None) == []
    assert check_links("[x](api.md#no-such-section)", None) != []
    assert check_links("[x](#rows)", "api") == [] and check_links("[x](#nope)", "api") != []
    assert check_paths("`pulse/records.py`, `tests/data/otlp/<name>.json`") == []
    assert check_paths("`pulse/collector/status.py`") != []
    assert check_paths("`docs/mapping.md#cost`, `pulse/mapping/cost.py::trace_cost`") == []
    assert check_paths("`docs/mapping.md#no-such-section`") != []
    assert slug("Start-up and shutdown") == "start-up-and-shutdown"
    assert slug("`pulse.traces_v1` - one row") == "pulsetraces_v1---one-row"
