"""The second factor (issue 14): supervisors, who decide payouts, and administrators confirm who they are with a
one-time code at sign-in and at re-authentication.

Who: the roles in MFA_ROLES (default "supervisor,admin"; empty: nobody). Everyone else signs in with the password.

Sign-in in two steps. A right password for such a person signs nobody in: `hold` ends any session this browser had
and keeps only "staff N passed the password, until T" in the signed session cookie (PENDING_MINUTES; the cookie is
signed with SECRET_KEY, so it cannot be made up, and it carries no flask-login user, so no page and no form
answers it). The code page (or, the first time, the enrolment page) then asks the code; only a right one calls
sessions.begin, which writes the session row and signs the person in (and drops the pending state).

Codes. A time-based one-time code (RFC 6238 TOTP, 30-second steps, six digits, pyotp) from an authenticator app,
accepted one step either side (valid_window=1, for clocks a little apart); the step of the last code accepted is
kept per person (`StaffFactor.last_step`) and only a later step is accepted, in one conditional UPDATE, so a code
cannot be used twice, not even by two requests at the same instant. Or one of ten recovery codes, shown once at
enrolment, each usable once (a conditional UPDATE of its `used_at`). Wrong codes count against the same allowance as
wrong passwords (throttle.failed), and while it is spent no code is tried; at the password step of such a person the
user name's count is not cleared (only a right code clears it), so passwords cannot be used to reset code guesses.

Enrolment. The first time, the page shows a new secret as a QR code (an SVG data: URI, allowed by the
Content-Security-Policy's img-src) and as text for typing in; the secret is stored at once but is not in force until
a right code confirms it, so reloading the page or signing in again shows the same one. Once confirmed it is never
shown again: a person who loses the phone uses a recovery code, and an administrator resets the second factor on
the person's sessions page (their sessions end with it, and the next sign-in enrols anew), a security event.

Storage. Recovery codes are kept as HMAC-SHA-256 under a key derived from SECRET_KEY (so a copy of the database
alone cannot test guesses against them). TOTP secrets are stored as they are, because the server must compute
codes from them, and the `cryptography` package (Fernet with a key derived from SECRET_KEY by HKDF) is not among
the application's dependencies; what protects them is that no page shows a secret after enrolment and that the
database is the application's alone. Adding that encryption later means encrypting the `secret` column once and
decrypting in `_totp`.
"""
import hashlib
import hmac
import secrets
import time

import pyotp
import segno
from flask import current_app, session
from peewee import IntegrityError

from intranet.auth import sessions
from intranet.db import transaction
from intranet.models import Staff, utcnow
from intranet.models.mfa import RecoveryCode, StaffFactor

PENDING_KEY = "mfa_pending"
PENDING_MINUTES = 10  # to enter the code; the first time, to install an authenticator app as well
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base 32: no i, l, o, u to misread
RECOVERY_LENGTH = 12  # 60 bits, shown as three groups of four
_MISREAD = str.maketrans({"o": "0", "i": "1", "l": "1", "-": None, " ": None})


def _now() -> float:
    """Unix time; tests replace it to fix the time step."""
    return time.time()


def roles() -> tuple[str, ...]:
    value = current_app.config["MFA_ROLES"]
    if isinstance(value, str):
        value = value.split(",")
    return tuple(role.strip() for role in value if role and role.strip())


def required(user) -> bool:
    """Whether this person confirms sign-in and re-authentication with a code."""
    return bool(getattr(user, "role", None)) and user.role in roles()


# --- the half-signed-in state ----------------------------------------------------------------------------------

def hold(staff, next_url: str = "") -> None:
    """The password was right: nobody is signed in on this browser, only "this person may now give the code"."""
    sessions.finish("rotated")  # a session this browser had, of anyone, ends; the cookie keeps only the language
    session[PENDING_KEY] = {"staff": staff.id, "until": int(_now()) + PENDING_MINUTES * 60, "next": next_url or ""}


