"""Infrastructure tests: the packaged template itself (built once per session, as `make package` does)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra import package as packager

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make package STAGE=prod` into a temporary directory: returns it (sam.json, deployment.zip)."""
    out = tmp_path_factory.mktemp("build") / "prod"
    packager.package("prod", out)
    return out


@pytest.fixture(scope="session")
def template(packaged: Path) -> dict[str, Any]:
    return json.loads((packaged / "sam.json").read_text())


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}


def chalice_name(function: dict[str, Any]) -> str:
    """The chalice name of a packaged function, from the FunctionName infra/render.py gives it."""
    return function["Properties"]["FunctionName"]["Fn::Sub"].removeprefix("${AWS::StackName}-")
