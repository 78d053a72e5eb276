"""The directory sync (issue 18): directory changes take effect without waiting for the person to sign out.

Every few minutes (`jobs/directory.py`, DIRECTORY_SYNC_MINUTES) and when an administrator asks (the staff page), the
whole directory is read (`auth.directory.everyone`) and compared with the people who have signed in. A person
removed from it, or refused by the sign-in rule (`auth.signin.standing`: no intranet group, an account the directory
disables (LDAP_DISABLED_FILTER), a clerk without a known department), or whose role or department changed, has at
once:

- their row updated (inactive when removed or refused; the new role and department otherwise);
- their sessions ended (`auth.sessions.end_by_directory`): the very next request of any of them is refused;
- their open items released back to their queue, a history row each (`workflow.hand_over`, reason "directory");
- their queued digests withdrawn (an inactive person gets no further digest: `notify.digests` reads active staff);
- their delegations, given and received, revoked (`auth.delegations.revoke_for_staff`).

A directory that does not answer changes nothing: the run is recorded with its error, and the staff page shows it to
supervisors and administrators. So is an answer that lists nobody (a wrong base or filter would otherwise end
everyone's work). Each run is a `DirectorySync` row: when, who asked, what changed.
"""
import json

from flask import current_app
from intranet.i18n import lazy_gettext as _l

from intranet import paging, workflow
from intranet.auth import delegations, directory, sessions
from intranet.auth.signin import standing
from intranet.db import transaction
from intranet.models import Notification, Staff, utcnow
from intranet.models.staff_admin import DirectorySync

BATCH = 200
DIGEST_EVENTS = ("clerk_digest", "department_digest")

CHANGE_LABELS = {
    "removed": _l("Removed from the directory"),
    "disabled": _l("No longer allowed in the intranet by the directory"),
    "role": _l("Role changed"),
    "department": _l("Department changed"),
}
# the intranet's roles (models.people.ROLES) as the staff page names them
ROLE_LABELS = {"reception": _l("Reception desk"), "clerk": _l("Clerk"), "supervisor": _l("Supervisor"),
               "head": _l("Head of the institution"), "admin": _l("Administrator")}
TRIGGER_LABELS = {"schedule": _l("On schedule"), "admin": _l("Asked by an administrator")}


def run(actor=None) -> DirectorySync:
    """One sync run (`actor`: the administrator who asked, None: the schedule); its recorded row."""
    with transaction():
        row = DirectorySync.create(trigger="schedule" if actor is None else "admin",
                                   requested_by=actor.id if actor is not None else None)
    try:
        people = directory.everyone()
        if not people:
            raise directory.DirectoryUnavailable("the directory listed nobody: nothing was changed")
    except directory.DirectoryUnavailable as error:
        current_app.logger.warning("directory sync %s: the directory did not answer: %s", row.id, error)
        return _finish(row, 0, [], str(error)[:1000])
    checked, changes = 0, []
    after = None
    while True:
        batch, after = paging.page(Staff.select().where(Staff.active == True), Staff.id, after, BATCH)  # noqa: E712
        for staff in batch:
            checked += 1
            change = _apply_with_retry(staff, people.get(staff.username), actor)
            if change is not None:
                changes.append(change)
        if after is None:
            break
    return _finish(row, checked, changes, "")


def _finish(row, checked, changes, error) -> DirectorySync:
    with transaction():
        (DirectorySync.update(finished_at=utcnow(), checked=checked, changes=len(changes),
                              details=json.dumps(changes, ensure_ascii=False), error=error)
         .where(DirectorySync.id == row.id).execute())
    return DirectorySync.get_by_id(row.id)


def _compare(staff, person) -> tuple[str | None, dict]:
    """What changed for `staff` ("removed", "disabled", "role", "department" or None) and their new values."""
    if person is None:
        return "removed", {"active": False}
    department, refusal = standing(person)
    values = {"full_name": person.full_name, "email": person.email}
    if refusal is not None:
        return "disabled", {**values, "active": False}
    values = {**values, "role": person.role, "department": department.id if department else None}
    if values["role"] != staff.role:
        return "role", values
    if values["department"] != staff.department_id:
        return "department", values
    return None, values


def _apply_with_retry(staff, person, actor, attempts: int = 3) -> dict | None:
    """`_apply_person`, again if a clerk changed one of the person's items meanwhile (all or nothing each time)."""
    for attempt in range(attempts):
        try:
            return _apply_person(Staff.get_by_id(staff.id) if attempt else staff, person, actor)
        except workflow.StaleRequest:
            if attempt == attempts - 1:
                raise
    return None


def _apply_person(staff, person, actor) -> dict | None:
    """Bring one person in line with the directory; the change recorded in the run, None when nothing changed."""
    kind, values = _compare(staff, person)
    if kind is None:
        if (values["full_name"], values["email"]) != (staff.full_name, staff.email):
            with transaction():  # a new name or address: no consequence for their work
                Staff.update(**values).where(Staff.id == staff.id).execute()
        return None
    with transaction():
        Staff.update(**values).where(Staff.id == staff.id).execute()
        ended = sessions.end_by_directory(staff, actor, detail=kind)
        handed = workflow.hand_over(actor, staff, reason="directory")
        withdrawn = _withdraw_digests(staff)
        revoked = delegations.revoke_for_staff(staff, f"directory sync: {kind}", actor)
    return {"staff": staff.id, "username": staff.username, "name": staff.full_name, "kind": kind,
            "before": {"role": staff.role, "department": staff.department_id},
            "after": {"role": values.get("role", staff.role), "department": values.get("department", staff.department_id)},
            "sessions": ended, "released": len(handed["released"]), "digests": withdrawn, "delegations": revoked}


def _withdraw_digests(staff) -> int:
    """The person's digests queued and not yet sent (held by quiet hours) are not sent: they were written for the
    role and department the person no longer has."""
    return (Notification.update(status="failed", failed_at=utcnow(), last_error="withdrawn: directory change")
            .where((Notification.staff == staff.id) & (Notification.status == "queued")
                   & Notification.event.in_(DIGEST_EVENTS)).execute())


def latest() -> DirectorySync | None:
    """The newest run (the staff page shows when it ran and what it found, or its error)."""
    return DirectorySync.select().order_by(DirectorySync.id.desc()).first()


def runs(before: int | None = None, size: int = 10):
    """The runs, newest first, a page at a time."""
    return paging.page(DirectorySync.select(), DirectorySync.id, before, size, descending=True)
