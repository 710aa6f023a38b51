"""Turning a source file into ONNX. Only `kubevision models build` imports the heavy tools.

torch, tensorflow and tf2onnx come from the ``build`` install extra and are imported inside
the functions below, or run in a child process, so the worker never loads them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

from kubevision.modelstore.canonical import canonicalize
from kubevision.modelstore.errors import BuildError
from kubevision.modelstore.manifest import ModelSpec

# tf2onnx 1.17 still calls numpy.product, which numpy 2 removed; restoring the alias in the
# child process lets the whole build extra share one numpy 2 environment.
_TF2ONNX_MAIN = (
    "import numpy, runpy, sys\n"
    "numpy.product = getattr(numpy, 'product', numpy.prod)\n"
    "sys.argv[0] = 'tf2onnx.convert'\n"
    "runpy.run_module('tf2onnx.convert', run_name='__main__', alter_sys=True)\n"
)


def convert(spec: ModelSpec, source: Path, output: Path) -> None:
    """Write the ONNX file for ``spec`` from its extracted source file."""
    if spec.conversion == "as-is":
        shutil.copyfile(source, output)
    elif spec.conversion == "torch-export":
        _export_efficientnet_lite(spec, source, output)
    elif spec.conversion == "tflite":
        _convert_tflite(spec, source, output)
    else:
        raise BuildError(f"model {spec.id!r}: no converter for {spec.conversion!r}")


def _export_efficientnet_lite(spec: ModelSpec, weights: Path, output: Path) -> None:
    architecture = str(spec.options.get("architecture", ""))
    if not architecture.startswith("efficientnet-lite"):
        raise BuildError(
            f"model {spec.id!r}: torch-export knows efficientnet-lite*, not {architecture!r}"
        )
    try:
        import torch
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as error:
        raise BuildError(
            f"model {spec.id!r} needs the build extra: pip install 'kubevision[build]' ({error})"
        ) from error

    network = EfficientNet.from_pretrained(architecture, weights_path=str(weights))
    network.eval()

    class LogitsAndFeatures(torch.nn.Module):
        # The pooled 1280-d features are the image embedding; the stock forward() hides them.
        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net = net

        def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            features = self.net.extract_features(image).mean(dim=(2, 3))
            return self.net._fc(features), features

    size = int(spec.options.get("input_size", 224))
    batch = {0: "batch"}
    with warnings.catch_warnings():
        # The exporter warns that it cannot fold a Slice constant; harmless, and noisy.
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(
            LogitsAndFeatures(network).eval(),
            (torch.zeros(1, 3, size, size),),
            str(output),
            input_names=["image"],
            output_names=["logits", "features"],
            dynamic_axes={"image": batch, "logits": batch, "features": batch},
            opset_version=int(spec.options.get("opset", 17)),
            # The TorchScript exporter writes the same bytes on every run, so the store can
            # pin the sha256 of its result.
            dynamo=False,
        )


def _convert_tflite(spec: ModelSpec, source: Path, output: Path) -> None:
    command = [
        sys.executable,
        "-c",
        _TF2ONNX_MAIN,
        "--tflite",
        str(source),
        "--output",
        str(output),
        "--opset",
        str(spec.options.get("opset", 13)),
    ]
    if spec.options.get("dequantize"):
        command.append("--dequantize")

    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as error:
        hint = ""
        if "No module named" in error.stderr:
            hint = " (install the build extra: pip install 'kubevision[build]')"
        raise BuildError(
            f"model {spec.id!r}: tf2onnx failed{hint}: {error.stderr.strip()[-800:]}"
        ) from error
    canonicalize(output)
