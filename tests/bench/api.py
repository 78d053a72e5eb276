"""The API submission figure of issue 5: distinct, valid JSON submissions POSTed to /api/v1/requests by wrk.

Everything here runs against the benchmark's database and server (tests/bench/run.py drives it):

- `create_client`: a portal client (scope requests:write) whose rate limit cannot throttle the run (RATE_PER_MINUTE;
  the limiter counts per gunicorn worker with the default memory:// store, so the ceiling is even higher);
- `write_bodies`: N submissions, one per line (an Idempotency-Key, a tab, the JSON body), every one a submission the
  API must accept as new: its own Idempotency-Key and portal reference (so neither replay applies; both lookups
  run, as for a portal that sends the header) and its own citizen, a
  national ID that is Luhn-valid, 11 digits and not in the seeded database (so the duplicate rule and the citizen's
  daily limit do not apply). The mix: 70 % health-care grants (amount, invoice number, a hospital in half of
  them, a one-page base64 PDF medical report in one of four), 30 % inquiries; Arabic names, Qatari mobiles,
  every governorate, an IBAN on a third; about 0.4 KB a body on average;
- `lua`: the wrk script: each wrk thread reads its share of the bodies file (line i goes to thread i mod T) and
  sends each once, with its Idempotency-Key header; it counts 201 answers that were not replays (no
  `Idempotent-Replayed` header), replays, other answers (with the first one's status and body), and the requests
  sent (a request in flight when wrk stops is sent but never answered);
- `snapshot` / `verify`: the database's account of the run: inbox rows and requests written after the snapshot,
  each inbox row accepted with its request, one request per inbox row, no submission token, portal reference or
  Idempotency-Key or new citizen twice, and every answered 201 backed by a request.
"""
import base64
import json
import random
from pathlib import Path

from stdnum import luhn

PATH = "/api/v1/requests"
RATE_PER_MINUTE = 10_000_000  # per client and per worker (memory://): 166,000/s, far above what a run reaches
BODIES_PER_SECOND = 1500  # bodies written per second of load: a run faster than this would resend (and fail)
SPARE_BODIES = 2000
CLIENT_NAME = "bench-portal"

GOVERNORATES = ("doha", "rayyan", "wakrah", "khor", "shamal", "umm_salal", "daayen", "shahaniya")
FIRST = ("محمد", "أحمد", "فاطمة", "مريم", "عبدالله", "نورة", "خالد", "عائشة", "يوسف", "ليلى", "حمد", "سارة")
MIDDLE = ("علي", "حسن", "إبراهيم", "سالم", "جاسم", "ناصر", "راشد", "سعيد")
FAMILY = ("الكواري", "المري", "النعيمي", "السويدي", "الأنصاري", "آل ثاني", "الهاجري", "العطية", "المهندي")
HOSPITALS = ("مستشفى حمد العام", "مستشفى الوكرة", "مركز السدرة للطب", "مستشفى الخور")
SUBJECTS = ("منحة علاج", "تعويض مصاريف علاج", "مساعدة في فاتورة مستشفى")
QUESTIONS = ("ما هي المستندات المطلوبة لمنحة الرعاية الصحية؟", "كم تستغرق معاملة التقاعد؟",
             "هل يمكن تقديم الطلب نيابة عن والدي؟", "ما هي مواعيد عمل مكتب الاستقبال؟")
IBAN = "QA58DOHB00001234567890ABCDEFG"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"  # as tests/factories.PDF: a PDF to filetype
PDF_BASE64 = base64.b64encode(PDF).decode()


def create_client(url: str) -> str:
    """A portal client in the bench database; returns its bearer token."""
    from intranet import db
    from intranet.intake import clients

    database = db.init_database(url)
    with database.connection_context():
        made = clients.create_client(None, CLIENT_NAME, ["requests:write", "requests:read"],
                                     rate_per_minute=RATE_PER_MINUTE)
    database.close()
    return made.token


def taken_national_ids(url: str) -> set:
    from intranet import db
    from intranet.models import Citizen

    database = db.init_database(url)
    with database.connection_context():
        taken = {row[0] for row in Citizen.select(Citizen.national_id).tuples()}
    database.close()
    return taken


def new_national_id(rng: random.Random, taken: set) -> str:
    """A Luhn-valid national ID of the usual form not in `taken` (and now taken); the bench modules' citizens."""
    while True:
        body = f"{rng.randrange(2, 4)}{rng.randrange(10**9):09d}"
        national_id = body + luhn.calc_check_digit(body)
        if national_id not in taken:
            taken.add(national_id)
            return national_id


