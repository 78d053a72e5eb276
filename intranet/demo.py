"""`diwan demo`: everything `make run` serves, on one machine, stopped together by Ctrl-C.

Starts the demo directory (slapd), prepares the database, then runs the Huey consumer and gunicorn as
child processes pointed at that directory.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from intranet.config import ROOT

ACCOUNTS = [
    ("reception1", "reception facilitator"), ("health1", "clerk, Health Affairs"),
    ("comp1", "clerk, Compensation"), ("pension1", "clerk, Retirement"),
    ("citizens1", "clerk, Citizens Affairs"), ("supervisor1", "supervisor, all departments"),
    ("admin1", "administrator"),
]

# the demo portal's token, printed at start so the API can be tried with curl; never used outside the demo
DEMO_PORTAL_TOKEN = "dwn_demo-portal-token-for-trying-the-api"


def _prepare_database(requests: int):
    from intranet import db, definitions
    from intranet.intake import clients
    from intranet.models import ApiClient, Request
    from intranet.seed import seed, seed_payouts

    with db.database.connection_context():
        db.upgrade()
        definitions.load(current_app.config["REQUEST_TYPES_FILE"])
        if requests and not Request.select().exists():
            click.echo(f"seeding {requests} demo requests ...")
            seed(requests)
            _demo_notifications()
            seed_payouts(30, status="pending", seed=2)  # for the supervisor: some to approve, some to batch
            seed_payouts(120, status="approved", seed=3)
            from intranet.stats import figures
            figures.close_missing()  # the seeded days counted, as the hourly job would, and today so far
            figures.count_so_far()
        sample = current_app.config["INSTANCE_DIR"] / "sample-import.csv"
        if not sample.exists():  # a portal batch file to try Imports with: 200 rows, 10 of them with errors
            from intranet.intake import import_files
            sample.write_bytes(import_files.sample(200, bad=10))
        from intranet.automation import demo_data
        demo_data.seed(current_app.config["INSTANCE_DIR"])  # a civil registry, two rules, benefits to renew
        from intranet.reception import bookings
        bookings.seed_demo()  # a few bookable services from the departments, and desks 5 and 6 for them (issue 19)
        if not ApiClient.select().exists():
            clients.create_client(None, "البوابة الوطنية للخدمات الإلكترونية (تجريبي)",
                                  ["requests:read", "requests:write", "bookings:write"], token=DEMO_PORTAL_TOKEN)


def _demo_notifications(steps: int = 400, failed: int = 6):
    """The seed writes requests and history in bulk, without messages: give the latest steps theirs (the
    consumer sends them to the demo's file gateway once it starts), and let a few citizens' messages have
    failed, so the desk's list of citizens to call has someone on it."""
    from intranet.db import transaction
    from intranet.models import HistoryEntry, Notification, utcnow
    from intranet.notify import events

    with transaction():
        for entry in (HistoryEntry.select().where(HistoryEntry.action.in_(("submit", "accept", "return", "reject")))
                      .order_by(HistoryEntry.id.desc()).limit(steps)):
            events.on_change(entry.request, entry)
        gone = (Notification.select(Notification.id).where(Notification.channel == "sms")
                .order_by(Notification.id).limit(failed))
        Notification.update(status="failed", attempts=10, failed_at=utcnow(),
                            last_error="gateway: the number is not reachable (absent subscriber)").where(
            Notification.id.in_(gone)).execute()


def _children(env, host, port, workers):
    venv_bin = os.path.dirname(sys.executable)
    consumer = [sys.executable, "-m", "huey.bin.huey_consumer", "jobs.huey", "-k", "thread", "-w", "2", "-q"]
    web = [os.path.join(venv_bin, "gunicorn"), "--no-control-socket", "-k", "gthread", "-w", str(workers),
           "--threads", "4", "-b", f"{host}:{port}", "wsgi:app"]  # each answer's line: the app's own log
    return [subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True) for cmd in (consumer, web)]


def _stop(processes):
    for proc in processes:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in processes:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@click.command("demo")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--workers", default=2, type=int)
@click.option("--requests", default=3000, type=int, help="Synthetic requests to seed into an empty database.")
@with_appcontext
def demo_command(host, port, workers, requests):
    """Run the demo: directory, database, job consumer and web server, until Ctrl-C."""
    from intranet.auth import demo_directory

    _prepare_database(requests)
    directory = demo_directory.start(port=3389)
    env = dict(os.environ, INTRANET_LDAP_URL=directory.ldap_uri.rstrip("/"))
    processes = _children(env, host, port, workers)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    click.echo(f"\nDiwan is running at http://{host}:{port}  (Ctrl-C stops everything)\n")
    click.echo("Demo accounts, password 'demo':")
    for username, what in ACCOUNTS:
        click.echo(f"  {username:<12} {what}")
    click.echo(f"\nA portal file to import (Imports): {current_app.config['INSTANCE_DIR'] / 'sample-import.csv'}")
    click.echo(f"Portal API: http://{host}:{port}/api/v1/openapi.json, demo client token {DEMO_PORTAL_TOKEN}")
    try:
        while all(proc.poll() is None for proc in processes):
            time.sleep(0.5)
        click.echo("a child process exited; stopping the demo", err=True)
    except KeyboardInterrupt:
        click.echo("\nstopping ...")
    finally:
        _stop(processes)
        directory.stop()
        shutil.rmtree(directory.run_dir, ignore_errors=True)
