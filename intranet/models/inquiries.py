"""Inquiry subjects (issue 16): what a citizen asks about decides which department answers. Subjects are data
(`[[inquiry_subjects]]` in request_types.toml, `diwan load-definitions`), each with the department competent for it;
an inquiry stores its subject (`Request.inquiry_subject`) and is routed to that department at submission."""
import peewee as pw

from intranet.models.people import Department, Named

INQUIRY_TYPE = "inquiry"  # the request type whose requests carry a subject
ANSWER_STAGE = "answer"  # a stage with this code is closed by an answer text sent to the citizen
ANSWER_MAX_LENGTH = 600  # the answer goes by SMS: about nine Arabic parts at most


class InquirySubject(Named):
    department = pw.ForeignKeyField(Department, backref="inquiry_subjects", on_delete="RESTRICT")
    active = pw.BooleanField(default=True)

    class Meta:
        table_name = "inquiry_subject"

    @classmethod
    def choices(cls):
        """The subjects offered for a new inquiry, in definition order."""
        return cls.select().where(cls.active == True).order_by(cls.id)  # noqa: E712
