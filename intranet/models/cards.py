"""Beneficiary cards (issue 19): a printed card per citizen carrying a signed token (intranet/cards/tokens.py), never
the national ID. A citizen holds at most one live card (a partial unique index: not revoked); a card is issued,
reissued (the old one revoked as replaced, naming its successor) or revoked with a reason, and every step is a
`CardEvent` row written in the same transaction (who, when, what, why)."""
import peewee as pw

from intranet.db import BaseModel
from intranet.models.people import Citizen, Staff, utcnow

CARD_ACTIONS = ("issued", "reissued", "revoked")


class BeneficiaryCard(BaseModel):
    citizen = pw.ForeignKeyField(Citizen, backref="cards", on_delete="RESTRICT")
    serial = pw.IntegerField()  # 1 for the citizen's first card, then 2, 3... (printed on the card)
    issued_at = pw.DateTimeField(default=utcnow)
    issued_by = pw.ForeignKeyField(Staff, on_delete="RESTRICT")
    revoked_at = pw.DateTimeField(null=True)
    revoked_by = pw.ForeignKeyField(Staff, null=True, on_delete="RESTRICT")
    revoked_reason = pw.CharField(max_length=300, null=True)
    replaced_by = pw.ForeignKeyField("self", null=True, on_delete="RESTRICT")

    class Meta:
        table_name = "beneficiary_card"
        indexes = ((("citizen", "serial"), True),)

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None


# one live card per citizen: a second issue while the first is live is refused by the database too (migration 0029)
BeneficiaryCard.add_index(BeneficiaryCard.index(BeneficiaryCard.citizen, unique=True, name="beneficiary_card_one_live",
                                                where=BeneficiaryCard.revoked_at.is_null()))


class CardEvent(BaseModel):
    """A step in a citizen's card history: issued, reissued (the new card; `card` the one it replaced is revoked in
    the same step) or revoked, by whom, when and why."""
    citizen = pw.ForeignKeyField(Citizen, backref="card_events", on_delete="RESTRICT")
    card = pw.ForeignKeyField(BeneficiaryCard, backref="events", on_delete="RESTRICT")
    action = pw.CharField(max_length=20)
    actor = pw.ForeignKeyField(Staff, on_delete="RESTRICT")
    reason = pw.CharField(max_length=300, null=True)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "card_event"
        indexes = ((("citizen", "id"), False),)
