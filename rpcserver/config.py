"""Settings: one frozen dataclass, built once at start-up from flags, `RPCSERVER_*` variables
and defaults (in that order of precedence)."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .domain.lifetime import DEFAULT_FLAP_GUARD, Duration, Lifetime
from .proxies import parse_networks
from .storage import is_postgresql_url
from .timeunits import seconds_of

ENV_PREFIX = "RPCSERVER_"
MAX_DEPTH_LIMIT = 1000
MIN_STRING_LIMIT = 64


class ConfigError(ValueError):
    """A setting has a value the server cannot use; the message names it."""


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    db: str | Path = field(default=Path("rpcserver.db"), repr=False)
    """A SQLite file, or a `postgresql://` URL (whose password must never be shown: hence no repr)."""
    demo: bool = False
    body_limit: int = 16 * 1024 * 1024
    batch_limit: int = 1000
    depth_limit: int = 32
    """Levels of arrays and objects inside each other a request body may have (the JSON parser stops at 1024)."""
    ids_limit: int = 100_000
    """Items in any one array inside a call's params."""
    string_limit: int = 65_535
    """Characters in any one string or object key inside a call's params (fields with a narrower
    width of their own in the API keep it)."""
    synchronous: str = "FULL"
    readers: int = 2
    log_level: str = "INFO"
    shutdown_timeout: float = 30.0
    workers: int = 1
    """Processes serving the one port (workers.py); more than 1 adds a supervising parent."""
    login_attempts: int = 5
    """Consecutive wrong passwords that block an account..."""
    login_block: int = 30
    """...for this many seconds."""
    admin_password: str | None = field(default=None, repr=False)
    """The password of the `Admin` a new database gets (RPCSERVER_ADMIN_PASSWORD only, never a flag)."""
    password_cost: int = 14
    """log2 of scrypt's work factor for new password hashes."""
    mass_rate_limit: int = 60
    """incident.massacknowledge/massresolve calls a caller may make in any 60 seconds."""
    idempotency_ttl: int = 24 * 3600
    """Seconds the answer to a request with an Idempotency-Key is kept for its repeats (API.md §8)."""
    no_metrics: bool = False
    """Serve no GET /metrics (and count nothing for it)."""
    metrics_dir: str = ""
    """Under --workers: the directory where the workers' metrics meet (emptied at start; holding nothing
    else). "": a temporary directory of the parent's own, removed when it stops."""
    trusted_proxies: str = ""
    """Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For names the client."""
    ack_default_duration: str | None = None
    """How long an acknowledgement opened without an end lasts (a time unit: "4h"); None: indefinite."""
    ack_max_duration: str | None = None
    """The longest end an acknowledgement may be given (a time unit: "7d"); it caps the default too."""
    flap_guard: int = DEFAULT_FLAP_GUARD
    """Seconds within which a trigger's new problem inherits the "recovery" acknowledgements of the last one."""

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be between 0 and 65535, not {self.port}")
        for name in ("body_limit", "batch_limit", "ids_limit", "readers", "login_attempts", "mass_rate_limit",
                     "idempotency_ttl", "workers"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.replace('_', '-')} must be at least 1")
        if not 2 <= self.depth_limit <= MAX_DEPTH_LIMIT:
            # 2: a call with an object in its params; the JSON parser refuses more than 1024 levels itself.
            raise ConfigError(f"depth-limit must be between 2 and {MAX_DEPTH_LIMIT}, not {self.depth_limit}")
        if self.string_limit < MIN_STRING_LIMIT:
            raise ConfigError(
                f"string-limit must be at least {MIN_STRING_LIMIT}, the length of an API token (user.checkAuthentication takes one)"
            )
        if self.synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ConfigError("synchronous must be one of OFF, NORMAL, FULL, EXTRA")
        if self.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError("log-level must be one of DEBUG, INFO, WARNING, ERROR")
        if not 1 <= self.login_block <= 3600:
            raise ConfigError("login-block must be between 1 and 3600 seconds")
        if not 4 <= self.password_cost <= 20:
            raise ConfigError("password-cost must be between 4 and 20")
        if self.shutdown_timeout < 0:
            raise ConfigError("shutdown-timeout must not be negative")
        try:
            parse_networks(self.trusted_proxies)
        except ValueError as exc:
            raise ConfigError(f"trusted-proxies: {exc}") from None
        for name in ("ack_default_duration", "ack_max_duration"):
            _duration(name, getattr(self, name))
        if self.flap_guard < 0:
            raise ConfigError("flap-guard must not be negative")

    @functools.cached_property
    def lifetime(self) -> Lifetime:
        """The acknowledgement lifetime policy (API.md §9); read once (every acknowledge asks)."""
        return Lifetime(_duration("ack_default_duration", self.ack_default_duration),
                        _duration("ack_max_duration", self.ack_max_duration), self.flap_guard)


def _duration(name: str, value: str | None) -> Duration | None:
    """A duration setting: Zabbix time units ("90s", "15m", "4h", "7d", "1w", or seconds), at least 1 s."""
    if value is None:
        return None
    text = value.strip()
    seconds = seconds_of(text)
    if not seconds:
        raise ConfigError(f'{name.replace("_", "-")} must be a duration of at least 1 second such as "30m", "4h" or "7d", not {value!r}')
    return Duration(seconds, text if text[-1].isalpha() else f"{text}s")  # "3600" is named "3600s" in refusals


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def _convert(name: str, kind: Any, raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        if kind in (bool, "bool"):
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off", ""):
                return False
            raise ValueError
        if kind in (int, "int"):
            return int(raw)
        if kind in (float, "float"):
            return float(raw)
        if name == "db":
            return raw if is_postgresql_url(raw) else Path(raw)
        if name in ("synchronous", "log_level"):
            return raw.strip().upper()
        return raw
    except ValueError:
        raise ConfigError(f"{name.replace('_', '-')}: {raw!r} is not a valid {getattr(kind, '__name__', kind)}") from None


def load_config(overrides: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Config:
    """Build the Config: `overrides` (flags given on the command line, None = not given) win
    over `RPCSERVER_<NAME>` variables, which win over the defaults."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in fields(Config):
        if overrides.get(setting.name) is not None:
            values[setting.name] = _convert(setting.name, setting.type, overrides[setting.name])
        elif env_name(setting.name) in environ:
            try:
                values[setting.name] = _convert(setting.name, setting.type, environ[env_name(setting.name)])
            except ConfigError as exc:
                raise ConfigError(f"{env_name(setting.name)}: {exc}") from None
    return Config(**values)