def body(rng: random.Random, reference: str, national_id: str) -> dict:
    citizen = {"national_id": national_id,
               "full_name": f"{rng.choice(FIRST)} {rng.choice(MIDDLE)} {rng.choice(FAMILY)}",
               "phone": f"{rng.choice('3567')}{rng.randrange(10**7):07d}", "governorate": rng.choice(GOVERNORATES)}
    if rng.random() < 1 / 3:
        citizen["iban"] = IBAN
    if rng.random() < 0.3:
        question = rng.choice(QUESTIONS)
        return {"portal_reference": reference, "request_type": "inquiry", "language": rng.choice(("ar", "en")),
                "citizen": citizen, "subject": question[:60], "details": question}
    fields = {"amount": f"{rng.randrange(100, 50000)}.{rng.randrange(1000):03d}",
              "invoice_number": f"INV-{rng.randrange(10**6):06d}"}
    if rng.random() < 0.5:
        fields["hospital"] = rng.choice(HOSPITALS)
    payload = {"portal_reference": reference, "request_type": "health_care", "language": "ar", "citizen": citizen,
               "subject": rng.choice(SUBJECTS), "details": f"فاتورة رقم {fields['invoice_number']}", "fields": fields}
    if rng.random() < 0.25:
        payload["documents"] = [{"name": "report.pdf", "code": "medical_report", "content_base64": PDF_BASE64}]
    return payload


def write_bodies(path: Path, prefix: str, count: int, taken: set, seed: int) -> dict:
    """`count` distinct submissions, one per line: Idempotency-Key, tab, JSON body; returns what they hold."""
    rng = random.Random(seed)
    kinds = {"health_care": 0, "inquiry": 0, "with_document": 0, "bytes": 0}
    with open(path, "w", encoding="utf-8") as out:
        for n in range(count):
            payload = body(rng, f"{prefix}-{n:07d}", new_national_id(rng, taken))
            line = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
            out.write(f"{prefix}-{rng.getrandbits(64):016x}-{n}\t{line}\n")
            kinds[payload["request_type"]] += 1
            kinds["with_document"] += bool(payload.get("documents"))
            kinds["bytes"] += len(line.encode())
    kinds["count"] = count
    return kinds


def bodies_needed(seconds: int) -> int:
    return BODIES_PER_SECOND * seconds + SPARE_BODIES


LUA = r"""
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  accepted, replayed, bad, sent, resent, first_bad, first_body = 0, 0, 0, 0, 0, nil, nil
  local id = tonumber(wrk.thread:get("id")) or 0
  keys, bodies = {}, {}
  local i = 0
  for line in io.lines("__BODIES__") do
    if i % __THREADS__ == id then
      local tab = string.find(line, "\t", 1, true)
      keys[#keys + 1] = string.sub(line, 1, tab - 1)
      bodies[#bodies + 1] = string.sub(line, tab + 1)
    end
    i = i + 1
  end
  index = 0
  post_headers = {}
  for name, value in pairs(wrk.headers) do post_headers[name] = value end
  post_headers["Content-Type"] = "application/json"
  post_headers["Authorization"] = "Bearer __TOKEN__"
end
function request()
  index = index + 1
  if index > #bodies then
    resent = resent + 1  -- out of bodies: this one is a replay, and the run fails
    index = 1
  end
  sent = sent + 1
  post_headers["Idempotency-Key"] = keys[index]
  return wrk.format("POST", "__PATH__", post_headers, bodies[index])
end
function response(status, headers, body)
  if status == 201 then
    if headers["Idempotent-Replayed"] or headers["idempotent-replayed"] then
      replayed = replayed + 1
    else
      accepted = accepted + 1
    end
  else
    bad = bad + 1
    if first_bad == nil then
      first_bad = status
      first_body = string.sub(string.gsub(body or "", "%s+", " "), 1, 300)
    end
  end
end
function done(summary, latency, requests)
  local totals = {accepted = 0, replayed = 0, bad = 0, sent = 0, resent = 0}
  local first, first_text = "-", "-"
  for _, t in ipairs(threads) do
    for key, _ in pairs(totals) do totals[key] = totals[key] + (tonumber(t:get(key)) or 0) end
    if t:get("first_bad") ~= nil then first, first_text = t:get("first_bad"), t:get("first_body") end
  end
  io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d p95_us=%d p99_us=%d max_us=%d "
      .. "accepted=%d replayed=%d non201=%d sent=%d resent=%d first_non201=%s connect_errors=%d read_errors=%d "
      .. "write_errors=%d timeouts=%d status_errors=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
      latency:percentile(99), latency.max, totals.accepted, totals.replayed, totals.bad, totals.sent,
      totals.resent, tostring(first), summary.errors.connect, summary.errors.read, summary.errors.write,
      summary.errors.timeout, summary.errors.status))
  io.write("BENCH_FIRST_BODY " .. tostring(first_text) .. "\n")
end
"""


def lua(bodies: Path, token: str, threads: int) -> str:
    return (LUA.replace("__BODIES__", str(bodies)).replace("__THREADS__", str(threads))
            .replace("__TOKEN__", token).replace("__PATH__", PATH))


