"""Issue 21, item 3 (less server time per page): what the queue page and the request page ask of the database does
not grow with their rows. The signed-in person's delegations were read once for each row a permission rule asked
about (a clerk working another department's queue under a delegation: every row) and once more for the layout;
now once per request, and again after a delegation is granted or revoked (tests/bench/pagecost.py measures the
pages against a bare Flask page)."""
import datetime as dt

import pytest
from flask import g

from intranet.auth import delegations, permissions
from intranet.auth.delegations import Grant
from intranet.models import Delegation, Department, Staff
from intranet.stats.figures import local_today
from tests.factories import make_request, make_staff


@pytest.fixture
def reads(monkeypatch):
    """The staff ids whose delegations were read, one entry a query."""
    read, original = [], Delegation.active_for

    def counting(staff_id, day):
        read.append(staff_id)
        return original(staff_id, day)

    monkeypatch.setattr(Delegation, "active_for", counting)
    return read


def queue_delegation(grantor, delegate, department):
    today = local_today()
    return delegations.grant(grantor, Grant(grantor=grantor, delegate=delegate, scope="queue", department=department,
                                            starts_on=today, ends_on=today + dt.timedelta(days=3),
                                            reason="إجازة سنوية"))


def test_the_queue_and_request_pages_read_the_delegations_once_whatever_their_rows(auth, client, data, reads):
    auth.login("health1")
    with data():
        clerk = Staff.get(Staff.username == "health1")
        compensation = Department.get(Department.code == "compensation")
        queue_delegation(make_staff("sup-cost", "supervisor", "compensation"), clerk, compensation)
        numbers = [make_request("compensation").tracking_number for _ in range(6)]
    reads.clear()
    page = client.get("/queues/compensation")
    assert page.status_code == 200
    assert all(number in page.text for number in numbers)
    assert page.text.count('value="claim"') >= 6  # each row is worked under the delegation: it may be claimed
    assert reads == [clerk.id]
    reads.clear()
    page = client.get(f"/requests/{numbers[0]}")
    assert page.status_code == 200 and 'value="accept"' in page.text
    assert reads == [clerk.id]


def test_a_delegation_granted_in_a_request_is_seen_by_the_questions_after_it(app, reads):
    from intranet import db

    with app.test_request_context(), db.database.connection_context():
        clerk = make_staff("clerk-cost", "clerk", "health")
        compensation = Department.get(Department.code == "compensation")
        g._login_user = clerk  # as flask-login leaves the person it loaded for the request
        assert not permissions.can_see_queue(clerk, compensation)
        assert permissions.can_see_queue(clerk, Department.get(Department.code == "health"))
        assert not permissions.can_see_queue(clerk, compensation)
        assert len(reads) == 1  # read once, kept for the request
        given = queue_delegation(make_staff("sup-cost2", "supervisor", "compensation"), clerk, compensation)
        assert permissions.can_see_queue(clerk, compensation)
        delegations.revoke(Staff.get(Staff.username == "sup-cost2"), given, "عاد من الإجازة")
        assert not permissions.can_see_queue(clerk, compensation)
        assert len(reads) == 3
        other = Staff.get_by_id(clerk.id)  # anyone but the person signed in: read each time
        assert not permissions.can_see_queue(other, compensation)
        assert not permissions.can_see_queue(other, compensation)
        assert len(reads) == 5


