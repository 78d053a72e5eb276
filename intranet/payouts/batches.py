"""Batches: approved payouts gathered for the bank, exported to its files exactly once.

A supervisor gathers approved payouts into a draft batch (each payout becomes an item with the amount, IBAN and
name the files will carry; the database lets a payout be in one live batch only) and starts the export, once:
the start is a conditional update of the batch's version, so twenty clicks start one export. The job then
claims the batch with a lease and a token, writes the pain.001, the bank's CSV and the finance sheet into a
folder of its own run, checks the pain.001 against its XSD and reads its totals back, and releases the batch in
one transaction that only the holder of the token can commit. A run that dies leaves an unreleased folder and
an expired lease; the sweeper hands the batch to a new run, which writes everything again. So a batch is never
half-released and never released twice; running the job on a released batch returns the archived files.
"""
import datetime as dt
import os
import secrets
import shutil
import uuid
from decimal import Decimal
from pathlib import Path

from flask import current_app
from intranet.i18n import lazy_gettext as _l
from peewee import IntegrityError, Value, fn

from intranet import reference
from intranet.auth import permissions
from intranet.db import transaction
from intranet.models import Citizen, Request, RequestType, utcnow
from intranet.models.payouts import BatchItem, ExportFile, Payout, PayoutBatch
from intranet.payouts import audit, bank_profiles, files, finance_sheet
from intranet.payouts.service import PayoutRefused

PAGE = 2000  # items read per query while writing the files
KINDS = ("pain001", "csv", "xlsx")
EXTENSIONS = {"pain001": "xml", "csv": "csv", "xlsx": "xlsx"}


class LostLease(Exception):
    """Another run holds the batch now (this one was too slow or presumed dead): stop without releasing."""


def profiles() -> dict:
    """The bank layouts offered for a new batch (data administrators edit: `payouts/bank_profiles.py`)."""
    return bank_profiles.offered()


def profile(code: str):
    """The layout a batch names, retired or not; None when no layout has that code."""
    return bank_profiles.get(code)


def _supervisor(actor):
    if not permissions.can_manage_payout_batches(actor):
        raise PayoutRefused(_l("Only supervisors make and export payout batches."))


# --- gathering -----------------------------------------------------------------------------------------------

def create(actor, payout_ids, bank: str, language: str = "ar") -> PayoutBatch:
    """A draft batch of the given approved payouts. Refused whole if any of them is not approved any more or is
    in another batch already (the unique index decides between two supervisors at the same moment)."""
    _supervisor(actor)
    if bank not in profiles():
        raise PayoutRefused(_l("Choose the bank whose file layout to use."))
    ids = sorted({int(i) for i in payout_ids})
    if not ids:
        raise PayoutRefused(_l("Tick the approved payouts to put in the batch first."))
    try:
        with transaction():
            batch = PayoutBatch.create(
                reference=uuid.uuid4().hex[:35], bank=bank, language=language if language in ("ar", "en") else "ar",
                pain_version=current_app.config["PAYOUT_PAIN_VERSION"], currency=current_app.config["CURRENCY"],
                created_by=actor.id)
            batch.reference = f"DIWAN-{batch.created_at:%Y%m%d}-{batch.id:06d}"
            for start in range(0, len(ids), CHUNK):
                _gather(batch, ids[start:start + CHUNK], offset=start)
            amounts = [row[0] for row in BatchItem.select(BatchItem.amount).where(BatchItem.batch == batch.id).tuples()]
            batch.item_count, batch.item_total = len(amounts), sum(amounts, Decimal(0))
            PayoutBatch.update(reference=batch.reference, item_count=batch.item_count,
                               item_total=batch.item_total).where(PayoutBatch.id == batch.id).execute()
            audit.append(actor, "batch_created", None, batch=batch.id, reference=batch.reference, bank=bank,
                         count=batch.item_count, total=str(batch.item_total))
            audit.append_many(actor, "payout_batched", ((pid, {"batch": batch.id}) for pid in ids))
    except IntegrityError:
        raise PayoutRefused(_l("Some of these payouts were put in another batch a moment ago: refresh the list."))
    return batch


CHUNK = 5000  # payouts gathered per statement


