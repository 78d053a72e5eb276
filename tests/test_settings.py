"""Each setting is declared once, with its default, in intranet/config.py load(); the code reads it there without a
second default, and README.md's configuration table names every INTRANET_* variable. No database, no app."""
import re
from pathlib import Path

import pytest
from flask import Flask

from intranet import config

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(ROOT / "intranet").rglob("*.py"), *(ROOT / "jobs").rglob("*.py")])
NAME = r"""["']([A-Z][A-Z0-9_]*)["']"""
# a read of a setting by its literal name: config["X"], config.get("X"), setting("X")
LITERAL = re.compile(r"""config\s*(?:\[\s*|\.get\(\s*)""" + NAME + r"""|(?<![\w.])setting\(\s*""" + NAME)
# a read whose name is computed: each such place says below how its names are made
COMPUTED = re.compile(r"""config\s*(?:\[\s*|\.get\(\s*)(?![\s"'\]])|(?<![\w.])setting\(\s*(?!["'\s])""")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _outbox_names() -> set[str]:
    """intranet/outbox.py reads `<channel.settings>_<name>`: each channel's prefix times each `_setting` name."""
    prefixes = {m for path in SOURCES for m in re.findall(r"""\bsettings=["'](\w+)["']""", _text(path))}
    names = set(re.findall(r"""_setting\(\s*\w+\s*,\s*["'](\w+)["']""", _text(ROOT / "intranet/outbox.py")))
    assert prefixes and names
    return {f"{prefix}_{name}" for prefix in prefixes for name in names}


def _trigger_names() -> set[str]:
    """intranet/triggers.py reads `<prefix>_TRIGGER...` for each prefix a caller passes to `triggers.soon`."""
    prefixes = {m for path in SOURCES for m in re.findall(r"""\bsoon\(\s*["'][\w.:]+["']\s*,\s*["'](\w+)["']""",
                                                          _text(path))}
    suffixes = set(re.findall(r"""setting\(\s*f["']\{\w+\}(_\w+)["']""", _text(ROOT / "intranet/triggers.py")))
    assert prefixes and suffixes
    return {prefix + suffix for prefix in prefixes for suffix in suffixes}


def _statement_names() -> set[str]:
    """intranet/reports/statements.py reads the days setting of each kind of statement from `_DAYS_SETTING`."""
    table = re.search(r"_DAYS_SETTING = \{([^}]*)\}", _text(ROOT / "intranet/reports/statements.py")).group(1)
    return set(re.findall(r""":\s*["'](\w+)["']""", table))


# where a name is computed -> how many such reads there are, and the names they make
COMPUTED_READS = {
    "intranet/outbox.py": (1, _outbox_names),
    "intranet/triggers.py": (2, _trigger_names),
    "intranet/reports/statements.py": (1, _statement_names),
}


def _declared() -> dict:
    return config.load({"SECRET_KEY": "test"})


def read_names() -> dict[str, set[str]]:
    """Every setting the code reads -> the files that read it."""
    found: dict[str, set[str]] = {}
    computed = {name: 0 for name in COMPUTED_READS}
    for path in SOURCES:
        text, relative = _text(path), _relative(path)
        if relative == "intranet/config.py":
            continue  # where they are declared, and setting() itself
        for match in LITERAL.finditer(text):
            found.setdefault(match.group(1) or match.group(2), set()).add(relative)
        reads_setting = "setting" in text and re.search(r"import[^\n]*\bsetting\b|def setting\(", text)
        for match in COMPUTED.finditer(text):
            if match.group(0).startswith("setting") and not reads_setting:
                continue  # a word in a message ("unknown setting(s)"), not a call
            line = text.count("\n", 0, match.start()) + 1
            assert relative in COMPUTED_READS, f"{relative}:{line}: a setting read by a computed name: say how " \
                                               "its names are made in COMPUTED_READS"
            computed[relative] += 1
    for relative, (count, names) in COMPUTED_READS.items():
        assert computed[relative] == count, (relative, computed[relative])
        for name in names():
            found.setdefault(name, set()).add(relative)
    return found


def test_every_setting_read_is_declared_with_its_default():
    declared = _declared()
    read = read_names()
    assert {"TIMEZONE", "CURRENCY", "NOTIFY_MAX_ATTEMPTS", "WEBHOOK_TRIGGER", "ALERT_STATEMENT_DAYS",
            "SMTP_SSL_CONTEXT"} <= set(read)  # the scan sees literal, prefixed and tabled names alike
    missing = {name: sorted(files) for name, files in read.items() if name not in declared}
    assert missing == {}


