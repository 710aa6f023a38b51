"""The web UI in headless Chromium against the whole system started by `kubevision up`'s code.

Debian's Chromium (scripts/browser-deps installs it) is driven by Playwright; no browser is
downloaded. Any console error or uncaught page error fails the test. Screenshots of the main
screens go to test-artifacts/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from kubevision.local import LocalSystem

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path("test-artifacts")
# OCR is left out only to keep the browser test quick; its lines are listed like the others.
TASKS = ("classify", "detect", "faces")
CAT_CLASSES = re.compile(r"tabby|tiger cat|Egyptian cat")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        pytest.fail("Chromium is missing; run scripts/browser-deps")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture()
def page(browser: Browser, request: pytest.FixtureRequest
         ) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # The browser logs every 4xx answer; a refused upload is one the test asks for.
        refusal = message.location.get("url", "").endswith("/upload") and "status of 415" in \
            message.text and request.node.get_closest_marker("refusal") is not None
        if message.type == "error" and not refusal:
            problems.append(f"{message.text} ({message.location.get('url')})")

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: problems.append(str(error)))
    yield opened
    context.close()
    assert problems == [], f"console errors in {request.node.name}: {problems}"


def _screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_photo_uploaded_in_the_page_reaches_done_live_with_results(
    system: LocalSystem, page: Page, chelsea_png: bytes, tmp_path: Path
) -> None:
    photo = tmp_path / "chelsea.png"
    photo.write_bytes(chelsea_png)
    page.goto(system.plan.url("gateway"))
    expect(page.locator("#live")).to_have_text("Live")
    for box in page.locator("#upload-form input[name=task]").all():
        box.set_checked(box.get_attribute("value") in TASKS)
    page.evaluate("window.notReloaded = true")

    page.set_input_files("#file-input", str(photo))

    upload_row = page.locator("#uploads li", has_text="chelsea.png")
    expect(upload_row).to_contain_text("Uploaded", timeout=15_000)
    card = page.locator("#gallery .card", has_text="chelsea.png").first
    # The badge changes through the live stream: the page is never reloaded.
    expect(card.locator(".badge")).to_have_text("done", timeout=120_000)
    assert page.evaluate("window.notReloaded") is True
    _screenshot(page, "gallery")

    card.locator("a").click()
    expect(page.locator("#viewer-title .badge")).to_have_text("done")
    expect(page.locator("#classes li").first).to_contain_text(CAT_CLASSES)
    expect(page.locator("#timeline")).to_contain_text("CPUExecutionProvider")
    _expect_boxes_match_their_list(page)
    _screenshot(page, "image-view")

    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#classes li").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "page scrolls sideways"
    _screenshot(page, "image-view-phone")


def _expect_boxes_match_their_list(page: Page) -> None:
    """Every region with a box is drawn and listed; hovering a list entry lights its box."""
    task_id = page.evaluate("fetch(location.hash.replace('#/image/', '/status/'))"
                            ".then(r => r.json()).then(s => s.latest_task.id)")
    task = page.evaluate(f"fetch('/task/{task_id}').then(r => r.json())")
    boxed = [(name, item) for name, result in task["results"].items()
             for item in result["items"] if item.get("box")]
    # The detector finds the cat on chelsea.png, so at least one box must be drawn.
    assert ("detect", "cat") in {(name, item["label"]) for name, item in boxed}
    shapes = page.locator("#overlay .shape")
    expect(shapes).to_have_count(len(boxed))
    entry = page.locator(".linked-entry").first
    entry.hover()
    expect(page.locator("#overlay .shape.active")).to_have_count(1)


@pytest.mark.refusal
def test_refused_file_shows_the_reason_next_to_it(
    system: LocalSystem, page: Page, tmp_path: Path
) -> None:
    note = tmp_path / "notes.txt"
    note.write_text("this is not an image\n")
    page.goto(system.plan.url("gateway"))

    page.set_input_files("#file-input", str(note))

    row = page.locator("#uploads li", has_text="notes.txt")
    expect(row).to_contain_text("Not an image", timeout=15_000)
    expect(row).to_have_class(re.compile("refused"))
    _screenshot(page, "upload-refused")
