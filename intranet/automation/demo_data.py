"""The demo's straight-through processing (issue 17): a local civil registry holding most of the seeded citizens
(a few known to have died, some not registered), written as a CSV file in the instance folder and loaded like any
registry file; version 1 of the compensation grant's rule (registered and alive, the amount at most 5,000: accept
the first stage), so new compensation requests entered in the demo are decided at once; and version 1 of the
monthly pension verification's rule (registered and alive: complete), with the periodic benefits the seeded
completed verifications would have started (the seed writes requests in bulk, past the workflow), some overdue and
the others falling due over the next weeks, for the hourly renewal job and the statements."""
import csv
import datetime as dt
import io
import json

from intranet.automation import registry_files
from intranet.db import insert_row
from intranet.models import Citizen, Request, RequestType, utcnow
from intranet.models.automation import AutoRule
from intranet.models.renewals import Benefit
from intranet.stats.figures import local_today

DEMO_CONDITIONS = [{"fact": "registered", "op": "is_true", "value": None},
                   {"fact": "alive", "op": "is_true", "value": None}]


def registry_csv(limit: int = 5000) -> bytes:
    """The demo's civil registry as a CSV file: the first `limit` citizens, one in 25 deceased, one in 40 not
    registered, every fifth one left out (unknown to the registry)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["national_id", "registered", "alive", "age"])
    for citizen in Citizen.select(Citizen.id, Citizen.national_id).order_by(Citizen.id).limit(limit):
        if citizen.id % 5 == 0:
            continue
        writer.writerow([citizen.national_id, "no" if citizen.id % 40 == 1 else "yes",
                         "no" if citizen.id % 25 == 3 else "yes", 20 + citizen.id % 70])
    return out.getvalue().encode()


def seed(instance_dir) -> int:
    """The registry file written and loaded, and the compensation rule, unless a rule exists; people loaded."""
    if AutoRule.select().exists():
        return 0
    content = registry_csv()
    (instance_dir / "sample-registry.csv").write_bytes(content)
    loaded = registry_files.load("civil", content, "csv")
    for code, amount_limit, decision in (("compensation", 5000, "accept_stage"), ("pension_verification", None,
                                                                                 "complete")):
        rtype = RequestType.get_or_none(RequestType.code == code)
        if rtype is not None:
            AutoRule.create(request_type=rtype.id, version=1, active=True, registry="civil",
                            conditions=json.dumps(DEMO_CONDITIONS), amount_limit=amount_limit, decision=decision,
                            created_by=None, created_at=utcnow(), note="demo")
    seed_benefits()
    return loaded


def seed_benefits(limit: int = 80) -> int:
    """The monthly benefits of the first `limit` completed pension verifications (one per citizen), due from 15
    days ago to 34 days ahead; how many were made."""
    rtype = RequestType.get_or_none(RequestType.code == "pension_verification")
    if rtype is None or not rtype.renewal_months:
        return 0
    made, today = 0, local_today()
    completed = (Request.select(Request.id, Request.citizen, Request.amount, Request.subject)
                 .where((Request.request_type == rtype.id) & (Request.status == "completed"))
                 .order_by(Request.id).limit(limit))
    for number, req in enumerate(completed):
        made += insert_row(Benefit, {
            "citizen": req.citizen_id, "request_type": rtype.id, "every_months": rtype.renewal_months, "period": 0,
            "next_due": today + dt.timedelta(days=number % 50 - 15), "amount": req.amount,
            "subject": (req.subject or "")[:300], "origin": req.id, "active": True}, ignore_conflict=True) is not None
    return made
