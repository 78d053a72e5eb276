"""`diwan check-config` (issue 21): unsafe production settings are refused with a message naming the setting, and the
command exits 1; a safe configuration passes. No database, no directory: only the loaded configuration."""
import pytest
from flask import Flask

from intranet import config
from intranet.cli import check_config_command
from intranet.ops.check_config import findings

STRONG = "5f0c9a1e7b2d48e6a3c1f09b7d2e4a6c8b1d3f5e7a9c0b2d"
SAFE = {
    "SECRET_KEY": STRONG, "AUDIT_KEY": STRONG[::-1], "SESSION_COOKIE_SECURE": True, "HSTS": True,
    "LDAP_URL": "ldaps://ldap.example:636", "TRUSTED_PROXIES": 1, "HOSTS": 2,
    "DATABASE_URL": "postgresql://diwan@db.example/diwan", "HUEY_URL": "redis://redis.example:6379/0",
    "RATELIMIT_STORAGE_URL": "redis://redis.example:6379/1", "METRICS_TOKEN": "a-scraper-token-of-some-length",
}


def loaded(tmp_path, **changes):
    return config.load({"INSTANCE_DIR": tmp_path, **SAFE, **changes})


def refused(tmp_path, **changes) -> list[str]:
    return [f"{f.setting}: {f.message}" for f in findings(loaded(tmp_path, **changes)) if f.refused]


def run(settings):
    app = Flask(__name__)
    app.config.from_mapping(settings)
    return app.test_cli_runner().invoke(check_config_command)


def test_a_safe_configuration_passes(tmp_path):
    assert refused(tmp_path) == []
    assert [f for f in findings(loaded(tmp_path)) if not f.refused] == []
    result = run(loaded(tmp_path))
    assert result.exit_code == 0 and "fit for production (2 host(s))" in result.output


@pytest.mark.parametrize("changes, expected", [
    ({"SECRET_KEY": "test"}, "SECRET_KEY: the secret key is a well-known value"),
    ({"SECRET_KEY": "a1b2c3d4e5f6"}, "SECRET_KEY: the secret key is 12 characters long"),
    ({"SECRET_KEY": "ab" * 20}, "SECRET_KEY: the secret key repeats too few characters"),
    ({"SESSION_COOKIE_SECURE": False}, "SESSION_COOKIE_SECURE: is off"),
    ({"REMEMBER_COOKIE_SECURE": False}, "SESSION_COOKIE_SECURE: the remember cookie is not Secure"),
    ({"LDAP_URL": "ldap://ldap.example:389"}, "LDAP_URL: 'ldap://ldap.example:389' is not TLS"),
    ({"DATABASE_URL": "sqlite:///srv/diwan/diwan.db"}, "DATABASE_URL: is SQLite, a file on one host, with 2 hosts"),
    ({"HUEY_URL": "sqlite:///srv/diwan/huey.db"}, "HUEY_URL: is a SQLite job queue with 2 hosts"),
    ({"RATELIMIT_STORAGE_URL": "memory://"}, "RATELIMIT_STORAGE_URL: memory:// counts per process"),
    ({"AUDIT_KEY": ""}, "AUDIT_KEY: is not set: each of the 2 hosts would generate its own"),
    ({"AUDIT_KEY": "short"}, "AUDIT_KEY: the audit key is 5 characters long"),
    ({"MAIL_BACKEND": "smtp", "SMTP_USERNAME": "diwan", "SMTP_TLS": "none"}, "SMTP_TLS: is none while a user name"),
    ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN: is shorter than 16"),
    ({"HOSTS": 0}, "HOSTS: is 0"),
])
def test_each_unsafe_setting_is_refused(tmp_path, changes, expected):
    found = refused(tmp_path, **changes)
    assert any(line.startswith(expected) for line in found), found
    result = run(loaded(tmp_path, **changes))
    assert result.exit_code == 1 and f"REFUSED: INTRANET_{expected}" in result.output


def test_sqlite_on_one_host_is_fine(tmp_path):
    assert refused(tmp_path, HOSTS=1, DATABASE_URL="sqlite:///srv/diwan/diwan.db", HUEY_URL="sqlite:///srv/h.db",
                   RATELIMIT_STORAGE_URL="memory://") == []


def test_a_key_generated_on_one_host_is_refused_for_several(tmp_path):
    generated = config.load({"INSTANCE_DIR": tmp_path})["SECRET_KEY"]  # instance/secret_key, made once
    settings = loaded(tmp_path, SECRET_KEY=generated)
    assert [f.setting for f in findings(settings) if f.refused] == ["SECRET_KEY"]
    assert refused(tmp_path, SECRET_KEY=generated, HOSTS=1) == []


def test_the_demo_defaults_are_refused_with_warnings(tmp_path, monkeypatch):
    for name in ("SECRET_KEY", "SESSION_COOKIE_SECURE", "LDAP_URL", "HSTS", "TRUSTED_PROXIES"):
        monkeypatch.delenv(f"INTRANET_{name}", raising=False)
    result = run(config.load({"INSTANCE_DIR": tmp_path}))
    assert result.exit_code == 1
    assert "REFUSED: INTRANET_SESSION_COOKIE_SECURE" in result.output and "REFUSED: INTRANET_LDAP_URL" in result.output
    assert "warning: INTRANET_HSTS" in result.output and "warning: INTRANET_TRUSTED_PROXIES" in result.output
    assert "setting(s) refused" in result.output
