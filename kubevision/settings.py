"""The one settings class of every KubeVision process.

Every value comes from the environment with the prefix ``KV_``; nested groups use ``__``
(``KV_LIMITS__MAX_UPLOAD_BYTES``). With nothing set, the embedded defaults apply: SQLite,
a blob folder, Celery over the filesystem transport and no Redis, all under ``KV_DATA_DIR``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ExecutionProvider(StrEnum):
    """Which ONNX Runtime execution provider the worker asks for."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"
    TENSORRT = "tensorrt"


class Limits(BaseModel):
    """What an upload may be. Each refusal names the limit it broke."""

    max_upload_bytes: int = Field(25 * 1024 * 1024, gt=0)
    max_pixels: int = Field(50_000_000, gt=0)
    formats: list[str] = ["JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP"]
    max_filename_chars: int = Field(200, gt=0)
    # Uploads decoded at once per process: each may take max_pixels x 4 bytes (200 MB at the
    # default), so this bounds the decode check's memory; others wait their turn.
    decode_slots: int = Field(2, ge=1)

    @field_validator("formats")
    @classmethod
    def _upper_case_formats(cls, formats: list[str]) -> list[str]:
        return [name.strip().upper() for name in formats if name.strip()]


class TaskSettings(BaseModel):
    """How long and how often a task may run before it is given up."""

    max_attempts: int = Field(3, ge=1, le=20)
    time_limit_s: float = Field(120.0, gt=0)
    # A worker renews its lease every lease_s / 3; an expired lease means the worker is gone.
    lease_s: float = Field(30.0, gt=0)
    # Queued tasks older than this are published again; duplicates are harmless.
    requeue_after_s: float = Field(300.0, gt=0)
    reaper_interval_s: float = Field(5.0, gt=0)


class LiveSettings(BaseModel):
    """How the status function streams status changes to browsers (GET /events)."""

    # Without Redis there is no wake-up, so the process's one reader (shared by every open
    # stream) reads the table this often.
    poll_interval_s: float = Field(0.1, gt=0)
    # With Redis, the reader also reads the table this often: not every change is announced.
    fallback_poll_s: float = Field(5.0, gt=0)
    keepalive_s: float = Field(15.0, gt=0)
    # Knative ends a request after its revision timeout (300 s by default); ending the stream
    # first lets the browser reconnect with Last-Event-ID instead of seeing an error.
    stream_max_s: float = Field(270.0, gt=0)
    # PostgreSQL hands out ids before commit, so a lower id can appear after a higher one;
    # a stream waits this long at a gap before it takes the gap as a rolled-back insert.
    gap_grace_s: float = Field(2.0, ge=0)
    retry_ms: int = Field(2000, ge=100)


class BlobBackend(StrEnum):
    """Where the permanent copies of images live."""

    LOCAL = "local"
    S3 = "s3"


class BlobSettings(BaseModel):
    """The blob store: a local folder (default) or any S3-compatible service.

    Credentials come from the environment only (``KV_BLOB__S3_ACCESS_KEY_ID`` and
    ``KV_BLOB__S3_SECRET_ACCESS_KEY``); with the S3 back end both must be set, because an
    empty key would quietly fall back to whatever ambient credentials the pod happens to have.
    """

    backend: BlobBackend = BlobBackend.LOCAL
    dir: Path | None = None
    s3_endpoint_url: str | None = None
    s3_bucket: str = ""
    s3_prefix: str = "blobs/"
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr = SecretStr("")
    s3_secret_access_key: SecretStr = SecretStr("")

    @model_validator(mode="after")
    def _s3_needs_bucket_and_credentials(self) -> BlobSettings:
        if self.backend is not BlobBackend.S3:
            return self
        missing = [name for name, value in (
            ("KV_BLOB__S3_BUCKET", self.s3_bucket),
            ("KV_BLOB__S3_ACCESS_KEY_ID", self.s3_access_key_id.get_secret_value()),
            ("KV_BLOB__S3_SECRET_ACCESS_KEY", self.s3_secret_access_key.get_secret_value()),
        ) if not value.strip()]
        if missing:
            raise ValueError(f"blob backend 's3' needs {', '.join(missing)} to be set "
                             "(they are empty)")
        return self