def test_no_default_is_repeated_where_a_setting_is_read():
    """`config.get("X", default)` or `setting("X", default)` would be a second default, free to drift."""
    pattern = re.compile(r"""(?:config\.get|(?<![\w.])setting)\(\s*f?["'][^"']+["']\s*,""")
    repeated = [f"{_relative(path)}:{_text(path).count(chr(10), 0, m.start()) + 1}" for path in SOURCES
                for m in pattern.finditer(_text(path)) if _relative(path) != "intranet/config.py"]
    assert repeated == []


def test_setting_refuses_an_undeclared_name_in_an_app(monkeypatch):
    app = Flask(__name__)
    app.config.from_mapping(_declared())
    with app.app_context():
        assert config.setting("CURRENCY") == app.config["CURRENCY"]
        with pytest.raises(KeyError, match="NOT_A_SETTING.*not declared.*intranet/config.py"):
            config.setting("NOT_A_SETTING")
        with pytest.raises(KeyError, match="not declared"):
            config.setting("NOT_A_SETTING", "a default does not make it declared")
    monkeypatch.delenv("INTRANET_TIMEZONE", raising=False)
    assert config.setting("TIMEZONE") == "Asia/Qatar"  # outside an app: the declared default
    monkeypatch.setenv("INTRANET_TIMEZONE", "Europe/Berlin")
    assert config.setting("TIMEZONE") == "Europe/Berlin"  # ... or the environment's
    with pytest.raises(KeyError, match="not declared"):
        config.setting("NOT_A_SETTING")


def environment_names() -> set[str]:
    """The INTRANET_* variables load() reads."""
    return set(re.findall(r"""\b_(?:env|on)\(\s*["'](\w+)["']""", _text(ROOT / "intranet/config.py")))


def readme_mentions() -> set[str]:
    """The variables README.md's configuration table names, its shorthand expanded: in a row, `..._X` (or `_X`)
    is the row's first variable or the name before it, with `_X` added or put in place of its last words, or X
    itself; `A/B` is A and A with its last word replaced by B; a bare name (`SMS_SENDER_ID`) stands for itself."""
    text = _text(ROOT / "README.md")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names = set()
    for row in (line for line in section.splitlines() if line.startswith("| `")):
        first_cell = row.split("|")[1]
        tokens = re.findall(r"`([^`]+)`", first_cell)
        full = [token.removeprefix("INTRANET_") for token in tokens if token.startswith("INTRANET_")][:1]
        for token in tokens:
            alternatives = [token]
            if "/" in token:
                head, tail = token.split("/", 1)
                alternatives = [head, head.rsplit("_", 1)[0] + "_" + tail]
            for item in alternatives:
                item = item.removeprefix("INTRANET_")
                if item.startswith("..._") or item.startswith("_"):
                    suffix = item.lstrip("._")
                    names.add(suffix)  # `..._ALERT_STATEMENT_DAYS` in the row of REPORT_ARCHIVE_DIR
                    names |= {f"{base.rsplit('_', n)[0]}_{suffix}" for base in full
                              for n in range(1, base.count("_") + 1)}
                    names |= {f"{base}_{suffix}" for base in full}
                else:
                    names.add(item)
                    full = full[:1] + [item]  # the name the next shorthand may follow
    return names


# settings an operator need not know: tuning of the sending machinery, with defaults sized for one office; they are
# declared and commented in intranet/config.py
INTERNAL = {"NOTIFY_BATCH_SIZE", "NOTIFY_LEASE_SECONDS", "NOTIFY_FLUSH_EVERY", "NOTIFY_BREAKER_FAILURES",
            "NOTIFY_WORKERS", "WEBHOOK_BATCH_SIZE", "WEBHOOK_LEASE_SECONDS", "NOTIFY_TRIGGER",
            "NOTIFY_TRIGGER_DELAY_SECONDS", "WEBHOOK_TRIGGER", "WEBHOOK_TRIGGER_DELAY_SECONDS"}


def test_the_readme_names_every_environment_variable():
    variables = environment_names()
    assert {"DATABASE_URL", "TIMEZONE", "HSTS", "NOTIFY_TRIGGER"} <= variables
    assert INTERNAL <= variables, "an internal setting that is no longer read: drop it from INTERNAL"
    mentioned = readme_mentions()
    assert sorted(variables - INTERNAL - mentioned) == [], "add a row to README.md's configuration table"
    assert sorted(INTERNAL & mentioned) == [], "documented in README.md: drop it from INTERNAL"