@pytest.fixture
def statements(monkeypatch):
    """The SQL the pages run, one entry a statement (what peewee logs), without the comparisons tests add."""
    import logging

    from intranet import db

    monkeypatch.setattr(db, "_checking", lambda: False)
    ran = []

    class Caught(logging.Handler):
        def emit(self, record):
            if isinstance(record.msg, tuple):
                ran.append(record.msg[0])

    logger, handler = logging.getLogger("peewee"), Caught()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield ran
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_what_every_page_asks_comes_with_the_session_row(auth, client, data, reads, statements):
    """The reference stamp, whether the person holds a delegation today and the newest history row are columns of
    the sign-in check: the queue page is two statements more (its rows by a subquery on the index, its tab counts;
    on PostgreSQL the counts in the rows' statement), the request page two (the request with whether it has
    attachments and an automatic decision and the portal client that sent it; its history with the messages each
    entry caused; the attachments and the decision are read only when it has some)."""
    from intranet.db import is_sqlite

    auth.login("health1")
    with data():
        number = make_request().tracking_number
        queue_statements = 3 if is_sqlite() else 2
    for page, expected in (("/queues/health", queue_statements), (f"/requests/{number}", 3)):
        assert client.get(page).status_code == 200  # (the first view reads what later ones keep)
        statements.clear()
        reads.clear()
        assert client.get(page).status_code == 200
        assert len(statements) == expected, statements
        assert statements[0].startswith('SELECT "t1"."created_at", "t1"."last_seen_at"')
        assert not any('FROM "delegation"' in sql for sql in statements[1:])
        assert reads == []  # a clerk holding no delegation is not asked for them


def test_a_delegation_given_or_taken_between_pages_counts_on_the_next(auth, client, data, reads):
    """The sign-in check's flag is read on every request: granted, the next page reads the delegations and opens
    the other queue; revoked, the next page refuses it."""
    auth.login("health1")
    reads.clear()  # (signing in read them: the person came from the directory, not from the session row)
    assert client.get("/queues/compensation").status_code in (403, 404)
    assert reads == []
    with data():
        clerk = Staff.get(Staff.username == "health1")
        grantor = make_staff("sup-flag", "supervisor", "compensation")
        given = queue_delegation(grantor, clerk, Department.get(Department.code == "compensation"))
    assert client.get("/queues/compensation").status_code == 200
    assert reads == [clerk.id]
    with data():
        delegations.revoke(grantor, given, "عاد من الإجازة")
    reads.clear()
    assert client.get("/queues/compensation").status_code in (403, 404)
    assert reads == []


def test_a_delegation_that_begins_tomorrow_is_not_held_today(auth, client, data, reads):
    auth.login("health1")
    with data():
        clerk = Staff.get(Staff.username == "health1")
        grantor = make_staff("sup-later", "supervisor", "compensation")
        tomorrow = local_today() + dt.timedelta(days=1)
        delegations.grant(grantor, Grant(grantor=grantor, delegate=clerk, scope="queue",
                                         department=Department.get(Department.code == "compensation"),
                                         starts_on=tomorrow, ends_on=tomorrow + dt.timedelta(days=2),
                                         reason="إجازة سنوية"))
    reads.clear()
    assert client.get("/queues/compensation").status_code in (403, 404)
    assert reads == []


# --- db.select: the hot SELECTs' SQL text made once (issue 21) ------------------------------------------------------

def test_a_cached_select_gives_what_peewee_gives_for_each_set_of_values(app, ctx, monkeypatch):
    from intranet import db
    from intranet.models import Request, utcnow
    from intranet.queues import services

    monkeypatch.setattr(db, "_select_plans", {})
    old, new = make_request(), make_request()
    Request.update(received_at=utcnow() - dt.timedelta(days=20)).where(Request.id == old.id).execute()

    def build(type_id, moment):  # the moment shifted twice: learnt as the value plus a fixed interval
        return (Request.select(Request.id).where((Request.request_type == type_id)
                                                 & (Request.received_at >= moment - dt.timedelta(days=30))
                                                 & (Request.received_at < moment - dt.timedelta(days=7)))
                .order_by(Request.id))

    now = utcnow()
    with monkeypatch.context() as checks:
        checks.setattr(app, "testing", False)  # the plan alone, not checked against peewee on each call
        assert [r.id for r in db.select("test_aged", build, old.request_type_id, now)] == [old.id]
        assert [r.id for r in db.select("test_aged", build, old.request_type_id, now + dt.timedelta(days=15))] \
            == [new.id]
        assert [r.id for r in db.select("test_aged", build, old.request_type_id + 1000, now)] == []
    assert services.find_request(f" {new.tracking_number} ").id == new.id  # and the pages' own, on each database
    assert services.find_request("00-0000000-0") is None


