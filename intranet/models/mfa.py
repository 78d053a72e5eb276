"""The second factor of the people who decide payouts and administer the intranet (issue 14): a time-based
one-time code (TOTP) from an authenticator app, and one-time recovery codes.

`StaffFactor` holds a person's TOTP secret. It is written when the enrolment page first shows the QR code
(`enrolled_at` NULL: not in force yet) and confirmed by the first right code; from then on it is never shown again.
`last_step` is the 30-second time step of the last code accepted, so a code cannot be used twice. Recovery codes
are stored as a keyed hash only (intranet/auth/mfa.py), each with the time it was used.
"""
import peewee as pw

from intranet.db import BaseModel
from intranet.models.people import Staff, utcnow


class StaffFactor(BaseModel):
    staff = pw.ForeignKeyField(Staff, primary_key=True, backref="+", on_delete="CASCADE")
    secret = pw.CharField(max_length=64)  # base32, as authenticator apps read it
    created_at = pw.DateTimeField(default=utcnow)
    enrolled_at = pw.DateTimeField(null=True)  # NULL: shown for enrolment, not confirmed by a code yet
    last_step = pw.BigIntegerField(null=True)  # the time step (unix time // 30) of the last code accepted

    class Meta:
        table_name = "staff_factor"


class RecoveryCode(BaseModel):
    staff = pw.ForeignKeyField(Staff, backref="+", on_delete="CASCADE", index=False)
    digest = pw.CharField(max_length=64)  # HMAC-SHA-256 of the code (intranet/auth/mfa.py), hex
    used_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "recovery_code"
        indexes = ((("staff", "digest"), True),)
