"""`kubevision up` when something is wrong: a line that names the problem, an honest exit
code, and no process left behind. Each run here is a system of its own on the embedded
defaults, in a temporary folder, so it never touches the session's system."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil

from tests.support.system import free_port


def _env(tmp_path: Path, model_dir: Path, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("KV_")}
    return {**env, "KV_DATA_DIR": str(tmp_path / "data"), "KV_MODEL_DIR": str(model_dir),
            **extra}


def _up_args(port: int) -> list[str]:
    return ["up", "--port", str(port), "--worker-health-port", str(free_port())]


def _kubevision(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubevision", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_bad_settings_are_named_one_line_each(tmp_path: Path, model_dir: Path) -> None:
    env = _env(tmp_path, model_dir, KV_LIMITS__MAX_UPLOAD_BYTES="-1",
               KV_BLOB__BACKEND="nonsense")

    finished = _kubevision(env, *_up_args(free_port()))

    assert finished.returncode == 2
    assert "KV_LIMITS__MAX_UPLOAD_BYTES='-1'" in finished.stderr
    assert "KV_BLOB__BACKEND='nonsense'" in finished.stderr
    assert "Traceback" not in finished.stderr


def test_a_taken_port_is_named_and_nothing_starts(tmp_path: Path, model_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        finished = _kubevision(_env(tmp_path, model_dir), *_up_args(port))

    assert finished.returncode == 1
    assert f"port {port} on 127.0.0.1 (gateway) is not free" in finished.stderr
    assert "is up" not in finished.stderr


def test_missing_models_stop_the_start_with_the_workers_reason(
    tmp_path: Path, model_dir: Path
) -> None:
    finished = _kubevision(_env(tmp_path, tmp_path / "no-models"), *_up_args(free_port()))

    assert finished.returncode == 1
    assert "worker cannot start: model 'efficientnet-lite0' is not built" in finished.stderr


def test_a_part_that_dies_stops_the_rest_and_the_exit_code_says_so(
    tmp_path: Path, model_dir: Path
) -> None:
    up = subprocess.Popen([sys.executable, "-m", "kubevision", *_up_args(free_port())],
                          env=_env(tmp_path, model_dir),
                          stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert up.stderr is not None
        said = []
        for line in up.stderr:
            said.append(line)
            if "KubeVision is up" in line:
                break
        assert "KubeVision is up" in said[-1], "".join(said[-20:])
        children = psutil.Process(up.pid).children()
        worker = next(child for child in children if "worker" in child.cmdline())
        worker.send_signal(signal.SIGKILL)

        returncode = up.wait(timeout=60)
        rest = up.stderr.read()
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)

    assert returncode == 1
    assert "worker exited with code -9" in rest
    assert not [child for child in children if child.is_running() and
                child.status() != psutil.STATUS_ZOMBIE]



def test_backup_of_a_folder_without_a_system_says_so_and_creates_nothing(
    tmp_path: Path, model_dir: Path
) -> None:
    env = _env(tmp_path, model_dir, KV_DATA_DIR=str(tmp_path / "mistyped"))

    finished = _kubevision(env, "backup", str(tmp_path / "backups"))

    assert finished.returncode == 1
    assert "no KubeVision database at" in finished.stderr
    assert not (tmp_path / "mistyped").exists() and not (tmp_path / "backups").exists()


def test_restore_from_a_missing_folder_says_there_is_none(tmp_path: Path, model_dir: Path) -> None:
    finished = _kubevision(_env(tmp_path, model_dir), "restore", str(tmp_path / "nowhere"))

    assert finished.returncode == 1
    assert "there is no backup folder at" in finished.stderr


def test_backup_into_a_file_fails_in_one_line(tmp_path: Path, model_dir: Path) -> None:
    env = _env(tmp_path, model_dir)
    assert _kubevision(env, "migrate").returncode == 0
    (tmp_path / "a-file").write_text("not a folder")

    finished = _kubevision(env, "backup", str(tmp_path / "a-file"))

    assert finished.returncode == 1
    assert "backup failed:" in finished.stderr and "Traceback" not in finished.stderr
