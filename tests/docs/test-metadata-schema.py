#!/usr/bin/python3
"""The sidecar schema accepts the documented example and rejects each kind of broken sidecar."""
import copy
import json
import os
import sys

import jsonschema

here = os.path.dirname(os.path.abspath(__file__))
schema = json.load(open(os.path.join(here, "..", "..", "docs", "metadata.schema.json")))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
example = json.load(open(os.path.join(here, "sidecar-example.json")))
failures = []

if not validator.is_valid(example):
    failures.append("the documented example is rejected: %s" % next(validator.iter_errors(example)).message)

# Each mutation must make the sidecar invalid.
MUTATIONS = [
    'd["version"] = 2',
    'd["format"] = "other"',
    'del d["frames_processed"]',
    'd["kind"] = "hour"',
    'd["source"] = "s3://AKIA:secret@host/bucket/key.mp4"',
    'd["source"] = "https://host/bucket/key.mp4?X-Amz-Signature=abc"',
    'd["start_utc"] = "2025-10-20 13:05:00"',
    'd["start_utc_source"] = "guess"',
    'd["width"] = 0',
    'd["frames_seen"] = 1.5',
    'd["stats"]["motion_coverage"] = 1.5',
    'd["stats"]["max_count"] = 70000',
    'del d["settings"]["mask_sha256"]',
    'd["settings"]["mask_sha256"] = "xyz"',
    'd["zones"][0]["polygon"] = [[0.1, 0.1], [0.2, 0.2]]',
    'd["zones"][0]["polygon"][0] = [1.2, 0.5]',
    'd["zones"][0]["polygon"][0] = [0.5]',
    'd["zones"][0]["name"] = ""',
    'd["zones"][0]["series"][0]["active"] = "no"',
    'del d["zones"][0]["series"][0]["activity"]',
    'd["zones"][0]["series"][0]["time_utc"] = "yesterday"',
    'd["files"]["jpeg"] = "../etc/passwd"',
    'del d["files"]["png"]',
]
for m in MUTATIONS:
    d = copy.deepcopy(example)
    exec(m)
    if validator.is_valid(d):
        failures.append("schema accepts a sidecar with: " + m)

# Readers ignore unknown keys: additions stay valid within version 1, as do the null forms.
d = copy.deepcopy(example)
d["new_key"] = {"a": 1}
d["stats"]["accuracy"] = 0.9
d["settings"]["half_life"] = 3.0
d["source"] = d["start_utc"] = d["start_utc_source"] = d["fps"] = None
d["settings"]["mask"] = d["settings"]["mask_sha256"] = None
d["files"]["scene"] = d["files"]["csv"] = None
d["zones"] = []
for e in validator.iter_errors(d):
    failures.append("valid additions/nulls rejected: " + e.message)

for f in failures:
    print("FAIL:", f)
print("metadata schema: %d mutations, %s" % (len(MUTATIONS), "FAILED" if failures else "ok"))
sys.exit(1 if failures else 0)
