"""The README stays a front page and the docs stay navigable: what a newcomer clicks on must exist, and
every test the security page cites as proof must still be there to prove it."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)


def _prose(path: Path) -> str:
    """The markdown without its code blocks: a `[x](y)` inside a shell example is not a link."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen."""
    text = heading.strip().lower()
    kept = "".join(ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in "LN")
    return kept.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_anchor(line.lstrip("#")) for line in _prose(path).splitlines() if re.match(r"#{1,6} ", line)}


def _relative_links(path: Path) -> list[str]:
    return [target for target in LINK.findall(_prose(path)) if not re.match(r"[a-z][a-z0-9+.-]*:", target)]


def test_the_readme_is_a_front_page_of_at_most_300_lines() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines; move the detail to docs/"


def test_every_relative_link_in_the_readme_and_the_docs_reaches_a_file_and_its_heading() -> None:
    broken = []
    for page in [README, *DOCS]:
        for target in _relative_links(page):
            file_part, _, fragment = target.partition("#")
            dest = (page.parent / file_part).resolve() if file_part else page
            if not dest.is_file():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif fragment and dest.suffix == ".md" and fragment not in _anchors(dest):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_the_readme_links_every_doc() -> None:
    linked = {(README.parent / target.partition("#")[0]).resolve() for target in _relative_links(README)}
    missing = [doc.relative_to(ROOT).as_posix() for doc in DOCS if doc.resolve() not in linked]
    assert not missing, f"docs the README's reading list does not name: {missing}"


def _abuse_case_rows() -> list[list[str]]:
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    section = text.split("\n## Abuse cases\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    header, rule, *body = rows
    assert header.startswith("| abuse case | what stops it | test |") and set(rule) <= set("| -")
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in body]


def test_every_abuse_case_names_tests_that_exist() -> None:
    rows = _abuse_case_rows()
    assert len(rows) >= 29, "the abuse-case table lost rows"
    missing = []
    for case, _stops, tests in rows:
        names = re.findall(r"`([^`]*::[^`]+)`", tests)
        assert names, f"no test named for: {case}"
        current_file = None
        for name in names:
            file_part, _, test_name = name.partition("::")
            # `::test_x` continues the file named before it in the same cell.
            current_file = file_part or current_file
            assert current_file, f"{name} names no file ({case})"
            source = ROOT / current_file
            if not source.is_file() or not re.search(rf"^\s*def {re.escape(test_name)}\(", source.read_text(), re.M):
                missing.append(f"{current_file}::{test_name}")
    assert not missing, "tests the security page cites but that do not exist:\n" + "\n".join(missing)
