"""The demo's straight-through processing (issue 17): a local civil registry holding most of the seeded citizens
(a few known to have died, some not registered), written as a CSV file in the instance folder and loaded like any
registry file, and version 1 of the compensation grant's rule (registered and alive, the amount at most 5,000:
accept the first stage). New compensation requests entered in the demo are then decided at once."""
import csv
import io
import json

from intranet.automation import registry_files
from intranet.models import Citizen, RequestType, utcnow
from intranet.models.automation import AutoRule

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
    compensation = RequestType.get_or_none(RequestType.code == "compensation")
    if compensation is not None:
        AutoRule.create(request_type=compensation.id, version=1, active=True, registry="civil",
                        conditions=json.dumps(DEMO_CONDITIONS), amount_limit=5000, decision="accept_stage",
                        created_by=None, created_at=utcnow(), note="demo")
    return loaded