def _gather(batch, chunk: list[int], offset: int):
    """One INSERT ... SELECT for a chunk of payouts, numbered on from `offset`, with what the files will say;
    then the payouts marked batched. Any of them not approved (any more) refuses the whole batch."""
    number = fn.ROW_NUMBER().over(order_by=[Payout.id]) + offset
    source = (Payout.select(Value(batch.id), Payout.id, number, Value(f"{batch.reference}-").concat(number),
                            Payout.amount, Payout.iban, Payout.beneficiary, Request.tracking_number,
                            Citizen.national_id, Payout.request_type, Value(""), Value(""))
              .join(Request, on=(Payout.request == Request.id)).switch(Payout)
              .join(Citizen, on=(Payout.citizen == Citizen.id))
              .where(Payout.id.in_(chunk) & (Payout.status == "approved")))
    added = BatchItem.insert_from(source, [
        BatchItem.batch, BatchItem.payout, BatchItem.seq, BatchItem.end_to_end, BatchItem.amount, BatchItem.iban,
        BatchItem.beneficiary, BatchItem.tracking_number, BatchItem.national_id, BatchItem.request_type,
        BatchItem.outcome, BatchItem.outcome_reason,
    ]).as_rowcount().execute()
    if added != len(chunk):
        raise PayoutRefused(_l("Only approved payouts go into a batch: refresh the list and try again."))
    moved = Payout.update(status="batched", version=Payout.version + 1).where(
        Payout.id.in_(chunk) & (Payout.status == "approved")).execute()
    if moved != len(chunk):
        raise PayoutRefused(_l("Someone else decided on these payouts a moment ago: try again."))


def cancel(actor, batch_id: int) -> PayoutBatch:
    """Give up a draft: its payouts are approved again, free for another batch."""
    _supervisor(actor)
    now = utcnow()
    with transaction():
        batch = PayoutBatch.get_or_none(PayoutBatch.id == batch_id)
        if batch is None or PayoutBatch.update(status="cancelled", version=PayoutBatch.version + 1).where(
                (PayoutBatch.id == batch_id) & (PayoutBatch.status == "draft")).execute() != 1:
            raise PayoutRefused(_l("Only a batch not yet exported can be cancelled."))
        live = BatchItem.select(BatchItem.payout).where((BatchItem.batch == batch_id) & (BatchItem.outcome == ""))
        payout_ids = [row.payout_id for row in live]
        Payout.update(status="approved", version=Payout.version + 1).where(
            Payout.id.in_(live) & (Payout.status == "batched")).execute()
        BatchItem.update(outcome="removed", outcome_at=now).where(
            (BatchItem.batch == batch_id) & (BatchItem.outcome == "")).execute()
        audit.append(actor, "batch_cancelled", None, batch=batch_id, reference=batch.reference)
        audit.append_many(actor, "payout_unbatched", ((pid, {"batch": batch_id}) for pid in payout_ids))
    return batch


# --- the start: one click wins -------------------------------------------------------------------------------

def start_export(actor, batch_id: int, version: int, reauthenticated: bool) -> bool:
    """Mark the draft as exporting (the job then writes it); False when it was started already. The files'
    creation time is fixed now, so every run writes the same header."""
    _supervisor(actor)
    if not reauthenticated:
        raise PayoutRefused(_l("Enter your password again to export payouts."))
    with transaction():
        started = PayoutBatch.update(
            status="exporting", started_by=actor.id, started_at=utcnow().replace(microsecond=0), phase="queued",
            done=0, version=PayoutBatch.version + 1).where(
            (PayoutBatch.id == batch_id) & (PayoutBatch.status == "draft") & (PayoutBatch.version == version)
            & (PayoutBatch.item_count > 0)).execute() == 1
        if started:
            audit.append(actor, "export_started", None, batch=batch_id)
    return started


# --- the job ------------------------------------------------------------------------------------------------

def archive_dir() -> Path:
    return Path(current_app.config["PAYOUT_ARCHIVE_DIR"])


def _claim(batch_id: int) -> str | None:
    """Take the batch for this run if nobody holds it (or the holder's lease ran out): the run's token."""
    token = secrets.token_hex(16)
    now = utcnow()
    lease = now + dt.timedelta(seconds=current_app.config["PAYOUT_EXPORT_LEASE_SECONDS"])
    with transaction():
        taken = PayoutBatch.update(run_token=token, lease_until=lease, runs=PayoutBatch.runs + 1, phase="reading",
                                   done=0, error="").where(
            (PayoutBatch.id == batch_id) & (PayoutBatch.status == "exporting")
            & (PayoutBatch.lease_until.is_null() | (PayoutBatch.lease_until < now))).execute()
    return token if taken == 1 else None


