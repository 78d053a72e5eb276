"""The banks' CSV layouts as data (issue 20): administrators edit them on the reference data pages instead of in
INTRANET_PAYOUT_BANK_PROFILES. The upgrade imports what was configured (the setting, checked by the one rule in
`payouts/bank_profiles.py`; when empty, the two built-in layouts) as the table's first rows; after it the setting is
not read again (`diwan check-config` says so when it is still set)."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "bank_profile" ("id" INTEGER NOT NULL PRIMARY KEY, "code" VARCHAR(30) NOT NULL, "label" VARCHAR(200) NOT NULL, "columns" VARCHAR(400) NOT NULL, "delimiter" VARCHAR(2) NOT NULL, "encoding" VARCHAR(20) NOT NULL, "header" INTEGER NOT NULL, "active" INTEGER NOT NULL)',
]

POSTGRESQL = [
    'CREATE TABLE "bank_profile" ("id" SERIAL NOT NULL PRIMARY KEY, "code" VARCHAR(30) NOT NULL, "label" VARCHAR(200) NOT NULL, "columns" VARCHAR(400) NOT NULL, "delimiter" VARCHAR(2) NOT NULL, "encoding" VARCHAR(20) NOT NULL, "header" BOOLEAN NOT NULL, "active" BOOLEAN NOT NULL)',
]

COMMON = [
    'CREATE UNIQUE INDEX "bank_profile_code" ON "bank_profile" ("code")',
]


def insert(db, profiles) -> None:
    """Rows for these layouts (`bank_profiles.BankProfile`, already checked), offered for new batches."""
    sql = ('INSERT INTO "bank_profile" ("code", "label", "columns", "delimiter", "encoding", "header", "active") '
           'VALUES ({0}, {0}, {0}, {0}, {0}, {0}, {0})').format(db.param)
    for profile in profiles:
        db.execute_sql(sql, (profile.key, profile.label, ",".join(profile.columns), profile.delimiter,
                             profile.encoding, bool(profile.header), True))


def up(db):
    from intranet.config import setting
    from intranet.payouts import bank_profiles

    run(db, SQLITE, POSTGRESQL, COMMON)
    insert(db, bank_profiles.parse(setting("PAYOUT_BANK_PROFILES")).values())
