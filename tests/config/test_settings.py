"""Settings come from the environment, then insightloop.toml, then defaults; mistakes are
reported all at once with the current value and where to change it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from insightloop.config import Settings, load_settings, render_config_file
from insightloop.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "insightloop.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    s = load_settings()
    assert s.engine.backend == "duckdb"
    assert s.server.host == "127.0.0.1"


def test_the_file_overrides_defaults_and_the_environment_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, '[engine]\nthreads = 3\nmemory_limit = "2GB"\n[server]\nport = 9000\n')
    monkeypatch.setenv("INSIGHTLOOP_ENGINE__THREADS", "2")
    s = load_settings(path)
    assert s.engine.threads == 2  # environment
    assert s.engine.memory_limit == "2GB"  # file
    assert s.server.port == 9000  # file
    assert s.server.host == "127.0.0.1"  # default


def test_every_problem_is_reported_at_once_with_its_value_and_the_fix(tmp_path: Path) -> None:
    path = _write(tmp_path, '[engine]\nbackend = "sprak"\nthreeds = 3\n[server]\nport = 0\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert "3 invalid setting(s)" in message
    assert "engine.backend = 'sprak'" in message
    assert "INSIGHTLOOP_ENGINE__BACKEND" in message
    assert "unknown setting 'engine.threeds'" in message
    assert "server.port = 0" in message


def test_broken_toml_points_at_the_position(tmp_path: Path) -> None:
    path = _write(tmp_path, "[engine\nbackend = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_settings(path)
    assert "line 1" in str(info.value)


def test_a_missing_file_says_how_to_make_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "nope.toml")
    assert "insightloop init" in (info.value.hint or "")


def test_the_rendered_file_round_trips_and_documents_every_setting() -> None:
    text = render_config_file()
    assert tomllib.loads(text)["engine"]["backend"] == "duckdb"
    for name, field in Settings.model_fields.items():
        assert name in text
        sub = getattr(field.annotation, "model_fields", {})
        for key, subfield in sub.items():
            assert key in text
            assert subfield.description
            assert subfield.description in text


def test_rendered_non_defaults_load_back(tmp_path: Path) -> None:
    s = load_settings(None, engine={"backend": "spark", "threads": 4})
    back = load_settings(_write(tmp_path, render_config_file(s)))
    assert back == s


def test_a_changed_file_is_read_again_even_within_one_clock_tick(tmp_path: Path) -> None:
    """Parsed files are kept by their text: a rewrite of the same size within the file system's
    time resolution still counts."""
    path = tmp_path / "insightloop.toml"
    path.write_text('log_level = "INFO"\n', encoding="utf-8")
    first = load_settings(path)
    path.write_text('log_level = "DEBUG"\n', encoding="utf-8")
    assert (first.log_level, load_settings(path).log_level) == ("INFO", "DEBUG")
    path.write_text('log_level = "ERROR"\n', encoding="utf-8")  # the size of "DEBUG"
    assert load_settings(path).log_level == "ERROR"