def _beat(batch_id: int, token: str, phase: str, done: int):
    """Show progress and keep the lease; a run that lost its lease stops here."""
    lease = utcnow() + dt.timedelta(seconds=current_app.config["PAYOUT_EXPORT_LEASE_SECONDS"])
    with transaction():
        kept = PayoutBatch.update(phase=phase, done=done, lease_until=lease).where(
            (PayoutBatch.id == batch_id) & (PayoutBatch.run_token == token)
            & (PayoutBatch.status == "exporting")).execute()
    if kept != 1:
        raise LostLease(batch_id)


def rows(batch: PayoutBatch):
    """The batch's items in order, a page at a time (constant memory), as the files' rows: one table, read by
    its (batch, seq) index."""
    language = batch.language
    after = 0
    while True:
        page = list(BatchItem.select(BatchItem.seq, BatchItem.end_to_end, BatchItem.beneficiary, BatchItem.iban,
                                     BatchItem.amount, BatchItem.tracking_number, BatchItem.request_type,
                                     BatchItem.national_id)
                    .where((BatchItem.batch == batch.id) & (BatchItem.seq > after))
                    .order_by(BatchItem.seq).limit(PAGE).tuples())
        if not page:
            return
        for seq, end_to_end, beneficiary, iban, amount, tracking, type_id, national_id in page:
            yield files.Row(seq=seq, end_to_end=end_to_end, beneficiary=beneficiary, iban=iban, amount=amount,
                            currency=batch.currency, tracking_number=tracking,
                            request_type=_type_name(type_id, language), national_id=national_id)
        after = page[-1][0]


def _type_name(type_id, language) -> str:
    request_type = reference.by_id(RequestType, type_id)
    if request_type is None:
        return ""
    return request_type.name_ar if language == "ar" else (request_type.name_en or request_type.name_ar)


def header(batch: PayoutBatch) -> "files.Header":
    config = current_app.config
    return files.Header(message_id=batch.reference, created_at=batch.started_at,
                        execution_date=batch.started_at.date(), debtor_name=config["PAYOUT_DEBTOR_NAME"],
                        debtor_iban=config["PAYOUT_DEBTOR_IBAN"], debtor_bic=config["PAYOUT_DEBTOR_BIC"],
                        currency=batch.currency, version=batch.pain_version, language=batch.language)


