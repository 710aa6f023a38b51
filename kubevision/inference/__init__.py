"""Running the ONNX models: sessions, image normalisation, one module per task."""
