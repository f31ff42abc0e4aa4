"""Configuration: the settings model, how a workspace's ``insightloop.toml`` and the environment
combine into it, and the generated reference documentation."""

from __future__ import annotations

from insightloop.config.settings import (
    CONFIG_FILE_NAME,
    ENV_PREFIX,
    CollectSettings,
    EngineSettings,
    ProfilesSettings,
    ServerSettings,
    Settings,
    load_settings,
    render_config_file,
)

__all__ = [
    "CONFIG_FILE_NAME",
    "ENV_PREFIX",
    "CollectSettings",
    "EngineSettings",
    "ProfilesSettings",
    "ServerSettings",
    "Settings",
    "load_settings",
    "render_config_file",
]