class ExportFailed(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def export(batch_id: int) -> str:
    """Write, check and release the batch's files. Returns "released" (now or before: the archived files stand),
    "busy" (another run holds it), "lost" (this run was overtaken), "failed" (the files did not check out: the
    reason is recorded on the batch, which stays unreleased), or the status of a batch not being exported."""
    batch = PayoutBatch.get_or_none(PayoutBatch.id == batch_id)
    if batch is None:
        return "missing"
    if batch.status == "released":
        _tidy(batch.id, batch.run_token)  # a run killed between its release and its tidying left folders
        return "released"
    if batch.status != "exporting":
        return batch.status  # a draft not started, or cancelled: nothing to write
    token = _claim(batch_id)
    if token is None:
        return "released" if PayoutBatch.get_by_id(batch_id).status == "released" else "busy"
    batch = PayoutBatch.get_by_id(batch_id)
    folder = archive_dir() / f"batch-{batch.id}" / token
    try:
        written = _write(batch, token, folder)
        _release(batch, token, folder, written)
    except LostLease:
        shutil.rmtree(folder, ignore_errors=True)
        return "lost"
    except (ExportFailed, files.FileInvalid, ValueError) as failed:
        shutil.rmtree(folder, ignore_errors=True)
        message = getattr(failed, "message", None) or _l("A payout cannot be written to the files (%(error)s): "
                                                          "correct it or take it out of the batch.", error=failed)
        with transaction():
            PayoutBatch.update(error=str(message), lease_until=None, phase="failed").where(
                (PayoutBatch.id == batch_id) & (PayoutBatch.run_token == token)).execute()
        return "failed"
    _tidy(batch.id, token)
    return "released"


def _write(batch, token, folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    head = header(batch)
    names = {kind: f"{batch.reference}.{EXTENSIONS[kind]}" for kind in KINDS}
    n = batch.item_count

    def progress(phase, offset):
        return lambda done: _beat(batch.id, token, phase, offset + done)

    totals = {
        "pain001": files.write_pain001(folder / names["pain001"], head, rows(batch), on_progress=progress("pain001", 0)),
        "csv": files.write_csv(folder / names["csv"], head, rows(batch), profile(batch.bank),
                               on_progress=progress("csv", n)),
        "xlsx": finance_sheet.write_xlsx(folder / names["xlsx"], head, rows(batch), on_progress=progress("xlsx", 2 * n)),
    }
    _beat(batch.id, token, "checking", 3 * n)
    read_back = files.check_pain001(folder / names["pain001"], batch.pain_version)
    expected = (batch.item_count, Decimal(batch.item_total))
    for kind, found in list(totals.items()) + [("pain001 read back", read_back)]:
        if (found.count, found.total) != expected:
            raise ExportFailed(_l("The %(kind)s file holds %(count)s payouts totalling %(total)s, the batch "
                                  "%(expected_count)s totalling %(expected_total)s: nothing was released.",
                                  kind=kind, count=found.count, total=found.total, expected_count=expected[0],
                                  expected_total=expected[1]))
    return {kind: (names[kind], totals[kind]) for kind in KINDS}


def _release(batch, token, folder: Path, written: dict):
    """One transaction, only for the holder of the token: the files, the payouts exported, the audit entry."""
    now = utcnow()
    entries = []
    for kind, (name, totals) in written.items():
        path = folder / name
        entries.append({"batch": batch.id, "kind": kind, "name": name,
                        "path": str(path.relative_to(archive_dir())), "size": path.stat().st_size,
                        "sha256": files.sha256_of(path), "tx_count": totals.count, "ctrl_sum": totals.total,
                        "created_at": now})
    _fsync(folder)
    with transaction():
        released = PayoutBatch.update(status="released", released_at=now, phase="done", done=3 * batch.item_count,
                                      lease_until=None, version=PayoutBatch.version + 1).where(
            (PayoutBatch.id == batch.id) & (PayoutBatch.run_token == token)
            & (PayoutBatch.status == "exporting")).execute()
        if released != 1:
            raise LostLease(batch.id)
        ExportFile.insert_many(entries).execute()
        live = BatchItem.select(BatchItem.payout).where((BatchItem.batch == batch.id) & (BatchItem.outcome == ""))
        Payout.update(status="exported", version=Payout.version + 1).where(
            Payout.id.in_(live) & (Payout.status == "batched")).execute()
        audit.append(None, "batch_released", None, batch=batch.id, reference=batch.reference, runs=batch.runs,
                     files={e["kind"]: {"sha256": e["sha256"], "count": e["tx_count"], "sum": str(e["ctrl_sum"])}
                            for e in entries})


def _fsync(folder: Path):
    """The files are on disk before the database says they are released."""
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _tidy(batch_id: int, token: str):
    """Folders of runs that died before releasing are of no use once a run released the batch."""
    parent = archive_dir() / f"batch-{batch_id}"
    for child in parent.iterdir() if parent.is_dir() else ():
        if child.name != token and child.is_dir():
            shutil.rmtree(child, ignore_errors=True)


def stalled(now=None) -> list[int]:
    """Exporting batches nobody holds (a lost trigger, a dead consumer): the sweeper starts them again."""
    now = now or utcnow()
    return [row.id for row in PayoutBatch.select(PayoutBatch.id).where(
        (PayoutBatch.status == "exporting") & (PayoutBatch.error == "")
        & (PayoutBatch.lease_until.is_null() | (PayoutBatch.lease_until < now))).order_by(PayoutBatch.id)]


def retry(actor, batch_id: int) -> bool:
    """After a failed run (its error shown), try the export again."""
    _supervisor(actor)
    with transaction():
        again = PayoutBatch.update(error="", phase="queued", lease_until=None).where(
            (PayoutBatch.id == batch_id) & (PayoutBatch.status == "exporting") & (PayoutBatch.error != "")).execute()
        if again:
            audit.append(actor, "export_retried", None, batch=batch_id)
    return again == 1


def file_path(export_file: ExportFile) -> Path:
    return archive_dir() / export_file.path
