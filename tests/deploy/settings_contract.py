"""What the deployment owes the code: the settings it reads and the Secrets it expects.

The list of settings comes from ``kubevision.settings.Settings`` itself, so a setting added
there is checked here without anyone copying its name.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, BaseModel

from kubevision.settings import Settings

from .manifests import KNATIVE_DIR

SECRETS_EXAMPLE_DIR = KNATIVE_DIR / "secrets-example"
# Read by the code (the runtime contract) but not yet fields of Settings. Each entry goes once
# Settings has it; test_pending_settings_are_not_in_settings_yet fails to say when.
PENDING_SETTINGS: set[str] = set()


def setting_variables() -> dict[str, tuple[str, ...]]:
    """Each setting's dotted name to the environment variables that can set it."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    delimiter = str(Settings.model_config.get("env_nested_delimiter") or "__")
    found: dict[str, tuple[str, ...]] = {}
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        group = field.annotation
        if isinstance(alias, AliasChoices):
            found[name] = tuple(str(choice) for choice in alias.choices)
        elif isinstance(alias, str):
            found[name] = (alias,)
        elif isinstance(group, type) and issubclass(group, BaseModel):
            for child in group.model_fields:
                variable = f"{prefix}{name}{delimiter}{child}".upper()
                found[f"{name}.{child}"] = (variable,)
        else:
            found[name] = (f"{prefix}{name}".upper(),)
    return found


def secret_keys(folder: Path = SECRETS_EXAMPLE_DIR) -> dict[str, set[str]]:
    """Secret name to the keys it must hold, from the committed examples (values are fake)."""
    keys: dict[str, set[str]] = {}
    for path in sorted(folder.glob("*.env")):
        lines = [line.strip() for line in path.read_text().splitlines()]
        keys[path.stem] = {
            line.split("=", 1)[0] for line in lines if line and not line.startswith("#")
        }
    return keys
