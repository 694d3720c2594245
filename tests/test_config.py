"""Settings: flags over RPCSERVER_* variables over defaults, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from rpcserver.config import Config, ConfigError, load_config


def test_defaults() -> None:
    config = load_config({}, environ={})
    assert (config.host, config.port, config.db, config.demo) == ("127.0.0.1", 8080, Path("rpcserver.db"), False)
    assert (config.body_limit, config.batch_limit, config.synchronous) == (16 * 1024 * 1024, 1000, "FULL")
    assert config.idempotency_ttl == 24 * 3600


def test_variables_override_defaults_and_flags_override_variables() -> None:
    environ = {"RPCSERVER_PORT": "9000", "RPCSERVER_DB": "/tmp/x.db", "RPCSERVER_DEMO": "1", "RPCSERVER_SYNCHRONOUS": "normal"}
    config = load_config({"port": 9100, "host": None}, environ=environ)
    assert (config.port, config.db, config.demo, config.synchronous, config.host) == (9100, Path("/tmp/x.db"), True, "NORMAL", "127.0.0.1")


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"RPCSERVER_PORT": "eighty"}, "RPCSERVER_PORT: port: 'eighty' is not a valid int"),
        ({"RPCSERVER_PORT": "70000"}, "port must be between 0 and 65535, not 70000"),
        ({"RPCSERVER_DEMO": "perhaps"}, "RPCSERVER_DEMO: demo: 'perhaps' is not a valid bool"),
        ({"RPCSERVER_BATCH_LIMIT": "0"}, "batch-limit must be at least 1"),
        ({"RPCSERVER_IDEMPOTENCY_TTL": "0"}, "idempotency-ttl must be at least 1"),
        ({"RPCSERVER_SYNCHRONOUS": "sometimes"}, "synchronous must be one of OFF, NORMAL, FULL, EXTRA"),
    ],
)
def test_bad_values_are_refused_with_their_name(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({}, environ=environ)
    assert str(info.value) == message


def test_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        Config().port = 1  # type: ignore[misc]
