"""The names of the tasks a worker can run, importable without loading any model code."""

TASK_NAMES = ("classify", "detect", "faces", "ocr")
