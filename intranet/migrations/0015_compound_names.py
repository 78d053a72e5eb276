"""Name search joins a compound name's head to the next word (عبد الله and عبدالله index alike, intranet.i18n
.name_words): every citizen's folded name is written again where it changed. No schema change: SQLite's FTS5
triggers and PostgreSQL's generated tsvector follow the column."""
BATCH = 5000


def up(db):
    from intranet.i18n import search_text

    p, last = db.param, 0
    while True:
        rows = db.execute_sql(f'SELECT "id", "full_name", "name_search" FROM "citizen" WHERE "id" > {p} '
                              f'ORDER BY "id" LIMIT {BATCH}', (last,)).fetchall()
        if not rows:
            return
        changed = [(text, row_id) for row_id, name, old in rows if (text := search_text(name)) != old]
        if changed:
            db.cursor().executemany(f'UPDATE "citizen" SET "name_search" = {p} WHERE "id" = {p}', changed)
        last = rows[-1][0]
