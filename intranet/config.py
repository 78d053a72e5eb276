"""Settings from INTRANET_* environment variables, with embedded defaults for one machine."""
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
        # directory group cn -> intranet role; a person in several groups gets the strongest role
        "LDAP_ROLE_GROUPS": _mapping(_env(
            "LDAP_ROLE_GROUPS",
            "diwan-reception=reception,diwan-clerks=clerk,diwan-supervisors=supervisor,diwan-admins=admin",
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
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REQUEST_TYPES_FILE": Path(_env("REQUEST_TYPES_FILE", ROOT / "intranet" / "request_types.toml")),
        "CHECK_SCHEMA": True,
        # electronic intake API (issue 5): rate limits need one shared store across workers at scale (redis://)
        "RATELIMIT_STORAGE_URL": _env("RATELIMIT_STORAGE_URL", "memory://"),
        # seed 003 (fake bookings): electronic submissions one citizen may make in 24 hours
        "CITIZEN_DAILY_SUBMISSIONS": int(_env("CITIZEN_DAILY_SUBMISSIONS", 5)),
        "API_MAX_DOCUMENTS": int(_env("API_MAX_DOCUMENTS", 10)),
        # webhooks to portal clients: per-attempt timeout, attempts before "failed", waits between attempts
        "WEBHOOK_TIMEOUT_SECONDS": float(_env("WEBHOOK_TIMEOUT_SECONDS", 5)),
        "WEBHOOK_MAX_ATTEMPTS": int(_env("WEBHOOK_MAX_ATTEMPTS", 12)),
        "WEBHOOK_BACKOFF_SECONDS": _env("WEBHOOK_BACKOFF_SECONDS", "10,60,300,900,3600,10800"),
    }
    settings.update(overrides)
    if not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = _secret_key(instance)
    return settings
