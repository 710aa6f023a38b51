"""Every rendered object is valid against the Kubernetes and CRD schemas, and broken ones fail."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from .manifests import Manifest, find, name_of
from .schemas import crd_schemas, validate

# The custom resources the manifests use; each must be checked against its CRD, not skipped.
CRD_KINDS = {
    ("serving.knative.dev/v1", "Service"),
    ("eventing.knative.dev/v1", "Broker"),
    ("eventing.knative.dev/v1", "Trigger"),
    ("sources.knative.dev/v1", "SinkBinding"),
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
}


def test_crd_schemas_cover_every_custom_kind_used() -> None:
    assert CRD_KINDS <= crd_schemas().keys()


def test_overlay_renders_every_custom_kind(
    overlay: str, rendered: dict[str, list[Manifest]]
) -> None:
    used = {(m["apiVersion"], m["kind"]) for m in rendered[overlay]}
    assert CRD_KINDS <= used, f"missing from {overlay}: {CRD_KINDS - used}"


def test_every_object_is_valid(overlay: str, rendered: dict[str, list[Manifest]]) -> None:
    problems = {
        name_of(manifest): errors
        for manifest in rendered[overlay]
        if (errors := validate(manifest))
    }
    assert problems == {}


def _misspell_container_concurrency(m: list[Manifest]) -> Manifest:
    service = copy.deepcopy(find(m, "Service", "upload")[0])
    spec = service["spec"]["template"]["spec"]
    spec["containerConcurency"] = spec.pop("containerConcurrency")
    return service


def _retry_as_words(m: list[Manifest]) -> Manifest:
    trigger = copy.deepcopy(find(m, "Trigger")[0])
    trigger["spec"]["delivery"]["retry"] = "ten"
    return trigger


def _dead_letter_ref_typo(m: list[Manifest]) -> Manifest:
    broker = copy.deepcopy(find(m, "Broker")[0])
    ref = broker["spec"]["delivery"]["deadLetterSink"]["ref"]
    ref["nmae"] = ref.pop("name")
    return broker


def _min_replicas_as_text(m: list[Manifest]) -> Manifest:
    scaled_object = copy.deepcopy(find(m, "ScaledObject")[0])
    scaled_object["spec"]["minReplicaCount"] = "zero"
    return scaled_object


def _route_without_rules_list(m: list[Manifest]) -> Manifest:
    route = copy.deepcopy(find(m, "HTTPRoute")[0])
    route["spec"]["rules"] = {"path": "/"}
    return route


def _deployment_unknown_field(m: list[Manifest]) -> Manifest:
    deployment = copy.deepcopy(find(m, "Deployment", "worker")[0])
    deployment["spec"]["template"]["spec"]["gpus"] = 1
    return deployment


def _cronjob_schedule_as_number(m: list[Manifest]) -> Manifest:
    cron_job = copy.deepcopy(find(m, "CronJob")[0])
    cron_job["spec"]["schedule"] = 60
    return cron_job


def _unknown_kind(m: list[Manifest]) -> Manifest:
    return {"apiVersion": "example.dev/v1", "kind": "Gizmo", "metadata": {"name": "x"}}


@pytest.mark.parametrize(
    "break_one",
    [
        _misspell_container_concurrency,
        _retry_as_words,
        _dead_letter_ref_typo,
        _min_replicas_as_text,
        _route_without_rules_list,
        _deployment_unknown_field,
        _cronjob_schedule_as_number,
        _unknown_kind,
    ],
)
def test_broken_manifest_fails_validation(
    break_one: Callable[[list[Manifest]], Manifest], rendered: dict[str, list[Manifest]]
) -> None:
    broken = break_one(rendered["prod"])

    assert validate(broken) != []
