"""People and places: departments, governorates, citizens (beneficiaries) and staff."""
import datetime as dt

import peewee as pw
from flask_login import UserMixin

from intranet.db import BaseModel

# weakest to strongest: a person in several directory groups gets the last of theirs (auth/directory.py). The
# head of the institution decides the stages that require "head" and is never lost to a broader group they are also
# in; administrators stay strongest, as before
ROLES = ("reception", "clerk", "supervisor", "head", "admin")


def utcnow():
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Named(BaseModel):
    """A reference row with an Arabic and an English name."""

    code = pw.CharField(max_length=40, unique=True)
    name_ar = pw.CharField(max_length=200)
    name_en = pw.CharField(max_length=200)

    def name(self, locale: str) -> str:
        return self.name_ar if locale == "ar" else self.name_en


class Department(Named):
    pass


class Governorate(Named):
    pass


class Citizen(BaseModel):
    national_id = pw.CharField(max_length=20, unique=True)
    full_name = pw.CharField(max_length=200)
    # the name folded for search (diacritics, tatweel, alef/hamza forms, the article): intranet.i18n.search_text
    name_search = pw.CharField(max_length=200, index=True)
    phone = pw.CharField(max_length=20, index=True)
    governorate = pw.ForeignKeyField(Governorate, backref="citizens", on_delete="RESTRICT")
    iban = pw.CharField(max_length=34, null=True)
    email = pw.CharField(max_length=200, null=True)  # notices go by e-mail too when the citizen gave one
    preferred_language = pw.CharField(max_length=2, default="ar")
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)


class Staff(UserMixin, BaseModel):
    """A member of staff as last seen in the directory; role and department are copied at each sign-in."""

    username = pw.CharField(max_length=100, unique=True)
    full_name = pw.CharField(max_length=200)
    email = pw.CharField(max_length=200, null=True)
    role = pw.CharField(max_length=20)
    department = pw.ForeignKeyField(Department, null=True, backref="staff", on_delete="RESTRICT")
    active = pw.BooleanField(default=True)
    last_login_at = pw.DateTimeField(null=True)
    queue_seen_at = pw.DateTimeField(null=True)  # the badge counts what entered their queue since
    # the reception desk and services this person called from last ("4:inquiry.follow_up"), whatever the computer
    desk_choice = pw.CharField(max_length=200, null=True)
    created_at = pw.DateTimeField(default=utcnow)

    @property
    def is_active(self):
        return self.active


class CitizenChange(BaseModel):
    """Who corrected what on a citizen's record, and when: the old and new value of each field changed."""

    citizen = pw.ForeignKeyField(Citizen, backref="changes", on_delete="CASCADE")
    changed_by = pw.ForeignKeyField(Staff, on_delete="RESTRICT")
    changes = pw.TextField()  # JSON {field: [old, new]}
    created_at = pw.DateTimeField(default=utcnow)
