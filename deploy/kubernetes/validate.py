#!/usr/bin/env python3
"""Validates rendered Kubernetes manifests without a cluster.

Usage: validate.py [--kubernetes-version 1.30.0] FILE...   (`-` reads standard input)

Built-in kinds are checked, strictly (an unknown field is an error), against the Kubernetes
OpenAPI schemas that the kubernetes-validate package bundles; the operators' kinds against
the JSON schemas in schemas/ (RabbitmqCluster, CloudNativePG Cluster, KEDA ScaledObject and
TriggerAuthentication). A kind with neither is an error too, so that nothing passes
unchecked. Prints one line per problem (file, document, kind/name, field path, message) and
exits 1 if there is any; 2 if the validators are not installed.
"""
import argparse
import json
import os
import sys

try:
    import jsonschema
    import kubernetes_validate
    import yaml
except ImportError as error:
    sys.stderr.write(
        f"validate.py: {error.name} is not installed: pip install kubernetes-validate jsonschema pyyaml"
        " (scripts/test installs them)\n")
    sys.exit(2)

SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas")
CUSTOM_KINDS = {
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): "rabbitmqcluster.json",
    ("postgresql.cnpg.io/v1", "Cluster"): "cnpg-cluster.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "keda-scaledobject.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda-triggerauthentication.json",
}


def field_path(path):
    return ".".join(str(part) for part in path) or "(top level)"


def problems(document, version, validators):
    key = (document.get("apiVersion"), document.get("kind"))
    if key in CUSTOM_KINDS:
        if key not in validators:
            validators[key] = load(CUSTOM_KINDS[key])
        validator = validators[key]
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path))):
            yield f"{field_path(error.absolute_path)}: {error.message}"
        return
    try:
        kubernetes_validate.validate(document, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        yield f"{field_path(error.path)}: {error.message}"
    except kubernetes_validate.SchemaNotFoundError:
        yield f"no schema for {key[0]} {key[1]}: neither a Kubernetes {version} kind nor one in {SCHEMAS}"


def load(name):
    with open(os.path.join(SCHEMAS, name), encoding="utf-8") as file:
        schema = json.load(file)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubernetes-version", default="1.30.0")
    parser.add_argument("files", nargs="+")
    arguments = parser.parse_args()
    validators = {}
    failures = 0
    checked = 0
    for path in arguments.files:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        try:
            documents = list(yaml.safe_load_all(text))
        except yaml.YAMLError as error:
            print(f"{path}: not valid YAML: {error}")
            failures += 1
            continue
        for index, document in enumerate(documents):
            if document is None:
                continue
            if not isinstance(document, dict) or "kind" not in document or "apiVersion" not in document:
                print(f"{path}[{index}]: not a Kubernetes object (no apiVersion and kind)")
                failures += 1
                continue
            checked += 1
            name = (document.get("metadata") or {}).get("name", "?")
            for problem in problems(document, arguments.kubernetes_version, validators):
                print(f"{path}[{index}] {document['kind']}/{name}: {problem}")
                failures += 1
    print(f"validate.py: {checked} object(s) checked, {failures} problem(s)")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
