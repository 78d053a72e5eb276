"""The desk's quick inquiry: the subjects offered (each routes to its department, models/inquiries.py)."""
from flask_babel import gettext as _

from intranet.models.inquiries import InquirySubject


def subject_choices(locale) -> list[tuple[str, str]]:
    """The active subjects by code, after "not chosen" (the inquiry then goes to Citizens Affairs)."""
    return [("", _("Not chosen (Citizens Affairs)"))] + [(s.code, s.name(locale)) for s in InquirySubject.choices()]


def inquiry_form(form_class, locale, **kwargs):
    form = form_class(**kwargs)
    form.subject.choices = subject_choices(locale)
    return form


def subject_of(code) -> InquirySubject | None:
    """The active subject with this code; None for none chosen."""
    if not code:
        return None
    return InquirySubject.get_or_none((InquirySubject.code == code) & (InquirySubject.active == True))  # noqa: E712