def test_a_cached_select_refuses_what_it_cannot_tell_apart(app, ctx, monkeypatch):
    from intranet import db
    from intranet.models import Request, utcnow

    monkeypatch.setattr(db, "_select_plans", {})
    now = utcnow()
    with pytest.raises(ValueError):  # a value computed inside from something it was not given
        list(db.select("test_hidden", lambda number: Request.select().where(
            (Request.tracking_number == number) & (Request.received_at < utcnow())), "x"))
    with pytest.raises(ValueError):  # the statement's text depends on a value
        list(db.select("test_shape", lambda number: Request.select().where(
            Request.tracking_number.in_([number] * (1 if number == "x" else 2))), "x"))
    with pytest.raises(TypeError):  # None (IS NULL) changes the statement: it belongs in the key
        list(db.select("test_none", lambda when: Request.select().where(Request.paused_at == when), None))
    channel = ["walk_in"]  # a value the key does not name and the call does not pass: a constant to the plan,
    list(db.select("test_constant", lambda when: Request.select().where(  # which the tests' check catches
        (Request.channel == channel[0]) & (Request.received_at < when)), now))
    channel[0] = "portal"
    with pytest.raises(AssertionError):
        list(db.select("test_constant", lambda when: Request.select().where(
            (Request.channel == channel[0]) & (Request.received_at < when)), now))


def test_rows_read_without_peewee_wrapper_are_what_peewee_reads(app, ctx, monkeypatch):
    """db.select_tuples converts only what the driver does not give as Python values (a moment on SQLite, a flag);
    the rest comes as it is. Checked with the tests' own comparison turned off, against peewee's reading."""
    from intranet import db
    from intranet.models import Request, Staff, utcnow

    monkeypatch.setattr(db, "_select_plans", {})
    monkeypatch.setattr(db, "_converters", {})
    req = make_request()
    paused = utcnow().replace(microsecond=123456)
    Request.update(paused_at=paused).where(Request.id == req.id).execute()

    def build(request_id):
        return (Request.select(Request.id, Request.tracking_number, Request.request_type, Request.due_at,
                               Request.paused_at, Request.closed_at, Staff.active)
                .join_from(Request, Staff, on=(Request.entered_by == Staff.id)).where(Request.id == request_id)
                .tuples())

    with monkeypatch.context() as checks:
        checks.setattr(app, "testing", False)
        rows = db.select_tuples("test_tuples", build, req.id)
    assert rows == list(build(req.id))
    (row,) = rows
    assert row[:3] == (req.id, req.tracking_number, req.request_type_id)
    assert isinstance(row[3], dt.datetime) and row[4] == paused and row[5] is None and row[6] is True
    assert db.select_tuples("test_tuples", build, req.id + 1000) == []
    with monkeypatch.context() as checks:  # the tests' comparison catches a reading that differs from peewee's
        checks.setitem(db._converters, ("test_tuples", db.is_sqlite()), ())
        if db.is_sqlite():  # (PostgreSQL's driver gives moments and flags as Python values: nothing to convert)
            with pytest.raises(AssertionError):
                db.select_tuples("test_tuples", build, req.id)


