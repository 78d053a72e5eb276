"""Issue 16's figures: the header search (`/search?q=`) by tracking number and by name, and the citizen page of a
citizen with 50 requests, all as the Health clerk (the visibility rule a clerk brings is the costliest: their
department, or a history row of theirs).

    tracking  GET /search?q=<tracking number> (htmx)   rotating over the sample of Health requests; typed in the
                                                       header box a hit redirects to the request page (measured as
                                                       `request`); as one types (htmx) the results are the answer
    name      GET /search?q=<name>                      rotating over the bench's names in several spellings
    citizen   GET /citizens/<id>                        one citizen given 50 of the seeded Health requests

Targets at 1M requests (issue 16): search p95 under 100 ms by tracking number and 150 ms by name, the citizen page
under 100 ms.
"""
import random
import urllib.parse

TARGETS = {"tracking": 100, "name": 150, "citizen": 100}
REQUESTS_OF_ONE_CITIZEN = 50
HTMX = "HX-Request: true"


def give_one_citizen_requests(department_code: str, count: int = REQUESTS_OF_ONE_CITIZEN, seed: int = 16) -> int:
    """Make one seeded citizen the citizen of `count` of the department's seeded requests (an UPDATE of the
    request's citizen: the rows stay as the seed wrote them otherwise); returns the citizen's id. Inside an open
    connection."""
    from intranet.models import Department, Request

    department = Department.get(Department.code == department_code)
    last = Request.select(Request.id).order_by(Request.id.desc()).scalar() or 0
    ids, rng = [], random.Random(seed)
    while len(ids) < count:  # random ids, not a scan: the table has up to a million rows
        batch = [rng.randint(1, last) for _ in range(count * 8)]
        ids += [row[0] for row in Request.select(Request.id)
                .where(Request.id.in_(batch) & (Request.department == department.id)).tuples()
                if row[0] not in ids]
    ids = ids[:count]
    citizen_id = Request.select(Request.citizen).where(Request.id == ids[0]).scalar()
    Request.update(citizen=citizen_id).where(Request.id.in_(ids)).execute()
    return citizen_id


def search_path(text: str) -> str:
    return "/search?" + urllib.parse.urlencode({"q": text})


def plan(numbers, names, citizen_id: int) -> list[tuple]:
    """(measurement, label, paths, extra headers) of each run."""
    return [
        ("tracking", f"header search, tracking number (`/search?q=`, htmx, {len(numbers)} numbers)",
         [search_path(n) for n in numbers], (HTMX,)),
        ("name", f"header search, name (`/search?q=`, {len(names)} names)", [search_path(n) for n in names], ()),
        ("citizen", f"citizen page, {REQUESTS_OF_ONE_CITIZEN} requests (`/citizens/<id>`)",
         [f"/citizens/{citizen_id}"], ()),
    ]


def check(session, numbers, citizen_id: int):
    """Each page answers 200 with what it must show, before any load."""
    body = session.must_be_ok(f"/citizens/{citizen_id}", 'id="citizen-requests"')
    shown = body.split('id="citizen-requests"', 1)[1].split("</table>", 1)[0].count("<tr>") - 1
    if shown < 20:
        raise RuntimeError(f"the citizen page shows {shown} requests, not a page of 20")


def verdicts(result, at: str, low: int, page) -> list[str]:
    """The lines of issue 16's figures for one backend at one size; `page(measurement, connections)` finds a run."""
    mark = lambda ok: "met" if ok else "**not met**"  # noqa: E731
    lines = []
    for measurement, what in (("tracking", "header search p95, tracking number"),
                              ("name", "header search p95, name"), ("citizen", "citizen page p95 (50 requests)")):
        found = page(result, f"lookup-{measurement}", low)
        if found:
            ms = found["p95_us"] / 1000
            lines.append(f"- {at}: {what} {ms:.1f} ms at -c{low} (target < {TARGETS[measurement]} ms): "
                         f"{mark(ms < TARGETS[measurement])}")
    return lines
