"""Turn a directory answer into a staff row: role and department are copied from the directory at each sign-in."""
from intranet.i18n import lazy_gettext as _l

from intranet.auth.directory import authenticate
from intranet.db import transaction
from intranet.models import Department, Staff, utcnow


class SignInRefused(Exception):
    def __init__(self, message, wrong_password: bool = False):
        super().__init__(str(message))
        self.message = message
        self.wrong_password = wrong_password  # counted by intranet/auth/throttle.py; a missing role is not a guess


def standing(person):
    """(the person's department or None, why they may not work in the intranet or None): the one rule of sign-in
    and of the directory sync (intranet/staff/sync.py), which ends the sessions of those it now refuses."""
    if person.role is None or person.disabled:
        return None, _l("Your directory account has no role in the intranet. Ask IT to add you to a group.")
    department = None
    if person.department_code:
        department = Department.get_or_none(Department.code == person.department_code)
    if person.role == "clerk" and department is None:
        return None, _l("Your directory account names no department the intranet knows. Ask IT to correct it.")
    return department, None


def sign_in(username: str, password: str) -> Staff:
    """The staff member for these credentials, or SignInRefused saying why (DirectoryUnavailable passes up)."""
    person = authenticate(username.strip(), password)
    if person is None:
        raise SignInRefused(_l("The user name or password is wrong."), wrong_password=True)
    department, refusal = standing(person)
    if refusal is not None:
        raise SignInRefused(refusal)
    values = {"full_name": person.full_name, "email": person.email, "role": person.role,
              "department": department, "active": True, "last_login_at": utcnow()}
    with transaction():
        staff = Staff.get_or_none(Staff.username == person.username)
        if staff is None:
            staff = Staff.create(username=person.username, **values)
        else:
            Staff.update(**values).where(Staff.id == staff.id).execute()
    return Staff.get_by_id(staff.id)
