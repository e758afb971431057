"""The type check of ``make test``: mypy in strict mode on app.py and chalicelib/ (configured in
pyproject.toml), then every ``# type: ignore`` in that code, counted against a budget.

Prints mypy's own summary and the ignores with their reasons. Fails when mypy finds an error, when there
are more ignores than the budget, or when an ignore names no error code or gives no reason after it
(``# type: ignore[attr-defined]  # why``). Run it as ``.venv/bin/python tests/typecheck.py``; any
arguments go to mypy. docs/development.md, "Type checking".
"""

from __future__ import annotations

import re
import subprocess
import sys
import tokenize
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("app.py", "chalicelib")
BUDGET = 5
_IGNORE = re.compile(r"#\s*type:\s*ignore(?P<codes>\[[^\]]+\])?(?P<rest>.*)")


class Ignore(NamedTuple):
    where: str
    codes: str
    reason: str

    @property
    def explained(self) -> bool:
        return bool(self.codes) and bool(self.reason)


def ignores(root: Path = ROOT) -> list[Ignore]:
    """Every ``type: ignore`` comment (real comments only: read with tokenize, not grep)."""
    found = []
    for name in CHECKED:
        path = root / name
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            with source.open("rb") as f:
                for token in tokenize.tokenize(f.readline):
                    match = _IGNORE.search(token.string) if token.type == tokenize.COMMENT else None
                    if match:
                        reason = match["rest"].strip().lstrip("#").strip()
                        where = f"{source.relative_to(root)}:{token.start[0]}"
                        found.append(Ignore(where, match["codes"] or "", reason))
    return found


def main(argv: list[str]) -> int:
    checked = subprocess.run([sys.executable, "-m", "mypy", *argv], cwd=ROOT, check=False)
    found = ignores()
    print(f"type: ignore comments in {' and '.join(CHECKED)}: {len(found)} (budget {BUDGET})")
    for ignore in found:
        print(f"  {ignore.where} {ignore.codes or '[no error code]'} {ignore.reason or '(no reason given)'}")
    over = len(found) > BUDGET or not all(ignore.explained for ignore in found)
    return checked.returncode or int(over)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
