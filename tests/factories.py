"""Plain factory functions for tests: make_citizen(**overrides), make_staff(...), make_request(...)."""
import io
import itertools

from stdnum import luhn
from werkzeug.datastructures import FileStorage

from intranet import workflow
from intranet.i18n import search_text
from intranet.models import Citizen, Department, Governorate, RequestType, Staff

_numbers = itertools.count(1)

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 20


def national_id(n=None) -> str:
    body = f"2{(n or next(_numbers)):09d}"
    return body + luhn.calc_check_digit(body)


def make_citizen(**overrides) -> Citizen:
    values = {"full_name": "محمد أحمد المري", "national_id": national_id(), "phone": "+97455123456",
              "governorate": Governorate.get(Governorate.code == "doha"), "preferred_language": "ar"}
    values.update(overrides)
    values.setdefault("name_search", search_text(values["full_name"]))
    return Citizen.create(**values)


def make_staff(username, role="clerk", department="health") -> Staff:
    dept = Department.get(Department.code == department) if department else None
    return Staff.create(username=username, full_name=username.title(), role=role, department=dept)


def upload(name="scan.pdf", content=PDF) -> FileStorage:
    return FileStorage(stream=io.BytesIO(content), filename=name, content_type="application/octet-stream")


def make_request(type_code="health_care", actor=None, citizen=None, **overrides):
    actor = actor or Staff.get_or_none(Staff.username == "desk") or make_staff("desk", "reception", "reception")
    values = {"subject": "طلب", "details": "", "channel": "walk_in"}
    values.update(overrides)
    return workflow.submit(actor, citizen or make_citizen(), RequestType.get(RequestType.code == type_code),
                           values.pop("channel"), values.pop("subject"), **values).request
