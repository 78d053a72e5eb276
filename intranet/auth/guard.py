"""A blueprint's gate: every route of it is for signed-in staff whom one rule of `auth/permissions.py` allows; anyone
else signs in first (flask-login) or gets a 403. Routes that need more (the object, the department) ask their own
rule as well."""
from flask import abort
from flask_login import current_user, login_required


def only(bp, rule):
    """Let through to `bp`'s routes only the signed-in people for whom `rule(person)` is true."""

    @bp.before_request
    @login_required
    def gate():
        if not rule(current_user):
            abort(403)

    return gate
