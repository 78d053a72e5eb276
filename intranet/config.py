"""Settings from INTRANET_* environment variables, with embedded defaults for one machine.

Every setting the code reads is declared here, once, with its default: code reads `current_app.config[NAME]` (or
`setting(NAME)`) and never repeats a default. tests/test_settings.py checks that every name read is declared and
that README.md's configuration table names every INTRANET_* variable."""
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(name, default=None):
    return os.environ.get(f"INTRANET_{name}", default)


def _secret_key(instance: Path) -> str:
    """A stable key per installation: from the environment, else generated once into instance/."""
    key = _env("SECRET_KEY")
    if key:
        return key
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _on(name, default: str) -> bool:
    """A switch: 1, true, yes or on (any case) is on."""
    return _env(name, default).strip().lower() in ("1", "true", "yes", "on")


def _mapping(text: str) -> dict[str, str]:
    """'a=b,c=d' -> {'a': 'b', 'c': 'd'}"""
    pairs = (item.split("=", 1) for item in text.split(",") if "=" in item)
    return {key.strip(): value.strip() for key, value in pairs}


def load(overrides: dict | None = None) -> dict:
    """The configuration as a dict for app.config.from_mapping; `overrides` (tests, commands) win."""
    overrides = overrides or {}
    instance = Path(overrides.get("INSTANCE_DIR") or _env("INSTANCE_DIR", ROOT / "instance"))
    settings = {
        "INSTANCE_DIR": instance,
        "DATABASE_URL": _env("DATABASE_URL", f"sqlite:///{instance / 'diwan.db'}"),
        "HUEY_URL": _env("HUEY_URL", f"sqlite:///{instance / 'huey.db'}"),
        "ATTACHMENT_DIR": Path(_env("ATTACHMENT_DIR", instance / "attachments")),
        "ATTACHMENT_MAX_BYTES": int(_env("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)),
        "ATTACHMENT_TYPES": tuple(_env("ATTACHMENT_TYPES", "application/pdf,image/jpeg,image/png").split(",")),
        "MAX_CONTENT_LENGTH": int(_env("MAX_UPLOAD_BYTES", 32 * 1024 * 1024)),
        "LDAP_URL": _env("LDAP_URL", "ldap://127.0.0.1:3389"),
        "LDAP_BASE_DN": _env("LDAP_BASE_DN", "dc=diwan,dc=example"),
        "LDAP_USER_BASE": _env("LDAP_USER_BASE", "ou=people,dc=diwan,dc=example"),
        "LDAP_GROUP_BASE": _env("LDAP_GROUP_BASE", "ou=groups,dc=diwan,dc=example"),
        "LDAP_BIND_DN": _env("LDAP_BIND_DN", ""),
        "LDAP_BIND_PASSWORD": _env("LDAP_BIND_PASSWORD", ""),
        "LDAP_USER_FILTER": _env("LDAP_USER_FILTER", "(&(objectClass=inetOrgPerson)(uid={username}))"),
        "LDAP_GROUP_FILTER": _env("LDAP_GROUP_FILTER", "(&(objectClass=groupOfNames)(member={dn}))"),
        "LDAP_DEPARTMENT_ATTRIBUTE": _env("LDAP_DEPARTMENT_ATTRIBUTE", "departmentNumber"),
        "LDAP_TIMEOUT": float(_env("LDAP_TIMEOUT", 5)),
        # the accounts the directory marks disabled, ANDed with the user filter by the directory sync (issue 18), e.g.
        # Active Directory's (userAccountControl:1.2.840.113556.1.4.803:=2); empty: only removal and groups count
        "LDAP_DISABLED_FILTER": _env("LDAP_DISABLED_FILTER", ""),
        # directory group cn -> intranet role; a person in several groups gets the strongest role
        "LDAP_ROLE_GROUPS": _mapping(_env(
            "LDAP_ROLE_GROUPS",
            "diwan-reception=reception,diwan-clerks=clerk,diwan-supervisors=supervisor,diwan-heads=head,"
            "diwan-admins=admin",
        )),
        "NATIONAL_ID_LENGTH": int(_env("NATIONAL_ID_LENGTH", 11)),
        "DEFAULT_PHONE_REGION": _env("DEFAULT_PHONE_REGION", "QA"),
        "TIMEZONE": _env("TIMEZONE", "Asia/Qatar"),
        "BABEL_DEFAULT_LOCALE": "ar",
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "intranet" / "translations"),
        "LANGUAGES": ("ar", "en"),
        "QUEUE_PAGE_SIZE": int(_env("QUEUE_PAGE_SIZE", 25)),
        # seed 003: the same citizen and type, open or closed within these days, is a suspected duplicate
        "DUPLICATE_WINDOW_DAYS": int(_env("DUPLICATE_WINDOW_DAYS", 30)),
        # the desks of the reception hall, as visitors see them on the display
        "TICKET_DESKS": tuple(_env("TICKET_DESKS", "1,2,3,4,5,6").split(",")),
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_FIELD_NAME": "csrf_token",  # Flask-WTF's; the session's per-request token is dropped under it
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # issue 14: the session cookie only over HTTPS (turn on wherever the site is served over TLS, as in production)
        "SESSION_COOKIE_SECURE": _on("SESSION_COOKIE_SECURE", "0"),
        # issue 14: Strict-Transport-Security on every answer (intranet/security_headers.py); only where the site is
        # served over HTTPS alone, as in production (the demo is plain HTTP on loopback: off)
        "HSTS": _on("HSTS", "0"),
        "HSTS_MAX_AGE": int(_env("HSTS_MAX_AGE", 31536000)),
        # sessions the server can end (intranet/auth/sessions.py): idle timeout and absolute lifetime
        "SESSION_IDLE_MINUTES": int(_env("SESSION_IDLE_MINUTES", 30)),
        "SESSION_LIFETIME_HOURS": float(_env("SESSION_LIFETIME_HOURS", 12)),
        # failed passwords (sign-in and re-authentication) allowed per user name and per client address in the
        # window, counted in RATELIMIT_STORAGE_URL (intranet/auth/throttle.py)
        "LOGIN_FAILURES_PER_USERNAME": int(_env("LOGIN_FAILURES_PER_USERNAME", 5)),
        "LOGIN_FAILURES_PER_ADDRESS": int(_env("LOGIN_FAILURES_PER_ADDRESS", 20)),
        "LOGIN_FAILURE_WINDOW_MINUTES": int(_env("LOGIN_FAILURE_WINDOW_MINUTES", 15)),
        # reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted (0: none, the client is the
        # peer); behind nginx set 1, or every client shares the proxy's address (and its wrong-password count)
        "TRUSTED_PROXIES": int(_env("TRUSTED_PROXIES", 0)),
        # issue 14: the roles that confirm sign-in and re-authentication with a second factor, a one-time code from an
        # authenticator app or a recovery code (intranet/auth/mfa.py); empty: nobody. MFA_ISSUER names the site in the app
        "MFA_ROLES": tuple(r.strip() for r in _env("MFA_ROLES", "supervisor,head,admin").split(",") if r.strip()),
        "MFA_ISSUER": _env("MFA_ISSUER", "Diwan"),
        "REQUEST_TYPES_FILE": Path(_env("REQUEST_TYPES_FILE", ROOT / "intranet" / "request_types.toml")),
        "CHECK_SCHEMA": True,
        # electronic intake API (issue 5): rate limits need one shared store across workers at scale (redis://)
        "RATELIMIT_STORAGE_URL": _env("RATELIMIT_STORAGE_URL", "memory://"),
        # /healthz tells anyone only up or down; its details (database, queue, consumer) go to a signed-in
        # administrator or to a monitor sending "Authorization: Bearer <MONITORING_TOKEN>" (empty: no token works)
        "MONITORING_TOKEN": _env("MONITORING_TOKEN", ""),
        # seed 003 (fake bookings): electronic submissions one citizen may make in 24 hours
        "CITIZEN_DAILY_SUBMISSIONS": int(_env("CITIZEN_DAILY_SUBMISSIONS", 5)),
        "API_MAX_DOCUMENTS": int(_env("API_MAX_DOCUMENTS", 10)),
        # webhooks to portal clients: per-attempt timeout, attempts before "failed", waits between attempts
        "WEBHOOK_TIMEOUT_SECONDS": float(_env("WEBHOOK_TIMEOUT_SECONDS", 5)),
        "WEBHOOK_MAX_ATTEMPTS": int(_env("WEBHOOK_MAX_ATTEMPTS", 12)),
        "WEBHOOK_BACKOFF_SECONDS": _env("WEBHOOK_BACKOFF_SECONDS", "10,60,300,900,3600,10800"),
        # the outbox (intranet/outbox.py): deliveries claimed per batch, and how long a claim holds them (0: from the
        # batch size and the timeout; a worker killed while sending leaves them to the sweeper after that)
        "WEBHOOK_BATCH_SIZE": int(_env("WEBHOOK_BATCH_SIZE", 10)),
        "WEBHOOK_LEASE_SECONDS": float(_env("WEBHOOK_LEASE_SECONDS", 0)),
        # notifications (issue 6): SMS through a gateway ("http": a JSON gateway; "file": lines in a file, for
        # the demo), e-mail through SMTP ("smtp") or a file ("file"); the gateway's delivery receipts call back
        # with SMS_RECEIPT_TOKEN
        "SMS_GATEWAY": _env("SMS_GATEWAY") or "file",  # empty: the default
        "SMS_GATEWAY_URL": _env("SMS_GATEWAY_URL", ""),
        "SMS_GATEWAY_TOKEN": _env("SMS_GATEWAY_TOKEN", ""),
        "SMS_SENDER_ID": _env("SMS_SENDER_ID", "Diwan"),
        "SMS_GATEWAY_TIMEOUT": float(_env("SMS_GATEWAY_TIMEOUT", 5)),
        "SMS_FILE": Path(_env("SMS_FILE", instance / "sms-outbox.jsonl")),
        "SMS_RECEIPT_TOKEN": _env("SMS_RECEIPT_TOKEN", ""),
        # the address the gateway calls back with delivery receipts (sent with each SMS; empty: not sent)
        "SMS_RECEIPT_URL": _env("SMS_RECEIPT_URL", ""),
        "NOTIFY_WORKERS": int(_env("NOTIFY_WORKERS", 2)),  # the consumer's workers a large batch may use
        "NOTIFY_BATCH_SIZE": int(_env("NOTIFY_BATCH_SIZE", 20)),
        "SMS_MAX_SEGMENTS": int(_env("SMS_MAX_SEGMENTS", 3)),  # the template editor warns above this
        "MAIL_BACKEND": _env("MAIL_BACKEND") or "file",  # empty: the default
        "MAIL_FILE": Path(_env("MAIL_FILE", instance / "mail-outbox.txt")),
        "MAIL_FROM": _env("MAIL_FROM", "Diwan <no-reply@diwan.example>"),
        "SMTP_HOST": _env("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": int(_env("SMTP_PORT", 25)),
        "SMTP_TLS": _env("SMTP_TLS", "none"),  # none, starttls, ssl
        "SMTP_USERNAME": _env("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": _env("SMTP_PASSWORD", ""),
        "SMTP_TIMEOUT": float(_env("SMTP_TIMEOUT", 10)),
        "SMTP_SSL_CONTEXT": None,  # an ssl.SSLContext for SMTP (tests trust their own CA); None: the system's
        # no SMS between these local times (queued, sent after); e-mail is not held
        "QUIET_HOURS": _env("QUIET_HOURS", "22:00-07:00"),
        "NOTIFY_BACKOFF_SECONDS": _env("NOTIFY_BACKOFF_SECONDS", "60,300,900,3600,14400"),
        "NOTIFY_MAX_ATTEMPTS": int(_env("NOTIFY_MAX_ATTEMPTS", 10)),
        # the outbox (intranet/outbox.py): how long a claimed batch is held (0: from the batch size and the timeouts),
        # SMS outcomes written per this many rows, a run's sends of one channel after this many failures in a row
        "NOTIFY_LEASE_SECONDS": float(_env("NOTIFY_LEASE_SECONDS", 0)),
        "NOTIFY_FLUSH_EVERY": int(_env("NOTIFY_FLUSH_EVERY", 10)),
        "NOTIFY_BREAKER_FAILURES": int(_env("NOTIFY_BREAKER_FAILURES", 5)),
        # a change's notifications and webhooks are sent by a run started this long after its commit, shared by the
        # changes of a burst (intranet/triggers.py `soon`); off: only the minute's sweeper sends them
        "NOTIFY_TRIGGER": _on("NOTIFY_TRIGGER", "1"),
        "NOTIFY_TRIGGER_DELAY_SECONDS": float(_env("NOTIFY_TRIGGER_DELAY_SECONDS", 2)),
        "WEBHOOK_TRIGGER": _on("WEBHOOK_TRIGGER", "1"),
        "WEBHOOK_TRIGGER_DELAY_SECONDS": float(_env("WEBHOOK_TRIGGER_DELAY_SECONDS", 2)),
        "DIGEST_TIME": _env("DIGEST_TIME", "06:30"),
        # the directory sync (issue 18, jobs/directory.py): every this many minutes (0: only when an administrator asks)
        "DIRECTORY_SYNC_MINUTES": int(_env("DIRECTORY_SYNC_MINUTES", 5)),
        "CURRENCY": _env("CURRENCY", "QAR"),  # ISO 4217, of every amount (payments are in one currency)
        # payouts (issue 7): a second, different supervisor approves above this amount; the same citizen, type
        # and amount within these days is a suspected duplicate; approving needs the password again this recently
        "PAYOUT_SECOND_APPROVAL_ABOVE": _env("PAYOUT_SECOND_APPROVAL_ABOVE", "50000"),
        "PAYOUT_DUPLICATE_DAYS": int(_env("PAYOUT_DUPLICATE_DAYS", 90)),
        "PAYOUT_REAUTH_MINUTES": int(_env("PAYOUT_REAUTH_MINUTES", 5)),
        # bank files: where released files are archived, the pain.001 version, the institution's account (the
        # debtor), the banks' CSV layouts (JSON, see intranet/payouts/files.py), and how long an export run holds
        # its batch before the sweeper hands it to another run
        "PAYOUT_ARCHIVE_DIR": Path(_env("PAYOUT_ARCHIVE_DIR", instance / "payout-files")),
        "PAYOUT_PAIN_VERSION": _env("PAYOUT_PAIN_VERSION", "pain.001.001.09"),
        "PAYOUT_DEBTOR_NAME": _env("PAYOUT_DEBTOR_NAME", "Diwan Citizen Affairs"),
        "PAYOUT_DEBTOR_IBAN": _env("PAYOUT_DEBTOR_IBAN", "QA78QNBA000000000123456789012"),
        "PAYOUT_DEBTOR_BIC": _env("PAYOUT_DEBTOR_BIC", "QNBAQAQA"),
        # the banks' CSV layouts: imported once, by the upgrade that makes them data (migration 0032), then edited
        # by administrators; still checked here, so a wrong one stops the start (payouts/bank_profiles.parse)
        "PAYOUT_BANK_PROFILES": _env("PAYOUT_BANK_PROFILES", ""),
        "PAYOUT_EXPORT_LEASE_SECONDS": int(_env("PAYOUT_EXPORT_LEASE_SECONDS", 60)),
        # statistics and printed documents (issue 8): where PDFs are archived, when the evening's daily summary is
        # produced (local time), the days of the month of the alert and execution statements
        "REPORT_ARCHIVE_DIR": Path(_env("REPORT_ARCHIVE_DIR", instance / "reports")),
        "DAILY_SUMMARY_TIME": _env("DAILY_SUMMARY_TIME", "20:00"),
        "ALERT_STATEMENT_DAYS": _env("ALERT_STATEMENT_DAYS", "1,15"),
        "EXECUTION_STATEMENT_DAYS": _env("EXECUTION_STATEMENT_DAYS", "8,22"),
        # issue 14: the key of the audit chains (payouts' audit trail, history), never stored in the database; empty:
        # generated once into instance/audit_key (intranet/chain.py). The same on every host, kept out of DB backups
        "AUDIT_KEY": _env("AUDIT_KEY", ""),
        # issue 16: a letter to a ministry awaits its reply this many days after it was sent (the clerk may set
        # another day when marking it sent); past that day it is on the list of letters awaiting a reply
        "LETTER_REPLY_DAYS": int(_env("LETTER_REPLY_DAYS", 30)),
        # issue 19: appointments at reception. The SMS code confirming a booking lives this many minutes (an unconfirmed
        # booking expires with it) and allows this many tries; a booking is a no-show this many minutes after its
        # slot; this many no-shows within the last so many days block online booking until they age out; a citizen
        # books at most this many days ahead
        "BOOKING_CODE_MINUTES": int(_env("BOOKING_CODE_MINUTES", 10)),
        "BOOKING_CODE_ATTEMPTS": int(_env("BOOKING_CODE_ATTEMPTS", 5)),
        "BOOKING_GRACE_MINUTES": int(_env("BOOKING_GRACE_MINUTES", 20)),
        "BOOKING_NO_SHOW_LIMIT": int(_env("BOOKING_NO_SHOW_LIMIT", 2)),
        "BOOKING_NO_SHOW_DAYS": int(_env("BOOKING_NO_SHOW_DAYS", 30)),
        "BOOKING_DAYS_AHEAD": int(_env("BOOKING_DAYS_AHEAD", 30)),
        # issue 20: the weekend of a year whose calendar an administrator has not set ("fri,sat" or ISO numbers "5,6");
        # a type counting working days skips these and the public holidays (intranet/calendar.py)
        "WEEKEND_DAYS": _env("WEEKEND_DAYS", "fri,sat"),
        # issue 17: where each registry's facts come from ("code=local": the registry_record table loaded by `diwan
        # registry load`; "code=https://host/path": an external registry's JSON API), its answer time, and the share
        # of automatic decisions (percent) routed to a person who confirms or reverses them
        "REGISTRIES": _env("REGISTRIES", "civil=local,retirement=local"),
        "REGISTRY_TIMEOUT_SECONDS": float(_env("REGISTRY_TIMEOUT_SECONDS", 5)),
        # the bearer token of each external registry ("retirement=<token>,civil=<token>"), sent to it only
        "REGISTRY_TOKENS": _env("REGISTRY_TOKENS", ""),
        "AUTOMATION_SAMPLE_PERCENT": float(_env("AUTOMATION_SAMPLE_PERCENT", 5)),
        # the hourly renewal job split into this many tasks the consumer's workers run side by side (PostgreSQL; each
        # its share of the benefits, a period claimed once whoever races); 1 on SQLite (one writer)
        "RENEWAL_PARTS": int(_env("RENEWAL_PARTS", 1)),
        # issue 21: how many hosts run the web app or the job consumer against this database (`diwan check-config`
        # refuses SQLite, a SQLite job queue, per-process rate limits and per-host keys above 1)
        "HOSTS": int(_env("HOSTS", 1)),
        # issue 21: logs as one JSON object a line ("json"), plain lines ("text"), or left to the host ("none");
        # each answer's line carries its request id, which also reaches the jobs it starts (intranet/ops/logs.py)
        "LOG_FORMAT": _env("LOG_FORMAT", "json"),
        "LOG_LEVEL": _env("LOG_LEVEL", "INFO"),
        # issue 21: /metrics (Prometheus) answers a scraper sending "Authorization: Bearer <METRICS_TOKEN>" or
        # coming from one of METRICS_ALLOW_IPS (addresses or networks, comma separated); both empty: refused to all
        "METRICS_TOKEN": _env("METRICS_TOKEN", ""),
        "METRICS_ALLOW_IPS": tuple(a.strip() for a in _env("METRICS_ALLOW_IPS", "").split(",") if a.strip()),
    }
    settings.update(overrides)
    # Flask-Login's remember cookie (Diwan issues none: sessions end on the server) follows the session cookie
    settings.setdefault("REMEMBER_COOKIE_SECURE", settings["SESSION_COOKIE_SECURE"])
    settings.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    if settings["SESSION_COOKIE_SECURE"] and "SESSION_COOKIE_NAME" not in overrides:
        # served over HTTPS: the __Host- prefix makes the browser refuse the cookie unless it is Secure, for the whole
        # site (Path=/) and this host only (no Domain), so a neighbouring host cannot plant one (ASVS 3.4.4)
        settings["SESSION_COOKIE_NAME"] = "__Host-session"
    if not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = _secret_key(instance)
    _check(settings)
    return settings


def _check(settings: dict):
    """Settings with a structure of their own are parsed once here, so a wrong one stops the start with a message
    naming it (ValueError), never a page or a job later."""
    from intranet import calendar
    from intranet.payouts import bank_profiles

    bank_profiles.parse(settings["PAYOUT_BANK_PROFILES"])
    if not 1 <= settings["RENEWAL_PARTS"] <= 32:
        raise ValueError("RENEWAL_PARTS: from 1 to 32 tasks side by side")
    try:
        calendar.parse_weekend(settings["WEEKEND_DAYS"])
    except ValueError as error:
        raise ValueError(f"WEEKEND_DAYS: {error}") from None


_UNSET = object()


def current():
    """The running app's configuration, or outside an app what `load()` gives (the environment, else the defaults;
    no secret key is generated into instance/ just to read a setting)."""
    from flask import current_app, has_app_context

    return current_app.config if has_app_context() else load({"SECRET_KEY": "unused"})


def setting(name, default=_UNSET):
    """The declared setting `name`: the running app's value, or outside an app the value `load()` gives (the
    environment's, else the declared default). A name the app does not declare is a mistake, not a missing value:
    KeyError, naming it. `default` is accepted for callers that still pass one, and used only outside an app for
    a name `load()` does not know."""
    from flask import has_app_context

    config = current()
    if name in config:
        return config[name]
    if default is not _UNSET and not has_app_context():
        return default
    raise KeyError(f"setting {name!r} is not declared: add it with its default to intranet/config.py load()")
