"""The Slack app manifest is valid against Slack's published schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[1]
# Slack's published manifest schema, vendored with its MIT licence (tests/data/slack/LICENSE-manifest-schema).
SCHEMA = ROOT / "tests" / "data" / "slack" / "manifest.schema.1.0.0.json"


def test_manifest_matches_slacks_schema() -> None:
    manifest = yaml.safe_load((ROOT / "app_manifest.yaml").read_text(encoding="utf-8"))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(manifest, schema)
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/mentoring"]


def test_a_broken_manifest_is_caught() -> None:
    manifest = yaml.safe_load((ROOT / "app_manifest.yaml").read_text(encoding="utf-8"))
    manifest["features"]["unknown_feature"] = True
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    try:
        jsonschema.validate(manifest, schema)
    except jsonschema.ValidationError as exc:
        assert "unknown_feature" in exc.message
    else:
        raise AssertionError("the schema accepted an unknown key")