def parse_wrk(stdout: str) -> dict | None:
    line = next((ln for ln in stdout.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        return None
    values = dict(item.split("=", 1) for item in line.split()[1:])
    result = {key: (int(value) if value.lstrip("-").isdigit() else value) for key, value in values.items()}
    first_body = next((ln for ln in stdout.splitlines() if ln.startswith("BENCH_FIRST_BODY ")), "")
    result["first_body"] = first_body.removeprefix("BENCH_FIRST_BODY ")
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["accepted_per_s"] = result["accepted"] / (result["duration_us"] / 1e6)
    result["socket_errors"] = sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return result


def load_problems(result: dict) -> list[str]:
    """What makes a wrk run of submissions a failure, from wrk's side."""
    problems = []
    if result["non201"]:
        problems.append(f"{result['non201']} answers other than 201 (first: {result['first_non201']} "
                        f"{result['first_body']})")
    if result["replayed"]:
        problems.append(f"{result['replayed']} 201 answers were replays")
    if result["resent"]:
        problems.append(f"{result['resent']} bodies sent twice (out of bodies: raise BODIES_PER_SECOND)")
    if result["socket_errors"]:
        problems.append(f"{result['socket_errors']} socket errors or timeouts")
    return problems


# --- the database's account --------------------------------------------------------------------------------------

def snapshot(url: str) -> dict:
    from intranet import db
    from intranet.models import Citizen, InboxEntry, Request
    from peewee import fn

    database = db.init_database(url)
    with database.connection_context():
        marks = {"inbox": InboxEntry.select(fn.COALESCE(fn.MAX(InboxEntry.id), 0)).scalar(),
                 "request": Request.select(fn.COALESCE(fn.MAX(Request.id), 0)).scalar(),
                 "citizen": Citizen.select(fn.COALESCE(fn.MAX(Citizen.id), 0)).scalar()}
    database.close()
    return marks


def verify(url: str, before: dict, result: dict) -> dict:
    """The rows written since `before`, against what wrk counted; `problems` lists every mismatch."""
    from intranet import db
    from intranet.models import Attachment, Citizen, InboxEntry, Request
    from peewee import fn

    database = db.init_database(url)
    with database.connection_context():
        inbox = InboxEntry.select().where(InboxEntry.id > before["inbox"])
        requests = Request.select().where(Request.id > before["request"])
        by_status = dict(inbox.select(InboxEntry.status, fn.COUNT(InboxEntry.id)).group_by(InboxEntry.status)
                         .tuples())
        checked = {
            "inbox_rows": inbox.count(),
            "inbox_by_status": by_status,
            "inbox_without_request": inbox.where(InboxEntry.request.is_null()).count(),
            "requests": requests.count(),
            "electronic": requests.where(Request.channel == "electronic").count(),
            "distinct_tokens": requests.select(fn.COUNT(fn.DISTINCT(Request.submission_token))).scalar(),
            "inbox_requests": inbox.select(fn.COUNT(fn.DISTINCT(InboxEntry.request))).scalar(),
            "distinct_keys": inbox.select(fn.COUNT(fn.DISTINCT(InboxEntry.idempotency_key))).scalar(),
            "references_twice": (InboxEntry.select(InboxEntry.portal_reference)
                                 .where(InboxEntry.id > before["inbox"]).group_by(InboxEntry.portal_reference)
                                 .having(fn.COUNT(InboxEntry.id) > 1).count()),
            "citizens_twice": (Request.select(Request.citizen).where(Request.id > before["request"])
                               .group_by(Request.citizen).having(fn.COUNT(Request.id) > 1).count()),
            "new_citizens": Citizen.select().where(Citizen.id > before["citizen"]).count(),
            "attachments": Attachment.select().where(Attachment.request > before["request"]).count(),
        }
    database.close()
    problems = []
    rows, made = checked["inbox_rows"], checked["requests"]
    if by_status.keys() - {"accepted"}:
        problems.append(f"inbox rows not accepted: {by_status}")
    if checked["inbox_without_request"]:
        problems.append(f"{checked['inbox_without_request']} inbox rows without their request")
    if made != rows or checked["inbox_requests"] != rows:
        problems.append(f"{rows} inbox rows but {made} requests created ({checked['inbox_requests']} distinct "
                        f"requests in the inbox)")
    if checked["distinct_tokens"] != made or checked["references_twice"] or checked["citizens_twice"] \
            or checked["distinct_keys"] != rows:
        problems.append(f"duplicates: {made - checked['distinct_tokens']} submission tokens twice, "
                        f"{rows - checked['distinct_keys']} Idempotency-Keys twice or missing, "
                        f"{checked['references_twice']} portal references twice, {checked['citizens_twice']} "
                        f"citizens with two new requests")
    if checked["electronic"] != made:
        problems.append(f"{made - checked['electronic']} new requests not on the electronic channel")
    # every answered 201 is a request; a POST in flight when wrk stopped may have made one without being counted
    if not result["accepted"] <= made <= result["sent"]:
        problems.append(f"{result['accepted']:,} accepted answers and {result['sent']:,} POSTs sent, but "
                        f"{made:,} requests created (expected between the two)")
    checked["unanswered"] = made - result["accepted"]
    checked["problems"] = problems
    return checked
