"""The outbox's contract, the same for every channel (SMS and e-mail notifications, webhooks), on SQLite and
PostgreSQL: due rows are claimed once by concurrent claimers, a failure backs off by the configured steps, the
attempts limit marks a row failed, the sweeper releases an expired lease and the row is sent exactly once, a
success is recorded once, and a run's counts are right. Each channel's own sending is tested in its own file;
here a scripted sender answers, so that only the outbox's rules are under test."""
import dataclasses
import threading
from datetime import datetime, timedelta
from itertools import count

import pytest

from intranet import db, outbox
from intranet.intake import webhooks
from intranet.models import ApiClient, Notification, WebhookDelivery
from intranet.notify import delivery
from tests.factories import make_request

T0 = datetime(2025, 3, 10, 9, 0, 0, 1)
_numbers = count(1)


class Scripted(outbox.Run):
    """Answers each attempt with `answer(row)`: "ok", "retry" or "fail" (permanent); "hold" rows are held back.
    Every attempt is remembered (by row id), from any thread."""

    def __init__(self, answer, sent, lock):
        super().__init__()
        self.answer, self.sent, self.lock = answer, sent, lock

    def send(self, row):
        with self.lock:
            self.sent.append(row.id)
        verdict = self.answer(row)
        if verdict == "ok":
            return outbox.SendResult.ok(status_code=200)
        if verdict == "fail":
            return outbox.SendResult.fail("refused for good", 400)
        return outbox.SendResult.retry("HTTP 503", 503)

    def holds(self, row):
        return self.answer(row) == "hold"


class Harness:
    """One channel with a scripted sender, and a way to make its due rows."""

    def __init__(self, name, app):
        self.real = {"notifications": delivery.CHANNEL, "webhooks": webhooks.CHANNEL}[name]
        self.app, self.sent, self.lock = app, [], threading.Lock()
        self.answer = lambda row: "ok"
        self.channel = dataclasses.replace(self.real, start=lambda: Scripted(self.answer, self.sent, self.lock))
        self.request = make_request() if name == "webhooks" else None
        Notification.delete().execute()  # what the request's submission queued: the tests write their own rows

    def configure(self, **settings):
        self.app.config.update({f"{self.channel.settings}_{name}": value for name, value in settings.items()})

    def make(self, n=1, at=T0) -> list[int]:
        ids = []
        for _ in range(n):
            number = next(_numbers)
            if self.request is None:
                row = Notification.create(event="request_received", channel="sms", language="ar",
                                          recipient=f"+9745500{number:04d}", body="رسالة", next_attempt_at=at,
                                          dedupe_key=f"outbox:{number}")
            else:  # a client of its own: each delivery is the first of its (client, request)
                client = ApiClient.create(name=f"portal {number}", token_hash=f"{number:064d}", token_hint="t",
                                          webhook_url="http://127.0.0.1:9/hooks")
                row = WebhookDelivery.create(client=client, request=self.request, event="moved_on", payload="{}",
                                             next_attempt_at=at)
            ids.append(row.id)
        return ids

    def row(self, row_id):
        return self.channel.model.get_by_id(row_id)

    def attempts(self, row_id) -> int:
        A = self.channel.attempt_model
        return A.select().where(getattr(A, self.channel.attempt_of) == row_id).count()

    def deliver(self, **kwargs) -> dict:
        return outbox.deliver(self.channel, kwargs.pop("limit", 100), **kwargs)


@pytest.fixture(params=["notifications", "webhooks"])
def harness(request, ctx, app):
    return Harness(request.param, app)


def in_threads(app, work, n=2):
    """Run `work(i)` in `n` threads, each with its own connection, started together; their results in order."""
    barrier, results, errors = threading.Barrier(n), [None] * n, []

    def run(i):
        try:
            with app.app_context(), db.database.connection_context():
                barrier.wait(10)
                results[i] = work(i)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and not any(thread.is_alive() for thread in threads)
    return results


