"""intranet.seed: synthetic requests that obey the workflow's rules, and the seed-demo command."""
import datetime as dt
import re
import uuid
from collections import defaultdict
from decimal import Decimal

import phonenumbers
import pytest
from stdnum import luhn

from intranet import db, definitions, history_chain, workflow
from intranet.db import database
from intranet.i18n import search_text
from intranet.models import (
    CLOSED_STATUSES, OPEN_STATUSES, STATUSES, Citizen, HistoryEntry, Request, RequestType, Stage, Staff,
    TrackingSequence,
)
from intranet.seed import seed
from tests.bench.pg import PostgresCluster

NOW = dt.datetime(2026, 3, 15, 9, 30)
TRACKING = re.compile(r"^(\d{2})-(\d{7})-(\d)$")


def _make_app(tmp_path, monkeypatch, name="t.db", load=True, url=None):
    from intranet import create_app

    monkeypatch.setenv("INTRANET_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("INTRANET_SECRET_KEY", "test")
    app = create_app({"DATABASE_URL": url or f"sqlite:///{tmp_path}/{name}", "INSTANCE_DIR": tmp_path,
                      "CHECK_SCHEMA": False, "ATTACHMENT_DIR": tmp_path / "files", "TESTING": True})
    with app.app_context(), database.connection_context():
        db.upgrade()
        if load:
            definitions.load(app.config["REQUEST_TYPES_FILE"])
    return app


@pytest.fixture(scope="module")
def pg_cluster():
    """A throwaway PostgreSQL cluster of this module's own (the COPY path of the seed); `make test` installs
    the server, so its absence is a failure, not a skip."""
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


def _pg_database(cluster, owner=None) -> str:
    """A fresh database in the cluster (owned by `owner`, a role created without superuser); returns its URL."""
    import psycopg

    name = f"seed_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        if owner:
            conn.execute(f"DO $$ BEGIN CREATE ROLE {owner} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        conn.execute(f"CREATE DATABASE {name}" + (f" OWNER {owner}" if owner else ""))
    user = owner or "app"
    return f"postgresql://{user}@127.0.0.1:{cluster.port}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, tmp_path, monkeypatch):
    url = _pg_database(request.getfixturevalue("pg_cluster")) if request.param == "postgresql" else None
    return _make_app(tmp_path, monkeypatch, url=url)


@pytest.fixture
def seeded(app):
    """300 requests seeded into a fresh database; yields the counts, inside an app context and connection."""
    with app.app_context(), database.connection_context():
        yield seed(300, now=NOW, seed=7)


def _history_by_request():
    rows = defaultdict(list)
    for entry in HistoryEntry.select().order_by(HistoryEntry.id):
        rows[entry.request_id].append(entry)
    return rows


def test_counts(seeded):
    assert seeded["requests"] == Request.select().count() == 300
    assert seeded["citizens"] == Citizen.select().count() == 100
    assert seeded["history"] == HistoryEntry.select().count() >= 300


def test_tracking_numbers_unique_and_valid(seeded):
    numbers = [r.tracking_number for r in Request.select(Request.tracking_number, Request.received_at)]
    assert len(set(numbers)) == len(numbers)
    for req in Request.select():
        match = TRACKING.match(req.tracking_number)
        assert match, req.tracking_number
        assert int(match.group(1)) == req.received_at.year % 100
        assert luhn.is_valid(match.group(1) + match.group(2) + match.group(3))


def test_tracking_sequence_continues_without_collision(seeded):
    years = {r.received_at.year for r in Request.select(Request.received_at)}
    assert len(years) >= 2  # two years of requests
    for year in years:
        row = TrackingSequence.get_by_id(year)
        in_year = Request.select().where(Request.tracking_number.startswith(f"{year % 100:02d}-")).count()
        assert row.last_value == in_year
        number = workflow.next_tracking_number(year)
        assert not Request.select().where(Request.tracking_number == number).exists()


def test_sequences_start_after_existing_values(app):
    with app.app_context(), database.connection_context():
        TrackingSequence.create(year=NOW.year, last_value=4000)
        seed(60, now=NOW, seed=3)
        this_year = sorted(r.tracking_number for r in Request.select()
                           if r.received_at.year == NOW.year)
        assert this_year and this_year[0][3:10] == "0004001"
        assert TrackingSequence.get_by_id(NOW.year).last_value == 4000 + len(this_year)


def test_status_stage_department_consistency(seeded):
    stages = {s.id: s for s in Stage.select()}
    by_position = {(s.request_type_id, s.position): s for s in stages.values()}
    types = {t.id: t for t in RequestType.select()}
    staff = {s.id: s for s in Staff.select()}
    seen_status, seen_types, seen_channels = set(), set(), set()
    for req in Request.select():
        stage = stages[req.stage_id]
        seen_status.add(req.status)
        seen_types.add(req.request_type_id)
        seen_channels.add(req.channel)
        assert req.status in STATUSES
        assert stage.request_type_id == req.request_type_id
        assert req.department_id == stage.department_id
        assert req.due_at >= req.received_at + dt.timedelta(days=types[req.request_type_id].sla_days)
        assert req.stage_due_at is not None
        assert (req.paused_at is not None) == (req.status == "awaiting_citizen")
        assert NOW - dt.timedelta(days=731) <= req.received_at <= NOW
        assert req.received_at <= req.updated_at <= NOW
        if req.status == "returned":
            assert req.returned_from_id == by_position[(req.request_type_id, stage.position + 1)].id
        else:
            assert req.returned_from_id is None
        if req.status == "awaiting_citizen":
            assert stage.position == 1
        if req.status in CLOSED_STATUSES:
            assert req.closed_at is not None and req.assignee_id is None
        else:
            assert req.closed_at is None
        if req.assignee_id is not None and stage.role is not None:  # the head's approval: the head holds it
            assert staff[req.assignee_id].role == stage.role
        elif req.assignee_id is not None:
            assert staff[req.assignee_id].department_id == req.department_id
            assert staff[req.assignee_id].role == "clerk"
        if req.channel == "walk_in":
            assert staff[req.entered_by_id].role == "reception"
        else:
            assert req.entered_by_id is None
        if types[req.request_type_id].is_money:
            assert req.amount is not None and req.amount > 0
    assert seen_status >= {"open", "completed", "rejected"}
    assert seen_status & {"returned", "awaiting_citizen"}
    assert seen_types == set(types)
    assert seen_channels == {"walk_in", "electronic"}


def test_old_requests_mostly_closed_recent_ones_mostly_open(seeded):
    old = Request.select().where(Request.received_at < NOW - dt.timedelta(days=120))
    recent = Request.select().where(Request.received_at > NOW - dt.timedelta(days=10))
    assert sum(r.status in CLOSED_STATUSES for r in old) >= 0.85 * old.count()
    assert sum(r.status in OPEN_STATUSES for r in recent) >= 0.7 * recent.count()


def test_history_follows_the_path(seeded):
    stages = {s.id: s for s in Stage.select()}
    history = _history_by_request()
    for req in Request.select():
        rows = history[req.id]
        assert rows, req.tracking_number
        first = rows[0]
        assert first.action == "submit" and first.from_stage_id is None and first.to_status == "open"
        assert stages[first.to_stage_id].position == 1
        assert first.created_at == req.received_at
        assert first.actor_id == req.entered_by_id
        for before, after in zip(rows, rows[1:]):
            assert after.from_stage_id == before.to_stage_id
            assert after.from_status == before.to_status
            assert before.created_at <= after.created_at <= NOW
        assert rows[-1].to_stage_id == req.stage_id
        assert rows[-1].to_status == req.status
        changes = [e for e in rows if e.action not in ("submit", "comment")]
        assert req.version == len(changes) + 1
        if req.status in CLOSED_STATUSES:
            assert rows[-1].action == ("accept" if req.status == "completed" else "reject")
            assert rows[-1].created_at == req.closed_at
        for entry in rows:
            if entry.action in ("return", "reject", "comment"):
                assert entry.comment.strip()
            if entry.action == "return" and entry.to_status == "returned":
                assert stages[entry.to_stage_id].position == stages[entry.from_stage_id].position - 1
            if entry.action in ("accept", "return", "reject", "claim", "comment"):
                actor, stage = Staff.get_by_id(entry.actor_id), stages[entry.from_stage_id]
                if stage.role is not None:  # a stage that requires a role (the head's approval): that role decides
                    assert actor.role == stage.role
                else:
                    assert actor.department_id == stage.department_id
        if req.assignee_id is not None:
            assert [e for e in rows if e.action == "claim"][-1].actor_id == req.assignee_id


def test_clock_columns_replay_the_workflow(seeded):
    """due_at, stage_due_at and paused_at are what intranet.workflow would have set along the history."""
    stages = {s.id: s for s in Stage.select()}
    types = {t.id: t for t in RequestType.select()}
    history = _history_by_request()
    paused_some = False
    for req in Request.select():
        due = stage_due = paused = None
        for entry in history[req.id]:
            budget = dt.timedelta(days=stages[entry.to_stage_id].budget_days)
            if entry.action == "submit":
                due = entry.created_at + dt.timedelta(days=types[req.request_type_id].sla_days)
                stage_due = entry.created_at + budget
            elif entry.action == "accept" and entry.to_status == "open":
                stage_due = entry.created_at + budget
            elif entry.action == "return" and entry.to_status == "awaiting_citizen":
                paused = entry.created_at
            elif entry.action == "resubmit" and entry.from_status == "awaiting_citizen":
                due += entry.created_at - paused
                stage_due += entry.created_at - paused
                paused, paused_some = None, True
            elif entry.action == "resubmit":
                stage_due = entry.created_at + budget
        assert (req.due_at, req.stage_due_at, req.paused_at) == (due, stage_due, paused), req.tracking_number
    assert paused_some


def test_request_records_citizens_governorate_and_return_checklists(seeded):
    for req in Request.select(Request, Citizen).join(Citizen):
        assert req.governorate_id == req.citizen.governorate_id
    documents = {t.id: {d["code"] for d in t.document_list()} for t in RequestType.select()}
    checklists = 0
    for entry in HistoryEntry.select(HistoryEntry, Request).join(Request):
        info = entry.info
        if entry.action == "return" and info:
            assert info["missing"] and set(info["missing"]) <= documents[entry.request.request_type_id]
            checklists += 1
        elif entry.action == "claim":
            assert info in ({}, {"take_next": True})
        else:
            assert info == {}
    assert checklists


def test_citizens(seeded):
    ids = [c.national_id for c in Citizen.select()]
    assert len(set(ids)) == len(ids)
    folded = 0
    for citizen in Citizen.select():
        assert len(citizen.national_id) == 11 and citizen.national_id.isdigit()
        assert luhn.is_valid(citizen.national_id)
        assert re.fullmatch(r"\+974[567]\d{7}", citizen.phone)
        assert phonenumbers.is_valid_number(phonenumbers.parse(citizen.phone))
        assert citizen.name_search == search_text(citizen.full_name)
        assert len(citizen.full_name.split()) >= 4
        folded += citizen.name_search != citizen.full_name
        assert citizen.preferred_language in ("ar", "en")
        assert citizen.governorate_id is not None
        if citizen.iban:
            numeric = "".join(str(int(ch, 36)) for ch in citizen.iban[4:] + citizen.iban[:4])
            assert citizen.iban.startswith("QA") and len(citizen.iban) == 29 and int(numeric) % 97 == 1
    assert folded >= 5  # diacritics and hamza variants: search must go through search_text
    assert Citizen.select().where(Citizen.preferred_language == "ar").count() > 50
    # every request points at a citizen of this seed, registered before the request came in
    for req in Request.select(Request, Citizen).join(Citizen):
        assert req.citizen.created_at <= req.received_at


def test_synthetic_staff(seeded):
    clerks = Staff.select().where(Staff.username.startswith("seed-health-"))
    assert [s.username for s in clerks.order_by(Staff.username)][:1] == ["seed-health-01"]
    assert {s.role for s in clerks} == {"clerk"}
    assert Staff.get(Staff.username == "seed-head-01").role == "head"


def test_append_to_existing_data(seeded):
    before = Request.select().count()
    again = seed(150, now=NOW, seed=7)
    assert again["requests"] == 150
    assert Request.select().count() == before + 150
    numbers = [r.tracking_number for r in Request.select(Request.tracking_number)]
    assert len(set(numbers)) == len(numbers)
    ids = [c.national_id for c in Citizen.select(Citizen.national_id)]
    assert len(set(ids)) == len(ids) == 150
    assert Staff.select().where(Staff.username.startswith("seed-")).count() == 16  # not created twice (and the head)
    for year in {r.received_at.year for r in Request.select(Request.received_at)}:
        assert not Request.select().where(Request.tracking_number == workflow.next_tracking_number(year)).exists()


def _dump():
    return (list(Request.select().order_by(Request.id).tuples()),
            list(HistoryEntry.select().order_by(HistoryEntry.id).tuples()),
            list(Citizen.select().order_by(Citizen.id).tuples()))


def test_deterministic(tmp_path, monkeypatch):
    dumps = []
    for name in ("a.db", "b.db"):
        app = _make_app(tmp_path, monkeypatch, name)
        with app.app_context(), database.connection_context():
            seed(200, now=NOW, seed=11)
            dumps.append(_dump())
    assert dumps[0] == dumps[1]
    app = _make_app(tmp_path, monkeypatch, "c.db")
    with app.app_context(), database.connection_context():
        seed(200, now=NOW, seed=12)
        assert _dump()[0] != dumps[0][0]


def test_seed_demo_command_loads_definitions_first(tmp_path, monkeypatch):
    app = _make_app(tmp_path, monkeypatch, load=False)
    result = app.test_cli_runner().invoke(args=["seed-demo", "--requests", "40"])
    assert result.exit_code == 0, result.output
    assert "loaded definitions" in result.output
    assert "added 40 requests" in result.output
    with app.app_context(), database.connection_context():
        assert Request.select().count() == 40
    result = app.test_cli_runner().invoke(args=["seed-demo", "--requests", "10"])
    assert result.exit_code == 0 and "loaded definitions" not in result.output


def test_postgresql_without_superuser_keeps_foreign_key_checks(pg_cluster, tmp_path, monkeypatch):
    """A role that may not set session_replication_role seeds through the ordinary, checked COPY."""
    app = _make_app(tmp_path, monkeypatch, url=_pg_database(pg_cluster, owner="plain_owner"))
    with app.app_context(), database.connection_context():
        assert not database.execute_sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
        counts = seed(90, now=NOW, seed=5)
        assert counts["requests"] == Request.select().count() == 90
        assert HistoryEntry.select().count() == counts["history"]
        # the id sequences follow the copied ids: the application's next insert does not collide
        body = "2906341234"
        citizen = Citizen.create(national_id=body + luhn.calc_check_digit(body), full_name="x", name_search="x",
                                 phone="+97455123456", governorate=Citizen.select().first().governorate_id)
        assert citizen.id == counts["citizens"] + 1


def test_the_workflow_carries_on_from_seeded_requests(app):
    """Seeded rows are ordinary rows for intranet.workflow: it accepts, returns and takes the next from them."""
    with app.test_request_context(), database.connection_context():
        seed(300, seed=7)  # up to the real now: the workflow stamps its own times
        req = (Request.select().join(Stage).where((Request.status == "open") & Request.assignee.is_null()
                                                  & Stage.role.is_null())
               .order_by(Request.id).first())
        clerk = Staff.get((Staff.department == req.department_id) & (Staff.role == "clerk"))
        outcome = workflow.accept(clerk, req, req.version)
        assert outcome.request.version == req.version + 1
        assert outcome.entry.from_stage_id == req.stage_id
        waiting = Request.select().where((Request.status == "awaiting_citizen")).first()
        assert waiting is not None, "300 seeded requests include some waiting for the citizen"
        desk = Staff.get(Staff.username == "seed-reception-01")
        resumed = workflow.resubmit(desk, waiting, waiting.version).request
        assert resumed.status == "open" and resumed.paused_at is None and resumed.due_at >= waiting.due_at
        assert Request.select().where((Request.department == clerk.department_id) & (Request.status == "open")
                                      & Request.assignee.is_null()).exists()
        taken = workflow.take_next(clerk, clerk.department)
        assert taken is not None and taken.request.assignee_id == clerk.id


def test_requests_carry_their_types_fields(seeded):
    """Every seeded request has its type's own fields filled in, each of its kind (the request page shows them): a
    money request's amount is its Request.amount, dates lie before it was received, and the documents received are
    of the type's checklist (all of them once completed)."""
    from intranet import request_substance

    types = {t.id: t for t in RequestType.select()}
    kinds = {"decimal": Decimal, "integer": int, "date": dt.date, "text": str}
    seen = set()
    for req in Request.select():
        request_type = types[req.request_type_id]
        data = request_substance.data_of(req)
        documents = [d["code"] for d in request_type.document_list()]
        for spec in request_type.field_list():
            value = request_substance.typed(spec["kind"], data.get(spec["name"]))
            assert isinstance(value, kinds[spec["kind"]]) and value != "", (request_type.code, spec, data)
            if spec["kind"] == "date":
                assert value <= req.received_at.date()
            seen.add(spec["name"])
        if request_type.is_money:
            assert Decimal(data["amount"]) == req.amount
        assert set(data["documents_received"]) <= set(documents)
        if req.status == "completed":
            assert data["documents_received"] == documents
    assert {"amount", "invoice_number", "hospital", "decision_number", "decision_date"} <= seen


def _indexes():
    if db.is_sqlite():
        return sorted(database.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'").fetchall())
    return sorted(database.execute_sql("SELECT indexname, indexdef FROM pg_indexes "
                                       "WHERE schemaname = current_schema()").fetchall())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_large_seed_writes_the_same_rows(backend, request, tmp_path, monkeypatch):
    """A large seed generates its rows in a second process while this one writes them and, on PostgreSQL, builds
    the indexes after the load: the same rows, ids and hashes as the plain path, and the same indexes afterwards."""
    dumps = []
    for name, options in (("plain", {"pipeline": False, "defer_indexes": False}),
                          ("fast", {"pipeline": True, "defer_indexes": True})):
        url = _pg_database(request.getfixturevalue("pg_cluster")) if backend == "postgresql" else None
        app = _make_app(tmp_path, monkeypatch, f"{name}.db", url=url)
        with app.app_context(), database.connection_context():
            before = _indexes()
            counts = seed(400, batch=60, now=NOW, seed=3, **options)
            assert _indexes() == before
            # history written day by day, as the application appends it; each request's chain still verifies
            days = [at.date() for (at,) in HistoryEntry.select(HistoryEntry.created_at).order_by(HistoryEntry.id)
                    .tuples()]
            assert days == sorted(days)
            assert history_chain.verify().ok
            dumps.append((counts["requests"], counts["citizens"], counts["history"], _dump()))
    assert dumps[0][:3] == (400, 133, len(dumps[0][3][1]))
    assert dumps[0] == dumps[1]


def test_a_failure_in_the_generating_process_writes_nothing(app, monkeypatch):
    from intranet import seed as seed_module

    def broken(*args, **kwargs):
        raise ValueError("no more names")

    monkeypatch.setattr(seed_module, "_generate_requests", broken)  # the forked process has the same module
    with app.app_context(), database.connection_context():
        before = _indexes()
        with pytest.raises(RuntimeError, match="no more names"):
            seed(200, batch=50, now=NOW, pipeline=True, defer_indexes=True)
        assert Citizen.select().count() == Request.select().count() == HistoryEntry.select().count() == 0
        assert _indexes() == before
