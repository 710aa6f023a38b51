"""The build skips what is verified, refuses a source with another checksum, and writes
the same bytes every time."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

from kubevision.modelstore import Manifest, ModelStore
from kubevision.modelstore.build import build_models
from kubevision.modelstore.canonical import canonicalize
from kubevision.modelstore.errors import BuildError
from kubevision.modelstore.store import file_sha256


def test_build_skips_models_already_verified(model_store: ModelStore) -> None:
    outcomes = build_models(model_store, ["efficientnet-lite0", "blazeface-full-range"])

    assert [outcome.built for outcome in outcomes] == [False, False]


def test_build_refuses_a_source_whose_checksum_differs(
    model_store: ModelStore, tmp_path: Path
) -> None:
    spec = model_store.spec("blazeface-full-range")
    wrong = dataclasses.replace(spec, source_sha256="0" * 64)
    store = ModelStore(tmp_path, Manifest({wrong.id: wrong}))

    with pytest.raises(BuildError) as caught:
        build_models(store)

    message = str(caught.value)
    assert "0" * 64 in message and spec.source_sha256 in message
    assert list(tmp_path.iterdir()) == []


def _graph_file(path: Path, node_order: list[int], prefix: str) -> Path:
    # y = relu(x + a) * relu(x - b), with generated names as a converter would make them.
    nodes = [
        helper.make_node("Add", ["x", f"{prefix}a"], [f"{prefix}1"]),
        helper.make_node("Sub", ["x", f"{prefix}b"], [f"{prefix}2"]),
        helper.make_node("Relu", [f"{prefix}1"], [f"{prefix}3"]),
        helper.make_node("Relu", [f"{prefix}2"], [f"{prefix}4"]),
        helper.make_node("Mul", [f"{prefix}3", f"{prefix}4"], ["y"]),
    ]
    order = sorted(range(5), key=lambda index: node_order.index(index))
    weights = [
        helper.make_tensor(f"{prefix}b", TensorProto.FLOAT, [1], [2.0]),
        helper.make_tensor(f"{prefix}a", TensorProto.FLOAT, [1], [1.0]),
    ]
    graph = helper.make_graph(
        [nodes[index] for index in order],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        weights[:: 1 if prefix == "p" else -1],
    )
    onnx.save(helper.make_model(graph), str(path))
    return path


def test_canonical_form_ignores_names_and_node_order(tmp_path: Path) -> None:
    # Both orders are topological: the two branches may come in any order before Mul.
    first = _graph_file(tmp_path / "first.onnx", [0, 1, 2, 3, 4], prefix="p")
    second = _graph_file(tmp_path / "second.onnx", [1, 3, 0, 2, 4], prefix="q_")
    assert file_sha256(first) != file_sha256(second)

    canonicalize(first)
    canonicalize(second)

    assert file_sha256(first) == file_sha256(second)
    onnx.checker.check_model(onnx.load(str(first)))


def test_canonical_form_keeps_what_the_graph_computes(tmp_path: Path) -> None:
    path = _graph_file(tmp_path / "model.onnx", [1, 3, 0, 2, 4], prefix="q_")
    canonicalize(path)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    (y,) = session.run(None, {"x": np.array([5.0], dtype=np.float32)})

    assert y.tolist() == [(5 + 1) * (5 - 2)]
