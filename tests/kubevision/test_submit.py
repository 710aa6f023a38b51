"""`kubevision submit` as a person runs it: a folder in, results out, the exit code honest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image
from skimage import data as skdata

from kubevision.local import LocalSystem
from tests.support.system import free_port


def _submit(system: LocalSystem, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubevision", "submit", *args, "--url",
         system.plan.url("gateway"), "--timeout", "180"],
        capture_output=True, text=True, timeout=240, check=False,
    )


def test_submit_folder_waits_and_prints_every_result(system: LocalSystem, tmp_path: Path) -> None:
    Image.fromarray(skdata.chelsea()).save(tmp_path / "chelsea.png")
    Image.fromarray(skdata.astronaut()).save(tmp_path / "astronaut.jpg")

    finished = _submit(system, str(tmp_path), "--wait", "--json")

    assert finished.returncode == 0, finished.stderr
    lines = [json.loads(line) for line in finished.stdout.splitlines()]
    by_name = {Path(line["path"]).name: line for line in lines}
    assert set(by_name) == {"chelsea.png", "astronaut.jpg"}
    assert all(line["state"] == "done" for line in lines)
    cat_labels = [i["label"] for i in by_name["chelsea.png"]["results"]["classify"]["items"][:3]]
    assert {"tabby", "tiger cat", "Egyptian cat"} & set(cat_labels)
    assert len(by_name["astronaut.jpg"]["results"]["faces"]["items"]) == 1


def test_submit_human_output_names_classes_and_boxes(system: LocalSystem, tmp_path: Path) -> None:
    photo = tmp_path / "coffee.png"
    Image.fromarray(skdata.coffee()).save(photo)

    finished = _submit(system, str(photo), "--wait", "--tasks", "classify,detect")

    assert finished.returncode == 0, finished.stderr
    assert "classify: espresso" in finished.stderr
    assert "detect:" in finished.stderr


def test_submit_exits_non_zero_when_a_file_is_refused(
    system: LocalSystem, tmp_path: Path
) -> None:
    Image.fromarray(skdata.coffee()).save(tmp_path / "coffee.png")
    (tmp_path / "notes.jpg").write_text("not a picture")

    finished = _submit(system, str(tmp_path / "coffee.png"), str(tmp_path / "notes.jpg"),
                       "--wait", "--tasks", "classify")

    assert finished.returncode == 1
    assert "not_an_image" in finished.stderr
    assert "espresso" in finished.stderr


def test_submit_unknown_task_is_refused_by_the_server(
    system: LocalSystem, tmp_path: Path
) -> None:
    Image.fromarray(skdata.coffee()).save(tmp_path / "coffee.png")

    finished = _submit(system, str(tmp_path / "coffee.png"), "--tasks", "telepathy")

    assert finished.returncode == 1
    assert "telepathy" in finished.stderr


def test_submit_to_an_address_where_nothing_listens_says_so_in_one_line(tmp_path: Path) -> None:
    Image.fromarray(skdata.coffee()).save(tmp_path / "coffee.png")

    finished = subprocess.run(
        [sys.executable, "-m", "kubevision", "submit", str(tmp_path), "--url",
         f"http://127.0.0.1:{free_port()}"],
        capture_output=True, text=True, timeout=120, check=False,
    )

    assert finished.returncode == 1
    assert "cannot reach KubeVision" in finished.stderr
    assert "Traceback" not in finished.stderr + finished.stdout


def test_identical_files_in_a_folder_both_finish_with_their_shared_task(
    system: LocalSystem, tmp_path: Path, unique_jpeg: bytes
) -> None:
    (tmp_path / "a.jpg").write_bytes(unique_jpeg)
    (tmp_path / "copy of a.jpg").write_bytes(unique_jpeg)

    finished = _submit(system, str(tmp_path), "--wait", "--json", "--tasks", "classify")

    assert finished.returncode == 0, finished.stderr
    lines = [json.loads(line) for line in finished.stdout.splitlines()]
    assert [line["state"] for line in lines] == ["done", "done"]
    assert lines[0]["task_id"] == lines[1]["task_id"]


def test_files_in_a_folder_that_are_not_images_are_named_as_skipped(
    system: LocalSystem, tmp_path: Path
) -> None:
    Image.fromarray(skdata.coffee()).save(tmp_path / "coffee.png")
    (tmp_path / "notes.txt").write_text("shopping list")

    finished = _submit(system, str(tmp_path), "--wait", "--tasks", "classify")

    assert finished.returncode == 0, finished.stderr
    assert "skipped 1 file(s)" in finished.stderr and "notes.txt" in finished.stderr
