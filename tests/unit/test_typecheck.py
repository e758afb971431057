"""The type check's ignore budget counts real ``# type: ignore`` comments and asks each for its reason."""

from __future__ import annotations

from pathlib import Path

from tests.typecheck import ignores


def test_only_real_comments_count_and_each_needs_a_code_and_a_reason(tmp_path: Path) -> None:
    (tmp_path / "chalicelib").mkdir()
    (tmp_path / "app.py").write_text(
        'TEXT = "# type: ignore in a string is not a comment"\n'
        "x = f()  # type: ignore[attr-defined]  # moto has no stubs for its backends\n",
        encoding="utf-8",
    )
    (tmp_path / "chalicelib" / "m.py").write_text("y = g()  # type: ignore\nz = h()  # type: ignore[misc]\n")
    found = ignores(tmp_path)
    assert [(i.where, i.codes, i.explained) for i in found] == [
        ("app.py:2", "[attr-defined]", True),
        ("chalicelib/m.py:1", "", False),
        ("chalicelib/m.py:2", "[misc]", False),
    ]
    assert found[0].reason == "moto has no stubs for its backends"
