"""Render the CloudFormation that `chalice package --merge-template` merges into chalice's output.

The table comes from ``chalicelib.tables``: the same definition the local run and the tests create, so
the deployed keys, index, stream and TTL are the ones the code uses.
Usage: python infra/render.py STAGE OUTPUT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib import tables

TABLE_RESOURCE = "SurveysTable"


def render(stage: str) -> dict:
    if stage not in ("dev", "prod"):
        raise SystemExit(f"unknown stage {stage!r}: use dev or prod")
    return {
        "Resources": {
            TABLE_RESOURCE: tables.cloudformation_table(deletion_protection=stage == "prod"),
            "APIHandler": {
                "Properties": {"Environment": {"Variables": {"TABLE_NAME": {"Ref": TABLE_RESOURCE}}}},
            },
        },
        "Outputs": {
            "TableName": {"Value": {"Ref": TABLE_RESOURCE}},
            "TableStreamArn": {"Value": {"Fn::GetAtt": [TABLE_RESOURCE, "StreamArn"]}},
        },
    }


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    out = Path(sys.argv[2])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(render(sys.argv[1]), indent=2) + "\n")


if __name__ == "__main__":
    main()
