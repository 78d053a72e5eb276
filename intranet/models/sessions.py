"""Sign-in sessions the server can end, and the security events administrators review.

A session row is keyed by the SHA-256 of a random token; the token itself lives only in the person's signed
session cookie (intranet/auth/sessions.py), so a copy of this table cannot be replayed as a cookie.
"""
import peewee as pw

from intranet.db import BaseModel
from intranet.models.people import Staff, utcnow

# why a session ended
END_REASONS = ("logout", "everywhere", "admin", "idle", "expired", "rotated", "inactive", "directory")
# what a security event records
EVENT_KINDS = ("login_locked", "reauth_locked", "signed_out_everywhere", "sessions_ended_by_admin",
               "second_factor_enrolled", "recovery_code_used", "second_factor_reset",  # these three: auth/mfa.py
               "sessions_ended_by_directory")  # the directory sync (intranet/staff/sync.py)


class StaffSession(BaseModel):
    id = pw.CharField(max_length=64, primary_key=True)  # sha256(token), hex
    staff = pw.ForeignKeyField(Staff, backref="sessions", on_delete="CASCADE", index=False)
    created_at = pw.DateTimeField(default=utcnow)
    last_seen_at = pw.DateTimeField(default=utcnow)  # written at most once a minute
    ended_at = pw.DateTimeField(null=True)
    end_reason = pw.CharField(max_length=12, null=True)
    user_agent = pw.CharField(max_length=300, default="")
    address = pw.CharField(max_length=64, default="")

    class Meta:
        table_name = "staff_session"
        # a person's sessions, newest first (the account and administration pages, ending them all); the
        # live ones are those with ended_at NULL (partial index staff_session_live in migration 0013)
        indexes = ((("staff", "created_at"), False),)


class SecurityEvent(BaseModel):
    kind = pw.CharField(max_length=30)
    username = pw.CharField(max_length=100, default="")  # as typed (sign-in) or the person's user name
    address = pw.CharField(max_length=64, default="")
    staff = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL", index=False)  # who did it
    subject = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL", index=False)  # to whom
    detail = pw.CharField(max_length=300, default="")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "security_event"