@pytest.mark.parametrize("root", ["", "/diwan"])
def test_a_queue_rows_links_are_what_url_for_gives_under_each_root(app, root):
    """The links' patterns are kept per address (queues/links.py): served under another root, they follow it."""
    from flask import url_for

    from intranet.queues.links import queue_row_links

    for filters in ({}, {"tab": "mine", "type": "health_care"}, {"type": "health_care", "tab": "mine"}):
        with app.test_request_context("/queues/health", base_url=f"http://localhost{root}"):
            links = queue_row_links("health", filters)
            for number in ("26-0000001-4", "a b/é"):
                assert links.page(number) == url_for("queues.request_page", tracking_number=number)
                assert links.beside(number) == url_for("queues.request_page", tracking_number=number,
                                                       queue="health", **filters)
                assert links.act_here(number) == url_for("queues.act", tracking_number=number, **filters)
            assert links.page("x").startswith(f"{root}/requests/")


# --- the PostgreSQL pool: no ping on each checkout (issue 21) -------------------------------------------------------

@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_pooled_connection_is_handed_out_without_a_ping(app, client, monkeypatch):
    """peewee's pool ran SELECT 1 on every connection it handed out: a round trip on every request. A connection
    with nothing to read is handed out as it is."""
    from intranet import db

    pinged = []
    adapter = db.database.obj._adapter
    original = adapter.is_connection_closed
    monkeypatch.setattr(adapter, "is_connection_closed", lambda conn: pinged.append(conn) or original(conn))
    for _ in range(3):
        assert client.get("/login").status_code == 200
    assert pinged == []


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_connection_the_server_ended_is_not_handed_out(app, client):
    """The server ends the pool's idle connections (a restart, an administrator, an idle timeout): the next
    request gets a new connection, not an error."""
    import time

    import psycopg

    from intranet import db

    assert client.get("/login").status_code == 200
    pool = db.database.obj
    idle = [conn for _, _, conn in pool._connections]
    assert idle
    with psycopg.connect(app.config["DATABASE_URL"], autocommit=True) as admin:
        for conn in idle:
            admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
    deadline = time.monotonic() + 10
    while not all(db._readable(conn.fileno()) for conn in idle):
        assert time.monotonic() < deadline, "the server did not end the connections"
        time.sleep(0.02)
    for _ in range(len(idle) + 1):
        assert client.get("/login").status_code == 200
    assert not any(conn in [c for _, _, c in pool._connections] for conn in idle)


def test_templates_call_functions_as_jinja_does(app, ctx):
    """The templates' context calls a plain function, a built-in and a bound method directly
    (templating._Context); whatever Jinja hands the context or the environment still gets it, a callable object
    marked on its __call__ included, and a StopIteration is still an undefined value."""
    from jinja2 import pass_context, pass_environment, pass_eval_context

    @pass_context
    def template_name(context):
        return context.name

    @pass_eval_context
    def escaping(eval_context, suffix=""):
        return f"{eval_context.autoescape}{suffix}"

    @pass_environment
    def environment_class(environment):
        return type(environment).__name__

    class Marked:
        @pass_context
        def __call__(self, context, suffix):
            return context.name + suffix

    class Plain:
        def method(self, value):
            return value * 2

    def stops():
        raise StopIteration

    shown = app.jinja_env.from_string(
        "{{ template_name() }}|{{ environment_class() }}|{{ marked('!') }}|{{ plain(3) }}|{{ words.get('a') }}|"
        "{{ item.method(4) }}|{{ stops() is undefined }}|{{ len('abc') }}|{{ escaping() }}|"
        "{% for n in [1, 2] %}{{ escaping(n) }}{{ template_name() }}{% endfor %}",
        globals={"template_name": template_name, "environment_class": environment_class, "marked": Marked(),
                 "escaping": escaping,
                 "plain": lambda value: value + 1, "words": {"a": "b"}, "item": Plain(), "stops": stops,
                 "len": len})
    shown.name = "called.html"
    assert shown.render() == "called.html|Environment|called.html!|4|b|8|True|3|True|True1called.htmlTrue2called.html"


