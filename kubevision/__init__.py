"""KubeVision: upload images over HTTP, run them through ONNX models, track the results."""

__version__ = "0.1.0"
