"""Files handed to the browser: one correct media type each (a CSV says its charset once), always nosniff and
no-store, the name in Content-Disposition, and HEAD answered like GET."""
import io
import zipfile

import pytest

from intranet.models import Attachment
from tests.factories import PDF, make_request
from tests.test_requests_http import act


def _check(response, media_type, disposition="attachment"):
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"] == media_type  # exactly: no second "; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["Content-Disposition"].startswith(disposition)


@pytest.mark.parametrize("path, media_type", [
    ("/imports/template.csv", "text/csv; charset=utf-8"),
    ("/imports/template.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("/stats/export/types.csv", "text/csv; charset=utf-8"),
    ("/stats/export/governorates.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
])
def test_generated_files_have_one_media_type_and_are_not_kept(auth, client, path, media_type):
    auth.login("supervisor1")
    response = client.get(path)
    _check(response, media_type)
    if media_type.endswith("sheet"):
        assert zipfile.is_zipfile(io.BytesIO(response.data))
    head = client.head(path)
    assert head.status_code == 200 and head.headers["Content-Type"] == media_type and not head.data


def test_an_attachment_is_a_download_in_its_recorded_type(auth, client, ctx):
    req = make_request("health_care")
    auth.login("health1")
    act(client, req.tracking_number, "comment", 1, "scan", [("تقرير.pdf", PDF)])
    attachment = Attachment.get()
    response = client.get(f"/attachments/{attachment.id}")
    _check(response, "application/pdf")
    assert "filename*=UTF-8''%D8%AA%D9%82%D8%B1%D9%8A%D8%B1.pdf" in response.headers["Content-Disposition"]
    assert response.data == PDF
    assert client.head(f"/attachments/{attachment.id}").status_code == 200
