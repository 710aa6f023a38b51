"""The Dockerfile lints clean, and every image target is small-surface, non-root and checked."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from .dockerfile import DOCKERFILE, inherited, lineage, stages
from .manifests import REPO_ROOT, ToolMissingError, find_tool

# The stages that become images; the others (builder, models, ...) are build steps.
IMAGE_TARGETS = ("upload", "process", "status", "bridge", "ops", "worker-cpu", "worker-gpu")


def test_dockerfile_passes_hadolint() -> None:
    try:
        hadolint = find_tool("hadolint", "KV_HADOLINT")
    except ToolMissingError as error:
        pytest.fail(str(error))

    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("target", IMAGE_TARGETS)
def test_image_target_runs_as_non_root(target: str) -> None:
    user = inherited(target, "USER", stages())

    assert user is not None, f"{target} never sets USER, so it runs as root"
    assert user.split(":")[0] not in {"0", "root"}


@pytest.mark.parametrize("target", IMAGE_TARGETS)
def test_image_target_has_healthcheck(target: str) -> None:
    healthcheck = inherited(target, "HEALTHCHECK", stages())

    assert healthcheck is not None
    # Only the one-shot ops image, which serves nothing, may opt out.
    assert healthcheck != "NONE" or target == "ops"


@pytest.mark.parametrize("target", IMAGE_TARGETS)
def test_image_target_base_is_pinned_to_exact_version(target: str) -> None:
    base = lineage(target, stages())[-1].base
    tag = base.split("@")[0].rsplit(":", 1)[-1] if ":" in base.split("/")[-1] else ""

    assert "@sha256:" in base or re.match(r"v?\d+\.\d+\.\d+", tag), f"{target} from {base}"


def test_http_targets_listen_on_port_variable() -> None:
    """Knative and compose set $PORT; the healthcheck and the server both read it."""
    all_stages = stages()
    for target in ("upload", "process", "status", "bridge"):
        assert "PORT" in (inherited(target, "HEALTHCHECK", all_stages) or "")
        assert re.search(r"\bPORT=8080\b", inherited(target, "ENV", all_stages) or "")


def test_dockerignore_admits_no_tests_docs_or_secrets() -> None:
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}

    assert "*" in lines, "the .dockerignore should ignore everything, then admit sources"
    assert not allowed & {"tests", "docs", "knative", ".env", "knative/secrets", ".git"}


def test_http_services_do_not_import_the_workers_libraries() -> None:
    # The HTTP images are built without the worker extra, so OpenCV is not there to import;
    # ONNX Runtime is, but loading it would only slow every cold start.
    probe = ("import sys; import functions.upload.app, functions.process.app, "
             "functions.status.app, bridge.app; print(sorted({'cv2', 'onnxruntime'} & "
             "set(sys.modules)))")

    finished = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              check=True, cwd=REPO_ROOT)

    assert finished.stdout.strip() == "[]"
