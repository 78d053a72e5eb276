"""Issue 21's page cost: the queue page and the request page against a bare Flask page, side by side in one run.

The bare page (tests/bench/bare_app.py: the app's session handling, a 25-row template, no database) is served by
its own gunicorn with the bench's settings (gthread, the same workers and threads), next to the app's; the signed-in
clerk's cookie is valid on both (the same secret key). Then, for --pagecost-rounds rounds, wrk loads each of the
three pages in turn for --duration seconds (-c as the other pages, a new connection per request unless
--keep-alive), so a neighbour's load on the shared machine falls on all three alike; the figures are the sums over
the rounds:

    bare     GET /bare                                  the bare page
    queue    GET /queues/health?type=...&sla=on_track   as `queue` in tests/bench/run.py
    request  GET /requests/<tracking number>            as `request`, rotating over the sample of Health requests

Reported: pages/s and the ratio to the bare page (target: 0.4 or better for the queue and the request page), and
the server's CPU time per page (gunicorn's own processes; on PostgreSQL the cluster's as well), which depends less
on what else runs on the machine than pages/s do.

Then, with --pagecost-instructions, what no neighbour changes: the instructions a page costs the web server
(`instructions`). Each page is served by its own gunicorn (one worker, one thread) under valgrind's callgrind, with
counting switched on after 60 warming requests and off after INSTRUCTION_PAGES more, one at a time (the request page
rotating over 20 requests); the same count comes back run after run (to 0.2 %), where pages/s moved by a fifth
within an hour on this machine. It is the web server's side alone: PostgreSQL's work is not in it.
"""
import glob
import http.client
import os
import signal
import subprocess
import time

from tests.bench import bare_app

TARGET_RATIO = 0.4
PAGES = ("bare", "queue", "request")


def check(bare_base: str, cookie: str) -> None:
    """The bare page answers 200 with its 25 rows to the clerk's cookie (and 401 without it)."""
    import urllib.error
    import urllib.request

    def fetch(with_cookie):
        ask = urllib.request.Request(bare_base + bare_app.PATH, headers={"Cookie": cookie} if with_cookie else {})
        try:
            with urllib.request.urlopen(ask, timeout=30) as answer:
                return answer.status, answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, ""

    status, body = fetch(True)
    if status != 200 or body.count(bare_app.MARK) != bare_app.ROWS:
        raise RuntimeError(f"the bare page answered {status} with {body.count(bare_app.MARK)} rows to the clerk")
    status, _ = fetch(False)
    if status != 401:
        raise RuntimeError(f"the bare page answered {status} without a session, not 401")


def bench(targets: dict, cookie: str, rounds: int, opts, run_wrk, cpu_watch, log) -> dict:
    """`targets`: page -> (base URL, first path, wrk script, gunicorn process, PostgreSQL postmaster or None).
    Each round loads the three pages in turn; returns per page the sums over the rounds, pages/s, p95 (the worst
    round's), CPU ms per page and the ratio to the bare page."""
    totals = {page: {"requests": 0, "seconds": 0.0, "p95_us": 0, "server_cpu": 0.0, "database_cpu": 0.0,
                     "other_cpu": 0.0, "rounds": []} for page in PAGES}
    if opts.warmup:
        for page in PAGES:
            base, path, script, _server, _postmaster = targets[page]
            run_wrk(base + path, cookie, script, opts.warmup, opts.wrk_threads, opts.connections, opts.keep_alive)
    for number in range(1, rounds + 1):
        for page in PAGES:
            base, path, script, server, postmaster = targets[page]
            with cpu_watch(server.proc.pid, postmaster) as watch:
                result = run_wrk(base + path, cookie, script, opts.duration, opts.wrk_threads, opts.connections,
                                 opts.keep_alive)
            total = totals[page]
            total["requests"] += result["requests"]
            total["seconds"] += result["duration_us"] / 1e6
            total["p95_us"] = max(total["p95_us"], result["p95_us"])
            total["server_cpu"] += watch.server_cpu
            total["database_cpu"] += watch.database_cpu
            total["other_cpu"] = max(total["other_cpu"], watch.other_share)
            total["rounds"].append(result["rps"])
            log(f"  page cost, round {number}/{rounds}: {page} {result['rps']:.1f} pages/s, "
                f"{1000 * watch.server_cpu / max(1, result['requests']):.2f} ms gunicorn CPU a page, "
                f"other CPU {watch.other_share:.0f} %")
    for total in totals.values():
        total["rps"] = total["requests"] / total["seconds"]
        total["cpu_ms"] = 1000 * total["server_cpu"] / max(1, total["requests"])
        total["database_ms"] = 1000 * total["database_cpu"] / max(1, total["requests"])
    bare = totals["bare"]
    for total in totals.values():
        total["ratio"] = total["rps"] / bare["rps"]
        total["cpu_ratio"] = bare["cpu_ms"] / (total["cpu_ms"] + total["database_ms"]) \
            if total["cpu_ms"] + total["database_ms"] else 0.0
    return {"rounds": rounds, "pages": totals}


