"""Rewriting a converted ONNX graph into one canonical form, so its sha256 can be pinned.

tf2onnx names the tensors it creates from counters and emits nodes in an order that changes
from run to run (onnx/tensorflow-onnx#2006), so two conversions of the same file differ in
bytes but not in what they compute. Here every node is ordered by a digest of what it
computes, and every internal tensor is renamed by the order of its first use.
"""

from __future__ import annotations

import hashlib
import heapq
from pathlib import Path
from typing import Any


def canonicalize(path: Path) -> None:
    """Rewrite the ONNX file at ``path`` in place in canonical node order and naming."""
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    keep = {value.name for value in graph.input} | {value.name for value in graph.output}

    digests = _node_digests(graph)
    order = _topological_order(graph, digests)
    nodes = [graph.node[index] for index in order]
    _rename(graph, nodes, keep)

    graph.doc_string = ""
    onnx.save(model, str(path))


def _node_digests(graph: Any) -> list[str]:
    # A value's digest says how it is computed: from which inputs, weights and operators.
    values: dict[str, str] = {value.name: f"input:{value.name}" for value in graph.input}
    for tensor in graph.initializer:
        content = type(tensor)()
        content.CopyFrom(tensor)
        content.name = ""
        values[tensor.name] = hashlib.sha256(content.SerializeToString()).hexdigest()

    digests: list[str] = []
    for node in graph.node:  # ONNX stores nodes topologically sorted
        digest = hashlib.sha256()
        digest.update(f"{node.domain}:{node.op_type}".encode())
        for attribute in sorted(node.attribute, key=lambda item: item.name):
            digest.update(attribute.SerializeToString())
        for name in node.input:
            digest.update(values.get(name, "").encode() + b"|")
        node_digest = digest.hexdigest()
        digests.append(node_digest)
        for position, name in enumerate(node.output):
            values[name] = f"{node_digest}:{position}"
    return digests


def _topological_order(graph: Any, digests: list[str]) -> list[int]:
    producer = {name: index for index, node in enumerate(graph.node) for name in node.output}
    waiting = [0] * len(graph.node)
    consumers: list[list[int]] = [[] for _ in graph.node]
    for index, node in enumerate(graph.node):
        for name in {name for name in node.input if name in producer}:
            waiting[index] += 1
            consumers[producer[name]].append(index)

    ready = [(digests[index], index) for index, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        _, index = heapq.heappop(ready)
        order.append(index)
        for consumer in consumers[index]:
            waiting[consumer] -= 1
            if waiting[consumer] == 0:
                heapq.heappush(ready, (digests[consumer], consumer))
    assert len(order) == len(graph.node), "the ONNX graph has a cycle"
    return order


def _rename(graph: Any, nodes: list[Any], keep: set[str]) -> None:
    names: dict[str, str] = {}

    def canonical(name: str) -> str:
        if not name or name in keep:
            return name
        return names.setdefault(name, f"t{len(names)}")

    for position, node in enumerate(nodes):
        for slot, name in enumerate(node.input):
            node.input[slot] = canonical(name)
        for slot, name in enumerate(node.output):
            node.output[slot] = canonical(name)
        node.name = f"{node.op_type}_{position}"
        if not node.domain:
            # Some nodes carry an explicit empty domain and others none; both mean ONNX.
            node.ClearField("domain")

    initializers = sorted(graph.initializer, key=lambda tensor: _first_use(tensor.name, names))
    for tensor in initializers:
        tensor.name = canonical(tensor.name)
    value_info = [value for value in graph.value_info if value.name in names]
    for value in value_info:
        value.name = names[value.name]

    copies = [type(node)() for node in nodes]
    for copy, node in zip(copies, nodes, strict=True):
        copy.CopyFrom(node)
    del graph.node[:]
    graph.node.extend(copies)
    _replace(graph.initializer, initializers)
    _replace(graph.value_info, sorted(value_info, key=lambda value: int(value.name[1:])))


def _first_use(name: str, names: dict[str, str]) -> int:
    # Unused initializers go last, in their digest order via the stable sort.
    return int(names[name][1:]) if name in names else len(names)


def _replace(field: Any, items: list[Any]) -> None:
    copies = [type(item)() for item in items]
    for copy, item in zip(copies, items, strict=True):
        copy.CopyFrom(item)
    del field[:]
    field.extend(copies)
