"""Validating manifests against the real Kubernetes schemas, offline.

Core kinds are checked with the ``kubernetes-validate`` package's bundled schemas; custom
resources against the ``openAPIV3Schema`` of the upstream CRDs in ``../shared/k8s-schemas``.
Both are strict: a field the schema does not know is an error, as it is for the API server
under ``kubectl apply``'s default ``--validate=strict``.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from .manifests import REPO_ROOT, Manifest

# The oldest Kubernetes minor release the manifests are written for (docs/deploy.md).
KUBERNETES_VERSION = "1.33"

Schema = dict[str, Any]


def schemas_dir() -> Path:
    """The upstream CRDs: ``$KV_K8S_SCHEMAS``, else ``shared/k8s-schemas`` beside the repository
    or beside the local repository it was cloned from (a CI clone of a working copy)."""
    from_env = os.environ.get("KV_K8S_SCHEMAS")
    candidates = [Path(from_env)] if from_env else []
    candidates.append(REPO_ROOT.parent / "shared" / "k8s-schemas")
    origin = _local_origin()
    if origin is not None:
        candidates.append(origin.parent / "shared" / "k8s-schemas")
    for candidate in candidates:
        if (candidate / "crds").is_dir():
            return candidate
    raise FileNotFoundError(
        "no CRD schemas (a crds/ folder) in any of "
        + ", ".join(str(c) for c in candidates)
        + "; set $KV_K8S_SCHEMAS to the folder that holds crds/"
    )


def _local_origin() -> Path | None:
    """The folder of the ``origin`` remote when it is a path on this machine."""
    try:
        url = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "config", "--get", "remote.origin.url"],
            capture_output=True, text=True, check=False,
        ).stdout.strip()
    except OSError:
        return None
    url = url.removeprefix("file://")
    return Path(url).resolve() if url.startswith("/") else None


def strict(schema: Schema) -> Schema:
    """A CRD's structural schema as a JSON schema that refuses unknown fields.

    Kubernetes prunes or refuses fields an object schema does not list unless it says
    ``x-kubernetes-preserve-unknown-fields``; JSON schema allows them unless told otherwise.
    Its ``int-or-string`` and ``nullable`` extensions become plain JSON schema types too.
    CEL rules (``x-kubernetes-validations``) are not evaluated.
    """
    out = dict(schema)
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("anyOf", None)
        out["type"] = ["integer", "string"]
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if "properties" in out:
        out["properties"] = {key: strict(value) for key, value in out["properties"].items()}
    for key in ("items", "additionalProperties", "not"):
        if isinstance(out.get(key), dict):
            out[key] = strict(out[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in out:
            out[key] = [strict(branch) for branch in out[key]]
    is_closed_object = (
        out.get("type") == "object"
        and "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    )
    if is_closed_object:
        out["additionalProperties"] = False
    return out


def _with_object_meta(schema: Schema) -> Schema:
    """The root schema with the fields the API server adds to every CRD (some omit them)."""
    implicit = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}}
    implicit["metadata"] = {"type": "object"}
    return {**schema, "properties": {**implicit, **schema.get("properties", {})}}


@cache
def crd_schemas() -> dict[tuple[str, str], Schema]:
    """``(apiVersion, kind)`` to strict schema, for every served version of every CRD."""
    found: dict[tuple[str, str], Schema] = {}
    for path in sorted((schemas_dir() / "crds").glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if version.get("served") and "schema" in version:
                    schema = strict(_with_object_meta(version["schema"]["openAPIV3Schema"]))
                    found[(f"{group}/{version['name']}", kind)] = schema
    return found


def validate(manifest: Manifest) -> list[str]:
    """Every schema violation in one manifest; an empty list when it is valid."""
    key = (manifest.get("apiVersion", ""), manifest.get("kind", ""))
    schema = crd_schemas().get(key)
    if schema is not None:
        validator = jsonschema.Draft202012Validator(schema)
        return [
            f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
            for error in validator.iter_errors(manifest)
        ]
    try:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no schema for {key[0]} {key[1]}: neither a core kind nor a known CRD"]
    except kubernetes_validate.ValidationError as error:
        # kubernetes-validate stops at the first error; one is enough to fail.
        return [f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"]
    return []
