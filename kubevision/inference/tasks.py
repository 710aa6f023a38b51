"""The names of the tasks a worker can run; light enough for the HTTP functions to import."""

TASK_NAMES = ("classify", "detect", "faces", "ocr")
