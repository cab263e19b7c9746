#!/usr/bin/env python3
"""Validates FHIR JSON files from outside Ossa (the FHIR suite, Tests/OssaWebTests/FHIRTests.swift, runs it).

    validate.py fhirkit FILE...          fhirkit-rs (exact R4 4.0.1): every issue with its path
    validate.py fhir.resources FILE...   fhir.resources' R4B models (pydantic): structural validation

Each file holds one resource (a Bundle's entries are validated with it). Prints one line per problem,
`FILE: message`, and exits 1 when any file has one, 0 when all are valid, 2 when the tool is missing.
"""
import json
import sys


def with_fhirkit(paths):
    import fhirkit
    problems = []
    for path in paths:
        text = open(path, encoding="utf-8").read()
        for issue in fhirkit.validate(text):
            if str(getattr(issue, "severity", "error")).lower() in ("error", "fatal"):
                problems.append(f"{path}: {issue}")
    return problems


def with_fhir_resources(paths):
    import importlib
    problems = []
    for path in paths:
        text = open(path, encoding="utf-8").read()
        kind = json.loads(text).get("resourceType", "")
        module = importlib.import_module("fhir.resources.R4B." + kind.lower())
        model = getattr(module, kind)
        try:
            model.model_validate_json(text)
        except Exception as error:  # pydantic.ValidationError lists every field
            problems.append(f"{path}: {error}")
    return problems


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("fhirkit", "fhir.resources"):
        print(__doc__, file=sys.stderr)
        return 2
    tool, paths = sys.argv[1], sys.argv[2:]
    try:
        problems = with_fhirkit(paths) if tool == "fhirkit" else with_fhir_resources(paths)
    except ImportError as error:
        print(f"{tool} is not installed for {sys.executable}: {error}", file=sys.stderr)
        return 2
    for line in problems:
        print(line)
    print(f"{tool}: {len(paths)} files, {len(problems)} with problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
