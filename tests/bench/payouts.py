"""Issue 7's figure: the export of a batch of approved payouts to pain.001 + bank CSV + XLSX.

For each batch size (10,000 and 100,000 by default): that many approved payouts are written in bulk
(`intranet.seed.seed_payouts`), a supervisor gathers them into a batch and starts the export, then the export
job (`intranet.payouts.batches.export`, what the consumer runs) runs in a fresh Python process that reports its
wall time, the time of each file, and its own peak resident memory (VmHWM, reset once the app is loaded: the
figure is the export's). Memory that does not grow with the batch is
the sign of streaming: the 100,000 batch's peak is compared with the 10,000's. Afterwards the database's account:
the batch released once, three files whose transaction counts and control sums equal the batch's items, the
pain.001 checked against its XSD by the job itself (a file that failed would not be released).
"""
import json
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET_SECONDS = 20
SIZES = (10_000, 100_000)

# the export in its own process: the timings of each writer (wrapped) and the process's peak RSS
EXPORT_SCRIPT = r"""
import json, sys, time
from intranet import create_app
from intranet.db import database
from intranet.payouts import batches, files, finance_sheet

timings = {}
def timed(name, fn):
    def run(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            timings[name] = timings.get(name, 0) + time.perf_counter() - started
    return run
for name in ("write_pain001", "check_pain001", "write_csv", "sha256_of"):
    setattr(files, name, timed(name, getattr(files, name)))
finance_sheet.write_xlsx = timed("write_xlsx", finance_sheet.write_xlsx)
def status(field):
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) / 1024 for line in handle if line.startswith(field + ":"))
app = create_app()
with app.app_context(), database.connection_context():
    with open("/proc/self/clear_refs", "w") as handle:  # the peak inherited from the parent at fork: reset
        handle.write("5")
    before = status("VmRSS")
    started = time.perf_counter()
    outcome = batches.export(int(sys.argv[1]))
    seconds = time.perf_counter() - started
print(json.dumps({"outcome": outcome, "seconds": seconds, "timings": timings, "rss_before_mb": before,
                  "peak_rss_mb": status("VmHWM")}))
"""


def _log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _one(url: str, workdir: Path, env: dict, size: int) -> dict:
    from intranet import create_app
    from intranet.db import database
    from intranet.models import Staff
    from intranet.models.payouts import BatchItem, ExportFile, PayoutBatch
    from intranet.payouts import batches
    from intranet.seed import seed_payouts

    app = create_app({"DATABASE_URL": url, "INSTANCE_DIR": workdir, "SECRET_KEY": "bench",
                      "PAYOUT_ARCHIVE_DIR": workdir / "payout-files"})
    with app.test_request_context(), database.connection_context():
        started = time.perf_counter()
        ids = seed_payouts(size, seed=size)
        seeded = time.perf_counter() - started
        boss, _ = Staff.get_or_create(username="bench-boss", defaults={
            "full_name": "مشرف القياس", "email": "bench-boss@diwan.example", "role": "supervisor"})
        started = time.perf_counter()
        batch = batches.create(boss, ids, "generic")
        gathered = time.perf_counter() - started
        assert batches.start_export(boss, batch.id, batch.version, True)
    done = subprocess.run([sys.executable, "-c", EXPORT_SCRIPT, str(batch.id)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"the export process failed:\n{done.stderr[-3000:]}")
    run = json.loads(done.stdout.strip().splitlines()[-1])
    problems = []
    with app.test_request_context(), database.connection_context():
        batch = PayoutBatch.get_by_id(batch.id)
        amounts = [row[0] for row in BatchItem.select(BatchItem.amount).where(BatchItem.batch == batch.id).tuples()]
        count, total = len(amounts), sum(amounts, Decimal(0))
        released = list(ExportFile.select().where(ExportFile.batch == batch.id))
        if run["outcome"] != "released" or batch.status != "released":
            problems.append(f"batch {batch.id}: {run['outcome']}, {batch.status}, {batch.error}")
        if sorted(f.kind for f in released) != ["csv", "pain001", "xlsx"]:
            problems.append(f"files: {[f.kind for f in released]}")
        for f in released:
            if (f.tx_count, Decimal(f.ctrl_sum)) != (count, total) or count != size:
                problems.append(f"{f.kind}: {f.tx_count} / {f.ctrl_sum} against {count} / {total}")
        sizes = {f.kind: batches.file_path(f).stat().st_size / 1e6 for f in released}
    return {"size": size, "seed_s": seeded, "gather_s": gathered, "export_s": run["seconds"],
            "timings": run["timings"], "peak_rss_mb": run["peak_rss_mb"], "rss_before_mb": run["rss_before_mb"], "file_mb": sizes, "count": count,
            "total": str(total), "problems": problems}


def bench(backend: str, url: str, workdir: Path, env: dict, sizes=SIZES) -> dict:
    env = dict(env, INTRANET_PAYOUT_ARCHIVE_DIR=str(workdir / "payout-files"))
    runs = []
    for size in sizes:
        _log(f"{backend}: payout export of {size:,}")
        result = _one(url, workdir, env, size)
        _log(f"  {result['export_s']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB, "
             f"{', '.join(f'{k} {v:.1f} s' for k, v in result['timings'].items())}")
        runs.append(result)
    problems = [p for r in runs for p in r["problems"]]
    if runs[-1]["export_s"] >= TARGET_SECONDS:
        problems.append(f"the export of {runs[-1]['size']:,} took {runs[-1]['export_s']:.1f} s "
                        f"(target {TARGET_SECONDS} s)")
    return {"runs": runs, "problems": problems}


def tables(results) -> list[str]:
    measured = [r for r in results if r.get("payouts") and r["payouts"].get("runs")]
    if not measured:
        return []
    out = ["", "## Payouts: a batch exported to pain.001 + bank CSV + XLSX (the export job in its own process)", "",
           "| backend | payouts | export (s) | pain.001 write / XSD check (s) | CSV (s) | XLSX (s) | SHA-256 (s) "
           "| memory before / peak (MB) | files (MB: pain.001, CSV, XLSX) | gather into a batch (s) |",
           "|---|---:|---:|---|---:|---:|---:|---:|---|---:|"]
    for r in measured:
        for run in r["payouts"]["runs"]:
            t = run["timings"]
            mb = run["file_mb"]
            out.append(f"| {r['backend']} | {run['size']:,} | **{run['export_s']:.1f}** | "
                       f"{t.get('write_pain001', 0):.1f} / {t.get('check_pain001', 0):.1f} | "
                       f"{t.get('write_csv', 0):.1f} | {t.get('write_xlsx', 0):.1f} | {t.get('sha256_of', 0):.2f} | "
                       f"{run['rss_before_mb']:.0f} / {run['peak_rss_mb']:.0f} | {mb.get('pain001', 0):.1f}, {mb.get('csv', 0):.1f}, "
                       f"{mb.get('xlsx', 0):.1f} | {run['gather_s']:.1f} |")
    out += ["", f"Target: under {TARGET_SECONDS} s for 100,000 payouts, memory that does not grow with the batch. "
                "Checked after each run: the batch released once, three files whose NbOfTxs and CtrlSum (read back "
                "from the pain.001 after its XSD validation) equal the count and Decimal sum of the batch's items."]
    return out

