"""Fixtures for the deploy checks: the tools, and each overlay rendered once per session."""

from __future__ import annotations

import pytest

from .manifests import OVERLAYS, Manifest, ToolMissingError, find_tool, render


@pytest.fixture(scope="session")
def kubectl() -> str:
    try:
        return find_tool("kubectl", "KV_KUBECTL")
    except ToolMissingError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def rendered(kubectl: str) -> dict[str, list[Manifest]]:
    """Overlay name to the objects it renders."""
    return {overlay: render(kubectl, overlay) for overlay in OVERLAYS}


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest, rendered: dict[str, list[Manifest]]) -> str:
    name: str = request.param
    return name