def table(results, opts) -> list[str]:
    rows = [r for r in results if r.get("pagecost")]
    if not rows:
        return []
    out = ["", f"## Page cost against a bare Flask page (issue 21; wrk -c{opts.connections}, "
               f"{rows[0]['pagecost']['rounds']} rounds of {opts.duration} s per page, taken in turn)", "",
           "| backend | requests | page | pages/s | ratio to bare | p95 (ms, worst round) | gunicorn CPU ms a page "
           "| PostgreSQL CPU ms a page | CPU ratio to bare | pages/s by round | other CPU (worst) |",
           "|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|"]
    labels = {"bare": f"bare (`{bare_app.PATH}`, 25 rows, no database)", "queue": "queue (`/queues/health?...`)",
              "request": "request (`/requests/<n>`)"}
    for r in rows:
        for page in PAGES:
            p = r["pagecost"]["pages"][page]
            out.append(f"| {r['backend']} | {r['size']:,} | {labels[page]} | {p['rps']:.1f} | {p['ratio']:.2f} | "
                       f"{p['p95_us'] / 1000:.1f} | {p['cpu_ms']:.2f} | "
                       f"{p['database_ms']:.2f} | {p['cpu_ratio']:.2f} | "
                       f"{' / '.join(f'{x:.0f}' for x in p['rounds'])} | {p['other_cpu']:.0f} % |")
    return out


def verdicts(result, at: str) -> list[str]:
    mark = lambda ok: "met" if ok else "**not met**"  # noqa: E731
    cost = result.get("pagecost")
    if not cost:
        return []
    bare = cost["pages"]["bare"]
    return [f"- {at}: {page} page {cost['pages'][page]['rps']:.1f} pages/s against the bare page's "
            f"{bare['rps']:.1f}, ratio {cost['pages'][page]['ratio']:.2f} (target ≥ {TARGET_RATIO}): "
            f"{mark(cost['pages'][page]['ratio'] >= TARGET_RATIO)}" for page in ("queue", "request")]


# --- instructions: the web server's work per page, counted ------------------------------------------------------

INSTRUCTION_PAGES = 100  # pages counted for each figure, after 60 warming ones


def instructions(env: dict, workdir, paths: dict, cookie: str, python: str, root, log) -> dict:
    """`paths`: page -> (WSGI app, [paths to rotate over]); `python`: the venv's interpreter (its gunicorn beside
    it), `root`: the checkout served. Instructions per page for each, and the bare page's count divided by each
    page's (the ratio pages/s would show if nothing but the web server's work counted)."""
    from tests.bench.pg import free_port

    counts = {}
    for page in PAGES:
        app, rotation = paths[page]
        counts[page] = _count(env, workdir, (python, root), app, rotation, cookie, free_port(), page)
        log(f"  page cost, instructions: {page} {counts[page] / 1e6:.2f} M a page")
    return {page: {"instructions": counts[page], "ratio": counts["bare"] / counts[page]} for page in PAGES}


def _count(env, workdir, served, app, rotation, cookie, port, page) -> float:
    out = workdir / f"callgrind-{page}"
    out.mkdir(exist_ok=True)
    for old in glob.glob(str(out / "*")):
        os.remove(old)
    log_file = open(workdir / f"gunicorn-callgrind-{page}.log", "w")
    python, root = served
    gunicorn = os.path.join(os.path.dirname(python), "gunicorn")
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--trace-children=yes",
         f"--callgrind-out-file={out}/callgrind.%p", python, gunicorn, "--no-control-socket",
         "-k", "gthread", "-w", "1", "--threads", "1", "--timeout", "600", "-b", f"127.0.0.1:{port}", app],
        env=env, cwd=root, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)

    def get(number):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        try:
            connection.request("GET", rotation[number % len(rotation)], headers={"Cookie": cookie,
                                                                                  "Connection": "close"})
            answer = connection.getresponse()
            answer.read()
        finally:
            connection.close()
        if answer.status != 200:
            raise RuntimeError(f"{page}: {rotation[number % len(rotation)]} answered {answer.status} under callgrind")

    def control(*args):
        subprocess.run(["callgrind_control", *args, str(worker)], capture_output=True, check=True)

    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                get(0)
                break
            except (ConnectionError, OSError):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"gunicorn under callgrind did not answer {page}") from None
                time.sleep(0.5)
        for number in range(60):
            get(number)
        children = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        if len(children) != 1:
            raise RuntimeError(f"gunicorn under callgrind has {len(children)} workers, not one")
        worker = int(children[0])
        control("-z")
        control("-i", "on")
        for number in range(INSTRUCTION_PAGES):
            get(number)
        control("-i", "off")
        control("-d")
        total = 0
        for dump in glob.glob(str(out / f"callgrind.{worker}*")):
            with open(dump) as lines:
                total = max([total] + [int(line.split()[1]) for line in lines
                                       if line.startswith(("summary:", "totals:"))])
        if not total:
            raise RuntimeError(f"callgrind counted nothing for {page}")
        return total / INSTRUCTION_PAGES
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log_file.close()


