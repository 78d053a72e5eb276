"""The production kit (issue 21, deploy/): what it says agrees with the app it deploys. nginx sends the app's security
headers on the files it serves itself and accepts the app's upload size; every command a unit runs exists; the
gunicorn configuration names only gunicorn's settings; the example settings file names declared settings and passes
`diwan check-config` once its keys are filled in; `diwan directory-sync` runs the sync once."""
import re
import runpy
import shlex
from pathlib import Path

import pytest
from gunicorn.config import KNOWN_SETTINGS

from intranet import config, security_headers
from intranet.cli import register
from intranet.models import DirectorySync
from intranet.ops.check_config import findings

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
NGINX = (DEPLOY / "nginx" / "diwan.conf").read_text()
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def _static_headers() -> dict:
    block = re.search(r"location /static/ \{(.*?)\n    \}", NGINX, re.S).group(1)
    return dict(re.findall(r'add_header ([\w-]+) "([^"]*)" always;', block))


def test_nginx_serves_static_files_with_the_apps_headers():
    defaults = config.load({"SECRET_KEY": "x"})
    assert _static_headers() == {
        "Content-Security-Policy": security_headers.content_security_policy(),
        "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
        "Permissions-Policy": security_headers.PERMISSIONS_POLICY,
        "Strict-Transport-Security": f"max-age={defaults['HSTS_MAX_AGE']}; includeSubDomains",
    }


def test_nginx_accepts_the_apps_upload_size_and_passes_the_request_id():
    megabytes = int(re.search(r"client_max_body_size (\d+)m;", NGINX).group(1))
    assert megabytes * 1024 * 1024 == config.load({"SECRET_KEY": "x"})["MAX_CONTENT_LENGTH"]
    assert "proxy_set_header X-Request-Id $request_id;" in NGINX
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in NGINX and "ssl_protocols TLSv1.2 TLSv1.3;" in NGINX


def test_every_command_a_unit_runs_exists():
    from flask import Flask

    app = Flask(__name__)
    register(app)
    commands = set(app.cli.commands)
    run = []
    for unit in UNITS:
        for line in unit.read_text().splitlines():
            if line.startswith(("ExecStart=", "ExecStartPre=")):
                run += re.findall(r"/bin/diwan ([\w-]+)", line)  # also inside a `sh -c '...'`
                words = shlex.split(line.split("=", 1)[1])
                for i, word in enumerate(words):
                    if word.endswith("/bin/gunicorn"):
                        assert (DEPLOY.parent / words[i + 2]).is_file()
        assert "EnvironmentFile=/etc/diwan/diwan.env" in unit.read_text(), unit.name
    assert {"check-config", "directory-sync", "backup"} <= set(run) and set(run) <= commands
    for timer in (DEPLOY / "systemd").glob("*.timer"):
        assert timer.with_suffix(".service").exists()


def test_the_gunicorn_configuration_names_only_gunicorns_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    settings = {name: value for name, value in runpy.run_path(str(DEPLOY / "gunicorn.conf.py")).items()
                if not name.startswith("_") and not callable(value) and not hasattr(value, "__file__")}
    known = {setting.name for setting in KNOWN_SETTINGS}
    assert set(settings) - {"metrics_dir"} <= known, set(settings) - known
    assert settings["worker_class"] == "gthread" and settings["accesslog"] is None
    hooks = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    hooks["on_starting"](None)
    assert (tmp_path / "metrics").is_dir()


def test_the_example_settings_pass_check_config_once_filled_in(tmp_path):
    lines = [line for line in (DEPLOY / "diwan.env.example").read_text().splitlines()
             if line and not line.startswith("#")]
    values = dict(line.split("=", 1) for line in lines)
    declared = config.load({"SECRET_KEY": "x"})
    names = {name.removeprefix("INTRANET_") for name in values if name.startswith("INTRANET_")}
    assert names - set(declared) <= {"MAX_UPLOAD_BYTES"} and names & {"SECRET_KEY", "AUDIT_KEY", "HOSTS"}
    values.update(INTRANET_SECRET_KEY="9f" + "0123456789abcdef" * 3, INTRANET_AUDIT_KEY="fedcba9876543210" * 3,
                  INTRANET_INSTANCE_DIR=str(tmp_path), INTRANET_DATABASE_URL=f"sqlite:///{tmp_path / 'diwan.db'}",
                  INTRANET_HUEY_URL=f"sqlite:///{tmp_path / 'huey.db'}")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in values.items():
            patch.setenv(name, value)
        loaded = config.load()
    assert [str(f) for f in findings(loaded) if f.refused] == []
    assert loaded["DIRECTORY_SYNC_MINUTES"] == 0 and loaded["TRUSTED_PROXIES"] == 1 and loaded["HSTS"]


def test_directory_sync_command(app, data):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["directory-sync"])
    assert result.exit_code == 0 and "people checked" in result.output, result.output
    app.config["LDAP_URL"] = "ldap://127.0.0.1:1"
    failed = runner.invoke(args=["directory-sync"])
    assert failed.exit_code == 1 and "changed nothing" in failed.output
    with data():
        assert [bool(run.error) for run in DirectorySync.select().order_by(DirectorySync.id)] == [False, True]