def test_an_argument_not_given_is_not_made_into_an_exception(auth, client, data, monkeypatch):
    """werkzeug's MultiDict.get makes and catches a BadRequestKeyError (an HTTP exception) for every key not given;
    the queue page's pager asks for its key on every first page (params.Arguments asks whether it is there)."""
    from werkzeug.exceptions import BadRequestKeyError

    made, original = [], BadRequestKeyError.__init__

    def counting(self, *args, **kwargs):
        made.append(args)
        original(self, *args, **kwargs)

    auth.login("health1")
    with data():
        make_request()
    assert client.get("/queues/health").status_code == 200
    monkeypatch.setattr(BadRequestKeyError, "__init__", counting)
    page = client.get("/queues/health?type=health_care")
    assert page.status_code == 200 and b"queue-table" in page.data
    assert not [args for args in made if args[:1] == ("after",)], made


def test_a_form_field_not_given_is_still_a_bad_request(app):
    """Only `get` changed: indexing a missing field or argument is still werkzeug's 400."""
    from werkzeug.exceptions import BadRequestKeyError

    with app.test_request_context("/?a=1&a=2", method="POST", data={"b": "x"}):
        from flask import request

        assert request.args.get("a") == "1" and request.args.getlist("a") == ["1", "2"]
        assert request.args.get("a", type=int) == 1 and request.args.get("z", 7) == 7
        assert request.form.get("b") == "x" and request.form.get("z") is None
        with pytest.raises(BadRequestKeyError):
            request.form["z"]
        assert request.htmx is not None  # htmx-flask's request, still


@pytest.mark.parametrize("already", [None, "Accept-Language"])
def test_every_answer_varies_on_htmx_whatever_it_varied_on_before(app, already):
    from flask import Response

    hook = next(f for f in app.after_request_funcs[None] if f.__name__ == "vary_on_htmx")
    response = Response("x", headers={"Vary": already} if already else None)
    varied = hook(response).headers.getlist("Vary")
    assert varied == (["Accept-Language, HX-Request"] if already else ["HX-Request"])


@pytest.mark.parametrize("locale", ["ar", "en"])
def test_templates_translate_as_jinjas_i18n_extension_does(app, locale):
    """templating.template_gettext (the templates' _() and gettext()) gives what the i18n extension's newstyle
    gettext gives: the translation, Markup in an escaping template and formatted with its variables escaped, a
    literal %% made one %, a {% trans %} block the same; a plain text in a template that does not escape."""
    from flask_babel import force_locale
    from jinja2 import Environment

    from intranet import templating
    from intranet.i18n import translations

    sources = ['{{ _("Queue") }}', '{{ _("Done: %(action)s.", action="<b>x</b>") }}', '{{ gettext("Queue") }}',
               '{{ _("100%% of %(n)s", n=3) }}', '{% trans n=2 %}Pages {{ n }}{% endtrans %}',
               '{{ _("Only the requests %(name)s holds.", name="A & B") }}',
               '{{ _("<em>%(n)s</em> & co", n="<i>") }}', '{{ _("all 100%% done") }}']
    shown = {}
    for escaping in (True, False):
        reference = Environment(autoescape=escaping, extensions=["jinja2.ext.i18n"])
        reference.install_gettext_callables(gettext=lambda s: translations().ugettext(s),  # as templating did
                                            ngettext=lambda s, p, n: translations().ungettext(s, p, n), newstyle=True)
        ours = app.jinja_env.overlay(autoescape=escaping)
        assert ours.globals["_"] is ours.globals["gettext"] is templating.template_gettext
        with app.test_request_context("/"), force_locale(locale):
            for source in sources:
                expected = reference.from_string(source).render()
                assert ours.from_string(source).render() == expected, source
                shown[(escaping, source)] = expected
    assert shown[(True, sources[1])] != shown[(False, sources[1])]  # escaped in one, not in the other
    assert "&lt;b&gt;" in shown[(True, sources[1])] and "100% " in shown[(True, sources[3])]
    if locale == "ar":
        assert shown[(True, sources[0])] != "Queue"  # translated