def instruction_table(results) -> list[str]:
    rows = [r for r in results if r.get("pagecost_instructions")]
    if not rows:
        return []
    out = ["", f"## Page cost in instructions (issue 21; gunicorn 1 worker x 1 thread under callgrind, {INSTRUCTION_PAGES} "
               "pages each after 60 warming ones; the web server's work alone)", "",
           "| backend | requests | page | instructions a page | bare page's / this page's |", "|---|---:|---|---:|---:|"]
    for r in rows:
        for page in PAGES:
            figures = r["pagecost_instructions"][page]
            out.append(f"| {r['backend']} | {r['size']:,} | {page} | {figures['instructions'] / 1e6:.2f} M | "
                       f"{figures['ratio']:.2f} |")
    return out


# --- in-process: CPU per page without gunicorn, wrk or a neighbour's load ----------------------------------------

def in_process(url: str, turns: int = 20, profile: str = "", dump: str = "") -> dict:
    """The three pages over Flask's test client, signed in as a synthetic Health clerk on an already seeded database
    (`url`), taken in turns of ten; per page the best turn's process CPU time, ms a page. With `profile` (a page's
    name), that page is run `turns` x 10 times under cProfile instead and the statistics printed (or saved to
    `dump`). What the README's in-process figures and "where the time went" come from:

        .venv/bin/python -m tests.bench.pagecost sqlite:////path/to/seeded.db [--profile queue] [--dump out.prof]
    """
    import cProfile
    import os
    import pstats
    import random
    import tempfile
    import time
    from pathlib import Path

    from intranet import create_app, db
    from intranet.models import Department, Request
    from tests.bench import takenext

    os.environ.setdefault("INTRANET_SECRET_KEY", "bench-page-cost-0123456789abcdef")
    instance = Path(tempfile.mkdtemp(prefix="diwan-pagecost-"))  # never the checkout's instance folder
    app = create_app({"DATABASE_URL": url, "MFA_ROLES": "", "INSTANCE_DIR": instance,
                      "HUEY_URL": f"sqlite:///{instance / 'huey.db'}", "ATTACHMENT_DIR": instance / "files"})
    with db.database.connection_context():
        clerk = takenext.create_clerks(1, "health")[0]
        token = takenext.open_sessions([clerk])[clerk]
        health = Department.get(Department.code == "health")
        ids = [row[0] for row in Request.select(Request.id).where(Request.department == health.id).tuples()]
        chosen = random.Random(len(ids)).sample(ids, min(500, len(ids)))
        numbers = [row[0] for row in Request.select(Request.tracking_number).where(Request.id.in_(chosen)).tuples()]
    clients = {}
    for page, served in (("bare", bare_app.app), ("queue", app), ("request", app)):
        clients[page] = served.test_client()
        with clients[page].session_transaction() as session:
            session.update({"_user_id": str(clerk), "_fresh": True, "sid": token})
    paths = {"bare": lambda n: bare_app.PATH, "queue": lambda n: "/queues/health?type=health_care&sla=on_track",
             "request": lambda n: f"/requests/{numbers[n % len(numbers)]}"}
    served = [0]

    def get(page):
        served[0] += 1
        answer = clients[page].get(paths[page](served[0]))
        if answer.status_code != 200:
            raise RuntimeError(f"{page} answered {answer.status_code}")

    for page in PAGES:  # warm: templates compiled, SQL plans made, reference rows read
        for _ in range(20):
            get(page)
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(turns * 10):
            get(profile)
        profiler.disable()
        stats = pstats.Stats(profiler)
        if dump:
            stats.dump_stats(dump)
        stats.sort_stats("cumulative").print_stats(r"intranet/|templates/", 40)
        return {}
    best = {}
    for _ in range(turns):
        for page in PAGES:
            started = time.process_time()
            for _ in range(10):
                get(page)
            best[page] = min(best.get(page, float("inf")), 100 * (time.process_time() - started))
    return best


if __name__ == "__main__":
    import argparse
    import logging

    parser = argparse.ArgumentParser(description="the page cost in-process (tests/bench/pagecost.py in_process)")
    parser.add_argument("url", help="a seeded database, e.g. sqlite:////tmp/diwan-100k.db")
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--profile", choices=PAGES, default="")
    parser.add_argument("--dump", default="")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the access log of every page, not what is measured here
    figures = in_process(args.url, args.turns, args.profile, args.dump)
    for page, ms in figures.items():
        print(f"{page}: {ms:.2f} ms CPU a page ({ms / figures['bare']:.1f} x the bare page)")
