"""Registries (issue 17): where the facts that make a request eligible come from, behind one interface.

A registry answers `lookup(national_id)` with a RegistryAnswer (found or not, flat facts, the raw answer kept as
evidence, when it was fetched) or raises RegistryUnavailable (timeout, refused connection, 5xx, malformed answer):
an unavailable registry never approves, the request goes to a person. Two implementations: LocalRegistry, a table
loaded from a CSV or XLSX file (`diwan registry load <code> <file>`, registry_files.py), and HttpRegistry, a JSON
client for an external registry (registries_http.py). Which one a code uses is the setting REGISTRIES
("civil=local,retirement=http://host/path"; a code not named there is local): `sources.registry(code)`."""
import dataclasses
import datetime
import json
from typing import Protocol

from intranet.models.automation import RegistryRecord
from intranet.models.people import utcnow


class RegistryUnavailable(Exception):
    """timeout, connection refused, 5xx, malformed answer: never approves"""


@dataclasses.dataclass(frozen=True)
class RegistryAnswer:
    registry: str  # the registry's code
    found: bool  # the person is known to it
    facts: dict  # flat facts, e.g. {"registered": True, "alive": True, "pension_status": "active"}
    raw: str  # the answer as received (JSON text), kept as evidence
    fetched_at: datetime.datetime  # naive UTC


class Registry(Protocol):
    code: str
    remote: bool  # asked over the network (no database): the renewal job asks it while it renews the batch before

    def lookup(self, national_id: str) -> RegistryAnswer: ...

    def lookup_many(self, national_ids) -> dict:
        """{national id: its RegistryAnswer, or the RegistryUnavailable its lookup raised}: the renewal job's batch,
        looked up before any transaction."""


class LocalRegistry:
    """A registry kept as rows of registry_record, loaded from a file. A person without a row is not found."""
    remote = False

    def __init__(self, code: str):
        self.code = code

    def lookup(self, national_id: str) -> RegistryAnswer:
        record = RegistryRecord.get_or_none((RegistryRecord.registry == self.code)
                                            & (RegistryRecord.national_id == national_id))
        return self._answer(record)

    def lookup_many(self, national_ids) -> dict:
        """One query for the batch."""
        wanted = list(dict.fromkeys(national_ids))
        records = {record.national_id: record for record in RegistryRecord.select().where(
            (RegistryRecord.registry == self.code) & RegistryRecord.national_id.in_(wanted))} if wanted else {}
        return {national_id: self._answer(records.get(national_id)) for national_id in wanted}

    def _answer(self, record) -> RegistryAnswer:
        if record is None:
            return RegistryAnswer(self.code, False, {}, json.dumps({"found": False}), utcnow())
        facts = record.fact_values
        raw = json.dumps({"found": True, "facts": facts, "loaded_at": record.loaded_at.isoformat()},
                         ensure_ascii=False, sort_keys=True)
        return RegistryAnswer(self.code, True, facts, raw, utcnow())