def held():
    """The person who gave the right password on this browser a few minutes ago (active still), or None."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or not isinstance(pending.get("until"), int) or pending["until"] < _now():
        return None
    return Staff.get_or_none((Staff.id == pending.get("staff")) & (Staff.active == True))  # noqa: E712


def held_next() -> str:
    pending = session.get(PENDING_KEY)
    return (pending.get("next") or "") if isinstance(pending, dict) else ""


def release() -> bool:
    """Forget the half-signed-in state; whether there was one."""
    return session.pop(PENDING_KEY, None) is not None


# --- enrolment --------------------------------------------------------------------------------------------------

def enrolled(staff) -> bool:
    return StaffFactor.select().where((StaffFactor.staff == staff.id) & StaffFactor.enrolled_at.is_null(False)).exists()


def enrolment_secret(staff) -> str | None:
    """The secret to show for enrolment (made the first time, the same until confirmed); None once enrolled."""
    row = StaffFactor.get_or_none(StaffFactor.staff == staff.id)
    if row is None:
        try:
            with transaction():
                row = StaffFactor.create(staff=staff.id, secret=pyotp.random_base32(), created_at=utcnow())
        except IntegrityError:  # the same person's other tab made it first
            row = StaffFactor.get(StaffFactor.staff == staff.id)
    return None if row.enrolled_at else row.secret


def provisioning_uri(staff, secret: str) -> str:
    return _totp(secret).provisioning_uri(name=staff.username, issuer_name=current_app.config["MFA_ISSUER"])


def qr_data_uri(text: str) -> str:
    """The QR code of `text` as an SVG data: URI, for an <img> (no inline script or style)."""
    return segno.make(text, micro=False).svg_data_uri(scale=5, border=2)


def grouped(secret: str) -> str:
    """ABCD EFGH ...: four characters at a time, for typing in."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def confirm_enrolment(staff, code: str) -> list[str] | None:
    """A right code puts the shown secret in force and makes ten new recovery codes (returned to be shown once);
    None for a wrong code (or nothing to confirm)."""
    row = StaffFactor.get_or_none(StaffFactor.staff == staff.id)
    if row is None or row.enrolled_at is not None:
        return None
    step = _matching_step(row.secret, code)
    if step is None:
        return None
    codes = [_new_recovery_code() for _n in range(RECOVERY_CODES)]
    with transaction():
        done = (StaffFactor.update(enrolled_at=utcnow(), last_step=step)
                .where((StaffFactor.staff == staff.id) & StaffFactor.enrolled_at.is_null()
                       & (StaffFactor.secret == row.secret)).execute())
        if not done:
            return None
        RecoveryCode.delete().where(RecoveryCode.staff == staff.id).execute()
        RecoveryCode.insert_many([{"staff": staff.id, "digest": _digest(staff.id, c), "used_at": None}
                                  for c in codes]).execute()
        sessions.record("second_factor_enrolled", username=staff.username, staff=staff, subject=staff)
    return [_shown(c) for c in codes]


# --- checking a code --------------------------------------------------------------------------------------------

def check(staff, code: str) -> str | None:
    """"totp" or "recovery" when `code` is right for this enrolled person (and now used up), else None."""
    code = (code or "").strip()
    row = StaffFactor.get_or_none((StaffFactor.staff == staff.id) & StaffFactor.enrolled_at.is_null(False))
    if row is None or not code:
        return None
    step = _matching_step(row.secret, code)
    if step is not None:
        with transaction():  # only a later step than the last one accepted: a code works once
            done = (StaffFactor.update(last_step=step)
                    .where((StaffFactor.staff == staff.id)
                           & (StaffFactor.last_step.is_null() | (StaffFactor.last_step < step))).execute())
        return "totp" if done else None
    typed = code.lower().translate(_MISREAD)
    if len(typed) != RECOVERY_LENGTH or any(c not in RECOVERY_ALPHABET for c in typed):
        return None
    with transaction():
        used = (RecoveryCode.update(used_at=utcnow())
                .where((RecoveryCode.staff == staff.id) & (RecoveryCode.digest == _digest(staff.id, typed))
                       & RecoveryCode.used_at.is_null()).execute())
        if used:
            sessions.record("recovery_code_used", username=staff.username, staff=staff, subject=staff,
                            detail=f"{recovery_codes_left(staff)} left")
    return "recovery" if used else None


def recovery_codes_left(staff) -> int:
    return RecoveryCode.select().where((RecoveryCode.staff == staff.id) & RecoveryCode.used_at.is_null()).count()


def status(staff) -> dict:
    """What the administrators' page says of a person's second factor."""
    row = StaffFactor.get_or_none(StaffFactor.staff == staff.id)
    return {"required": required(staff), "enrolled_at": row.enrolled_at if row else None, "exists": row is not None,
            "recovery_left": recovery_codes_left(staff) if row and row.enrolled_at else 0}


def reset(staff, actor) -> bool:
    """An administrator removes a person's second factor (a lost phone, an enrolment not theirs): the secret and
    recovery codes go, their sessions end, and their next sign-in enrols anew. False when there was none."""
    with transaction():
        removed = StaffFactor.delete().where(StaffFactor.staff == staff.id).execute()
        RecoveryCode.delete().where(RecoveryCode.staff == staff.id).execute()
        if not removed:
            return False
        sessions.record("second_factor_reset", username=staff.username, staff=actor, subject=staff)
        sessions.end_everywhere(staff, actor=actor)
    return True


# --- inside -----------------------------------------------------------------------------------------------------

def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret)


def _matching_step(secret: str, code: str) -> int | None:
    """The time step (this one or one either side) whose code `code` is, or None."""
    code = "".join((code or "").split())
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = _totp(secret)
    now = int(_now()) // totp.interval
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _new_recovery_code() -> str:
    return "".join(secrets.choice(RECOVERY_ALPHABET) for _n in range(RECOVERY_LENGTH))


def _shown(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def _digest(staff_id: int, code: str) -> str:
    key = hmac.new(str(current_app.config["SECRET_KEY"]).encode(), b"diwan recovery codes", hashlib.sha256).digest()
    return hmac.new(key, f"{staff_id}:{code}".encode(), hashlib.sha256).hexdigest()
