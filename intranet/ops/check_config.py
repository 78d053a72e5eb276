"""`diwan check-config` (issue 21): the settings a production deployment must not run with.

Run it on each host with the environment the services get (deploy/README in the "Deploying" section of README.md:
`sudo -u diwan env $(cat /etc/diwan/diwan.env) diwan check-config`). It reads the loaded configuration only (no
database, no directory), prints every finding and exits 1 when anything is refused, so it can guard a deployment
script. Refused:

- a secret key that is short, well known or repetitive (the session cookie and the recovery codes' key derive from
  it); with several hosts, a secret or audit key generated into one host's instance folder (each host would make
  its own: sessions and the audit chains would not agree);
- the session cookie (and Flask-Login's remember cookie) without Secure;
- a directory reached without TLS: only ldaps:// is accepted (passwords are bound over that connection);
- SMTP with a user name but no TLS; a monitoring or metrics token shorter than 16 characters;
- several hosts (INTRANET_HOSTS > 1: machines running the web app or the job consumer against one database) with
  SQLite as the database or the job queue (a file on one host: other hosts' writes would be lost or corrupt it), or
  with per-process rate limits (memory://: each host would count apart).

Warnings (printed, not refused): HSTS off, no trusted proxy (behind nginx every client shares its address), an SMS
gateway or registry reached over plain http, bank file layouts still set in INTRANET_PAYOUT_BANK_PROFILES (imported
once by the upgrade, edited in the intranet since).
"""
from dataclasses import dataclass
from pathlib import Path

# keys that have appeared in this repository, its tests and the usual examples
WELL_KNOWN_KEYS = {"test", "dev", "development", "secret", "changeme", "change-me", "unused", "demo", "diwan",
                   "secret-key", "secret_key", "password", "default"}
MIN_KEY_LENGTH = 32
MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class Finding:
    refused: bool
    setting: str
    message: str

    def __str__(self):
        return f"{'REFUSED' if self.refused else 'warning'}: INTRANET_{self.setting}: {self.message}"


def _weak(key: str) -> str | None:
    if key.strip().lower() in WELL_KNOWN_KEYS:
        return "is a well-known value"
    if len(key) < MIN_KEY_LENGTH:
        return f"is {len(key)} characters long; use at least {MIN_KEY_LENGTH} random ones (openssl rand -hex 32)"
    if len(set(key)) < 8:
        return "repeats too few characters to be random"
    return None


def _from_instance(config, configured: str, file: str) -> bool:
    """The key was generated into this host's instance folder rather than configured."""
    path = Path(config["INSTANCE_DIR"]) / file
    return not configured or (path.exists() and path.read_text().strip() == configured)


def findings(config) -> list[Finding]:
    found = []

    def refuse(setting, message):
        found.append(Finding(True, setting, message))

    def warn(setting, message):
        found.append(Finding(False, setting, message))

    hosts = config["HOSTS"]
    if hosts < 1:
        refuse("HOSTS", f"is {hosts}; it counts the hosts running the web app or the job consumer (at least 1)")
    if (weakness := _weak(config["SECRET_KEY"])) is not None:
        refuse("SECRET_KEY", f"the secret key {weakness}")
    if hosts > 1 and _from_instance(config, config["SECRET_KEY"], "secret_key"):
        refuse("SECRET_KEY", f"was generated into this host's {Path(config['INSTANCE_DIR']) / 'secret_key'}; with "
                             f"{hosts} hosts set the same key on every host, or sessions end at the next host")
    if config["AUDIT_KEY"] and (weakness := _weak(config["AUDIT_KEY"])) is not None:
        refuse("AUDIT_KEY", f"the audit key {weakness}")
    if hosts > 1 and not config["AUDIT_KEY"]:
        refuse("AUDIT_KEY", f"is not set: each of the {hosts} hosts would generate its own instance/audit_key and "
                            "the audit chains would not verify; set the same key on every host (never in a backup)")
    if not config["SESSION_COOKIE_SECURE"]:
        refuse("SESSION_COOKIE_SECURE", "is off: the session cookie would also travel over plain HTTP; turn it on "
                                        "(the site is served over HTTPS only)")
    if not config["REMEMBER_COOKIE_SECURE"]:
        refuse("SESSION_COOKIE_SECURE", "the remember cookie is not Secure (it follows SESSION_COOKIE_SECURE)")
    if not str(config["LDAP_URL"]).lower().startswith("ldaps://"):
        refuse("LDAP_URL", f"{config['LDAP_URL']!r} is not TLS: passwords are checked by binding over this "
                           "connection; use ldaps://host:636")
    if config["MAIL_BACKEND"] == "smtp" and config["SMTP_USERNAME"] and config["SMTP_TLS"] not in ("starttls", "ssl"):
        refuse("SMTP_TLS", "is none while a user name is set: the SMTP password would cross the network in clear")
    for name, token in (("MONITORING_TOKEN", config["MONITORING_TOKEN"]), ("METRICS_TOKEN", config["METRICS_TOKEN"])):
        if token and len(token) < MIN_TOKEN_LENGTH:
            refuse(name, f"is shorter than {MIN_TOKEN_LENGTH} characters")
    if hosts > 1:
        if str(config["DATABASE_URL"]).startswith("sqlite"):
            refuse("DATABASE_URL", f"is SQLite, a file on one host, with {hosts} hosts: use PostgreSQL")
        if str(config["HUEY_URL"]).startswith("sqlite"):
            refuse("HUEY_URL", f"is a SQLite job queue with {hosts} hosts: use redis://")
        if str(config["RATELIMIT_STORAGE_URL"]).startswith("memory://"):
            refuse("RATELIMIT_STORAGE_URL", f"memory:// counts per process: with {hosts} hosts a client gets each "
                                            "host's allowance; use redis://")
    if not config["HSTS"]:
        warn("HSTS", "is off: browsers are not told to use HTTPS only (nginx may send it instead)")
    if not config["TRUSTED_PROXIES"]:
        warn("TRUSTED_PROXIES", "is 0: behind nginx every client has the proxy's address (set 1)")
    if config["SMS_GATEWAY"] == "http" and str(config["SMS_GATEWAY_URL"]).startswith("http://"):
        warn("SMS_GATEWAY_URL", "is plain http: messages and the gateway token are readable on the way")
    if "=http://" in str(config["REGISTRIES"]):
        warn("REGISTRIES", "names a registry over plain http: its bearer token is readable on the way")
    if str(config["PAYOUT_BANK_PROFILES"]).strip():
        warn("PAYOUT_BANK_PROFILES", "is read once, by the `diwan db upgrade` that creates the bank_profile table "
                                     "(migration 0032); since then administrators edit the bank file layouts at "
                                     "/admin/reference/bank-profiles/ and a change here changes nothing")
    return found