class Settings(BaseSettings):
    """All settings of a KubeVision process, read once at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="KV_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    environment: str = "development"
    log_level: str = "INFO"
    data_dir: Path = Path(".kubevision")
    database_url: str | None = None
    redis_url: str | None = None
    broker_url: str | None = None
    result_backend_url: str | None = None
    blob: BlobSettings = BlobSettings()
    model_dir: Path | None = None
    cache_ttl_s: int = Field(3600, gt=0)
    # The RabbitMQ queue of processing tasks (its dead letters go to "<queue>.dead").
    queue: str = Field("kubevision.process", min_length=1, max_length=200)

    # Knative's SinkBinding sets K_SINK; locally `kubevision up` points it at the bridge.
    sink_url: str | None = Field(None, validation_alias=AliasChoices("K_SINK", "KV_SINK_URL"))
    service_name: str = Field(
        "kubevision", validation_alias=AliasChoices("K_SERVICE", "KV_SERVICE_NAME")
    )
    sink_timeout_s: float = Field(10.0, gt=0)
    # Knative tells a container its port in PORT.
    port: int = Field(8080, ge=1, le=65535, validation_alias=AliasChoices("PORT", "KV_PORT"))

    execution_provider: ExecutionProvider = ExecutionProvider.AUTO
    require_gpu: bool = False
    # Two threads let one task's database writes and decoding overlap another's inference.
    worker_concurrency: int = Field(2, ge=1)
    # ONNX Runtime's threads spin for a while after each run: faster for a worker with CPUs of
    # its own, but on one machine that CPU time is taken from the API and the bridge, so
    # `kubevision up` turns it off.
    ort_spin_wait: bool = True
    worker_health_port: int = Field(8090, ge=0, le=65535)
    # All interfaces in a pod (the kubelet probes the pod's IP); `kubevision up` narrows it
    # to the host it serves on.
    worker_health_host: str = "0.0.0.0"
    # Models loaded when a worker starts; others load on first use. Empty means all.
    worker_models: list[str] = []

    limits: Limits = Limits()
    task: TaskSettings = TaskSettings()
    live: LiveSettings = LiveSettings()

    # Fault injection for the crash tests: the worker sleeps this long inside every task.
    fault_task_delay_s: float = Field(0.0, ge=0)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_file}"

    @property
    def sqlite_file(self) -> Path:
        """The embedded database, used when no database URL is set."""
        return (self.data_dir / "kubevision.db").resolve()

    @property
    def resolved_blob_dir(self) -> Path:
        return (self.blob.dir or self.data_dir / "blobs").resolve()

    @property
    def resolved_model_dir(self) -> Path:
        return (self.model_dir or self.data_dir / "models").resolve()

    @property
    def resolved_broker_url(self) -> str:
        return self.broker_url or "filesystem://"

    @property
    def broker_folder(self) -> Path:
        """Where the filesystem transport keeps its messages when no broker URL is set."""
        return (self.data_dir / "broker").resolve()

    @property
    def resolved_result_backend_url(self) -> str:
        if self.result_backend_url:
            return self.result_backend_url
        if self.redis_url:
            return self.redis_url
        return f"file://{self.results_folder}"

    @property
    def results_folder(self) -> Path:
        """Celery's results when neither a result backend nor Redis is set: a file each."""
        return (self.data_dir / "results").resolve()

    @property
    def is_embedded(self) -> bool:
        """True when the broker is the local filesystem transport (no redelivery)."""
        return self.resolved_broker_url.startswith("filesystem")


def load_settings() -> Settings:
    """Read the settings from the environment; call once per process at start-up."""
    return Settings()