def test_due_rows_are_claimed_once_by_two_concurrent_claimers(harness, app):
    due = harness.make(40)
    later = harness.make(1, at=T0 + timedelta(seconds=1))  # not due yet

    def claimer(_):
        taken = []
        while batch := outbox.claim(harness.channel, T0, 7):
            assert len(batch) <= 7
            taken.extend(row.id for row in batch)
        return taken

    first, second = in_threads(app, claimer)
    assert not set(first) & set(second)  # nobody got a row twice
    assert sorted(first + second) == due  # every due row was claimed
    for row_id in due:
        row = harness.row(row_id)
        assert (row.status, row.attempts) == ("sending", 1) and row.lease_until > T0
    assert (harness.row(later[0]).status, harness.row(later[0]).attempts) == (harness.channel.waiting, 0)


def test_two_concurrent_runs_send_each_row_exactly_once(harness, app):
    due = harness.make(30)
    counts = in_threads(app, lambda _: harness.deliver(now=T0, limit=1000))
    assert sorted(harness.sent) == due  # each sent once, by one of the runs
    assert sum(c[harness.channel.done] for c in counts) == 30
    assert all(harness.row(i).status == harness.channel.done and harness.attempts(i) == 1 for i in due)


def test_a_failure_backs_off_by_the_configured_steps_then_the_limit_marks_it_failed(harness):
    harness.configure(BACKOFF_SECONDS="7,11", MAX_ATTEMPTS=4)
    [row_id] = harness.make()
    harness.answer = lambda row: "retry"
    now, waits = T0, []
    for attempt in range(1, 4):
        assert harness.deliver(now=now)["retrying"] == 1
        row = harness.row(row_id)
        assert (row.status, row.attempts, row.lease_until) == (harness.channel.waiting, attempt, None)
        assert "503" in row.last_error
        waits.append((row.next_attempt_at - now).total_seconds())
        assert harness.deliver(now=row.next_attempt_at - timedelta(seconds=1))["retrying"] == 0  # not yet due
        now = row.next_attempt_at
    assert waits == [7, 11, 11]  # the configured steps, the last one repeating
    counts = harness.deliver(now=now)
    assert (counts["failed"], counts["retrying"]) == (1, 0)
    row = harness.row(row_id)
    assert (row.status, row.attempts) == ("failed", 4) and harness.attempts(row_id) == 4
    assert harness.deliver(now=now + timedelta(days=30))["failed"] == 0 and len(harness.sent) == 4  # stays failed


def test_a_permanent_refusal_fails_at_once(harness):
    harness.configure(MAX_ATTEMPTS=10)
    [row_id] = harness.make()
    harness.answer = lambda row: "fail"
    assert harness.deliver(now=T0)["failed"] == 1
    row = harness.row(row_id)
    assert (row.status, row.attempts) == ("failed", 1) and "refused" in row.last_error


def test_an_expired_lease_is_released_by_the_sweeper_and_the_row_sent_exactly_once(harness):
    [row_id] = harness.make()
    [stale] = outbox.claim(harness.channel, T0, 10)  # a worker claims the row, then is killed
    assert harness.deliver(now=T0)["recovered"] == 0 and harness.sent == []  # its lease still runs
    later = T0 + timedelta(seconds=outbox.lease_seconds(harness.channel, 10) + 1)
    counts = harness.deliver(now=later)
    assert (counts["recovered"], counts[harness.channel.done]) == (1, 1)
    assert harness.sent == [row_id] and harness.attempts(row_id) == 2  # interrupted, then sent
    row = harness.row(row_id)
    assert (row.status, row.attempts) == (harness.channel.done, 2)
    # the killed worker's late failure is fenced off: the row stays done, and nothing sends it again
    late = outbox.Outcome(stale, outbox.SendResult.retry("HTTP 503", 503), T0, 5)
    assert outbox.record_all(harness.channel, [late], later) == ["lost"]
    assert harness.row(row_id).status == harness.channel.done
    assert outbox.release_expired_leases(harness.channel, later + timedelta(days=1)) == 0
    assert harness.deliver(now=later + timedelta(days=1))[harness.channel.done] == 0 and harness.sent == [row_id]


