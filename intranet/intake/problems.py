"""RFC 9457 problem details: every API error says what went wrong, in JSON, in the caller's language."""
from flask import jsonify

PROBLEM_TYPE = "application/problem+json"


def problem(status: int, kind: str, title, detail, headers=None, **extra):
    """A problem response; `kind` names the problem (/api/v1/problems/<kind> documents it)."""
    body = {"type": f"/api/v1/problems/{kind}", "title": str(title), "status": status, "detail": str(detail)}
    body.update({key: value for key, value in extra.items() if value is not None})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
