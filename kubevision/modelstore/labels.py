"""Writing a model's labels, one per line in output order, from files in packages."""

from __future__ import annotations

from pathlib import Path

from kubevision.modelstore.errors import BuildError
from kubevision.modelstore.manifest import ModelSpec


def build_labels(spec: ModelSpec, sources: list[Path], onnx_file: Path) -> str:
    """The text of the labels file for ``spec``: one label and a newline per output index."""
    assert spec.labels is not None, f"model {spec.id!r} has no labels"
    label_format = spec.labels.format

    if label_format == "imagenet-synsets":
        labels = _imagenet_labels(*sources)
    elif label_format == "indexed-lines":
        labels = _indexed_labels(sources[0])
    elif label_format == "onnx-characters":
        labels = _ctc_characters(onnx_file)
    else:
        raise BuildError(f"model {spec.id!r}: unknown labels format {label_format!r}")
    return "".join(label + "\n" for label in labels)


def _imagenet_labels(synsets: Path, lemmas: Path) -> list[str]:
    # The lemma file maps WordNet ids to "tabby, tabby cat"; the first lemma names the class.
    names: dict[str, str] = {}
    for line in lemmas.read_text(encoding="utf-8").splitlines():
        synset, _, lemma = line.partition("\t")
        names[synset] = lemma.split(",")[0].strip()

    order = synsets.read_text(encoding="utf-8").split()
    if len(order) != 1000:
        raise BuildError(f"{synsets.name} lists {len(order)} synsets, expected 1000")
    return [names[synset] for synset in order]


def _indexed_labels(path: Path) -> list[str]:
    # Lines read "<index> <label>"; indices the model never outputs stay empty.
    indexed: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        index, _, name = line.strip().partition(" ")
        if index:
            indexed[int(index)] = name.strip()
    return [indexed.get(index, "") for index in range(max(indexed) + 1)]


def _ctc_characters(onnx_file: Path) -> list[str]:
    import onnx

    model = onnx.load(str(onnx_file), load_external_data=False)
    metadata = {prop.key: prop.value for prop in model.metadata_props}
    if "character" not in metadata:
        raise BuildError(f"{onnx_file.name} has no 'character' metadata for CTC decoding")
    # Index 0 is the CTC blank; PP-OCR appends the space character after the dictionary.
    return ["<blank>", *metadata["character"].splitlines(), " "]
