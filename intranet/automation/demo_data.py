"""The demo's straight-through processing (issue 17): a local civil registry holding most of the seeded citizens
(a few known to have died, some not registered), written as a CSV file in the instance folder and loaded like any
registry file; version 1 of the compensation grant's rule (registered and alive, the amount at most 5,000: accept
the first stage), so new compensation requests entered in the demo are decided at once; and version 1 of the
monthly pension verification's rule (registered and alive: complete), with verifications submitted and decided by it
for the first citizens, whose benefits are then spread so that some are overdue and the others fall due over the
next weeks, for the hourly renewal job and the statements."""
import csv
import datetime as dt
import io
import json

from intranet import workflow
from intranet.automation import engine, registry_files
from intranet.db import update_where
from intranet.models import Citizen, RequestType, utcnow
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


def seed_benefits(limit: int = 60) -> int:
    """Monthly pension verifications for the first `limit` citizens, submitted and decided by the rule as any
    would be (the eligible ones completed: their benefits made by the workflow), then the benefits' next dates
    spread from 15 days ago to 34 days ahead, as if verified over the past months; how many benefits there are.
    Nothing when the type has benefits already."""
    rtype = RequestType.get_or_none(RequestType.code == "pension_verification")
    if rtype is None or not rtype.renewal_months or Benefit.select().where(Benefit.request_type == rtype.id).exists():
        return 0
    for citizen in Citizen.select().order_by(Citizen.id).limit(limit):
        req = workflow.submit(None, citizen, rtype, "electronic", rtype.name_ar,
                              submission_token=f"demo-verification:{citizen.id}").request
        engine.decide(req.id)  # at once (its job, started too, finds it decided)
    today, made = local_today(), 0
    for number, benefit in enumerate(Benefit.select().where(Benefit.request_type == rtype.id).order_by(Benefit.id)):
        update_where(Benefit, {"next_due": today + dt.timedelta(days=number % 50 - 15)}, {"id": benefit.id})
        made += 1
    return made