def test_a_stale_claim_cannot_overwrite_the_newer_claim_of_the_same_attempt_number(harness):
    """The token is the attempt number with the lease's end: a claim released, the row failed and sent again from
    scratch (an administrator's redelivery) is a new claim, even with the same attempt number."""
    harness.configure(MAX_ATTEMPTS=1)
    [row_id] = harness.make()
    [stale] = outbox.claim(harness.channel, T0, 10)
    later = T0 + timedelta(seconds=outbox.lease_seconds(harness.channel, 10) + 1)
    assert outbox.release_expired_leases(harness.channel, later) == 1 and harness.row(row_id).status == "failed"
    harness.channel.model.update(status=harness.channel.waiting, attempts=0).where(
        harness.channel.model.id == row_id).execute()
    [fresh] = outbox.claim(harness.channel, later, 10)
    assert fresh.attempts == stale.attempts == 1
    late = outbox.Outcome(stale, outbox.SendResult.fail("refused for good"), T0, 5)
    assert outbox.record_all(harness.channel, [late], later) == ["lost"]
    assert harness.row(row_id).status == "sending"  # still the fresh claim's
    accepted = outbox.Outcome(fresh, outbox.SendResult.ok(status_code=200), later, 5)
    assert outbox.record_all(harness.channel, [accepted], later) == [harness.channel.done]


def test_the_last_attempt_interrupted_is_failed(harness):
    harness.configure(MAX_ATTEMPTS=1)
    [row_id] = harness.make()
    outbox.claim(harness.channel, T0, 10)
    assert outbox.release_expired_leases(harness.channel, T0 + timedelta(hours=1)) == 1
    row = harness.row(row_id)
    assert (row.status, row.lease_until) == ("failed", None) and "interrupted" in row.last_error
    assert harness.deliver(now=T0 + timedelta(days=1))["recovered"] == 0 and harness.sent == []


def test_a_success_is_recorded_once(harness):
    [row_id] = harness.make()
    assert harness.deliver(now=T0)[harness.channel.done] == 1
    row = harness.row(row_id)
    done_at = getattr(row, harness.channel.done_at)
    assert (row.status, row.attempts, row.lease_until, row.last_error) == (harness.channel.done, 1, None, "")
    assert done_at is not None and harness.attempts(row_id) == 1
    for days in (1, 30):  # never claimed again
        assert harness.deliver(now=T0 + timedelta(days=days))[harness.channel.done] == 0
    assert harness.sent == [row_id] and harness.attempts(row_id) == 1
    assert getattr(harness.row(row_id), harness.channel.done_at) == done_at


def test_counts_of_a_run(harness):
    harness.configure(MAX_ATTEMPTS=5, BACKOFF_SECONDS="60")
    [interrupted] = harness.make(at=T0 - timedelta(hours=1))
    assert len(outbox.claim(harness.channel, T0 - timedelta(hours=1), 10)) == 1  # its worker died an hour ago
    ok, retry, fail, held = harness.make(3), harness.make(2), harness.make(1), harness.make(1)
    verdicts = {**dict.fromkeys(ok, "ok"), **dict.fromkeys(retry, "retry"), **dict.fromkeys(fail, "fail"),
                **dict.fromkeys(held, "hold"), interrupted: "ok"}
    harness.answer = lambda row: verdicts[row.id]
    counts = harness.deliver(now=T0)
    assert {key: counts[key] for key in ("recovered", harness.channel.done, "retrying", "failed", "lost",
                                         "given_back", "more")} == \
        {"recovered": 1, harness.channel.done: 4, "retrying": 2, "failed": 1, "lost": 0, "given_back": 1,
         "more": False}
    assert sorted(harness.sent) == sorted([interrupted, *ok, *retry, *fail])  # the held one was not sent
    [held_row] = [harness.row(i) for i in held]
    assert (held_row.status, held_row.attempts, held_row.lease_until) == (harness.channel.waiting, 0, None)

    harness.answer = lambda row: "ok"
    later = harness.make(3, at=T0 + timedelta(minutes=2))
    counts = harness.deliver(now=T0 + timedelta(minutes=2), limit=2)
    assert counts[harness.channel.done] == 2 and counts["more"]  # stopped at the limit, rows still due
    counts = harness.deliver(now=T0 + timedelta(minutes=2))
    assert counts[harness.channel.done] == 4 and not counts["more"]  # the rest, and the retried two
    assert all(harness.row(i).status == harness.channel.done for i in [*later, *retry, *held])
