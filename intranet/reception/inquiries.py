"""An inquiry's subject wherever an inquiry is entered: the subjects offered (each routes to its department,
models/inquiries.py) and the one rule a subject given is checked by (`checked_subject`: the desk's quick inquiry,
the walk-in form, the API and file imports)."""
from intranet.i18n import gettext as _

from intranet.models.inquiries import INQUIRY_TYPE, InquirySubject


class SubjectRefused(ValueError):
    """The subject given cannot be used; `message` says why, in the reader's language."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def subject_choices(locale) -> list[tuple[str, str]]:
    """The active subjects by code, after "not chosen" (the inquiry then goes to Citizens Affairs)."""
    return [("", _("Not chosen (Citizens Affairs)"))] + [(s.code, s.name(locale)) for s in InquirySubject.choices()]


def inquiry_form(form_class, locale, **kwargs):
    form = form_class(**kwargs)
    form.subject.choices = subject_choices(locale)
    return form


def checked_subject(request_type, code) -> InquirySubject | None:
    """The subject `code` names for a new request of `request_type`: None when none is given (an inquiry then goes to
    Citizens Affairs); only an inquiry has one, and only an active subject is offered (SubjectRefused otherwise)."""
    if not code:
        return None
    if request_type.code != INQUIRY_TYPE:
        raise SubjectRefused(_("Only an inquiry has a subject."))
    subject = InquirySubject.get_or_none((InquirySubject.code == code) & (InquirySubject.active == True))  # noqa: E712
    if subject is None:
        raise SubjectRefused(_("There is no inquiry subject with this code."))
    return subject
