"""Command line: `diwan db upgrade`, `diwan load-definitions`, `diwan seed-demo`, `diwan demo`, `diwan stats recount-open-work`
(also under `flask`)."""
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from intranet import db


@click.group("db")
def db_group():
    """Schema migrations."""


@db_group.command("upgrade")
@with_appcontext
def upgrade_command():
    """Apply pending migrations."""
    with db.database.connection_context():
        applied = db.upgrade()
        click.echo(f"applied {applied}" if applied else "schema is current")
        click.echo(f"schema version {db.current_version()}")


@db_group.command("version")
@with_appcontext
def version_command():
    """Print the schema version of the database and of the code."""
    with db.database.connection_context():
        click.echo(f"database {db.current_version()}, code {db.latest_version()}")


@click.command("load-definitions")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), default=None)
@with_appcontext
def load_definitions_command(path):
    """Insert or update departments, governorates and request types from the definition file."""
    from intranet import definitions

    with db.database.connection_context():
        counts = definitions.load(path or current_app.config["REQUEST_TYPES_FILE"])
    click.echo(", ".join(f"{count} {name}" for name, count in counts.items()))


@click.command("export-definitions")
@click.option("--file", "path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the file here (default: print it).")
@with_appcontext
def export_definitions_command(path):
    """Write the departments, governorates, request types (their current versions) and inquiry subjects in the
    database as the definitions file that `load-definitions` reads (issue 20: keep procedures under version control)."""
    from pathlib import Path

    from intranet import definitions

    with db.database.connection_context():
        text = definitions.dump()
    if path:
        Path(path).write_text(text, encoding="utf-8")
        click.echo(f"definitions written to {path}")
    else:
        click.echo(text, nl=False)


@click.group("audit")
def audit_group():
    """The audit chains: the payouts' audit trail and the requests' history."""


@audit_group.command("verify")
@with_appcontext
def audit_verify():
    """Recompute both keyed chains and check them against the anchors; exit 1 and name the first entry that does
    not fit."""
    from intranet import history_chain
    from intranet.payouts import audit

    with db.database.connection_context():
        verdict = audit.verify()
        history = history_chain.verify()
    if verdict.ok:
        click.echo(f"audit trail intact: {verdict.checked} entries ({verdict.legacy} from before the key), "
                   f"checked against {verdict.anchors} anchors")
    else:
        where = f"at entry {verdict.broken_at} " if verdict.broken_at is not None else ""
        click.echo(f"audit trail BROKEN {where}({verdict.reason}); "
                   f"{verdict.checked} entries before it are intact", err=True)
    if history.ok:
        click.echo(f"history intact: {history.checked} rows ({history.legacy} from before the key), "
                   f"checked against {history.anchors} anchors")
    else:
        where = f"at history row {history.broken_at} " if history.broken_at is not None else ""
        of = f"of request {history.request_id} " if history.request_id is not None else ""
        click.echo(f"history BROKEN {where}{of}({history.reason}); {history.checked} rows checked before it",
                   err=True)
    if not (verdict.ok and history.ok):
        raise SystemExit(1)


@audit_group.command("anchor")
@with_appcontext
def audit_anchor():
    """Write both chains' heads to the anchors file in the report archive (the evening job does it too)."""
    from intranet import anchors, chain

    try:
        with db.database.connection_context():
            record = anchors.write_anchor()
    except OSError as error:
        click.echo(f"cannot write the anchor to {chain.anchors_path()}: {error}", err=True)
        raise SystemExit(1) from None
    click.echo(f"anchored in {chain.anchors_path()}: audit trail at entry {record['payout_audit']['id']} "
               f"({record['payout_audit']['hash'][:16] or '-'}), history at row {record['history']['id']} "
               f"({record['history']['count']} rows)")


@click.group("stats")
def stats_group():
    """The summary tables behind the dashboard and the printed summaries."""


@stats_group.command("recount-open-work")
@click.option("--check", is_flag=True, help="Compare only: exit 1 when the counts and the requests disagree.")
@with_appcontext
def recount_open_work(check):
    """Count the open work again from the requests (after rows were written past the workflow: a bulk load, a
    restore by hand); with --check, only say whether the kept counts agree."""
    from intranet.stats import open_work

    with db.database.connection_context():
        if check:
            wrong = open_work.differences()
            for key, (kept, counted) in sorted(wrong.items())[:20]:
                click.echo(f"{key}: kept {kept}, counted {counted}", err=True)
            click.echo(f"open work: {len(wrong)} counts disagree with the requests" if wrong
                       else "open work: the counts agree with the requests")
            if wrong:
                raise SystemExit(1)
            return
        wrong = open_work.recount()
    click.echo(f"open work counted again: {wrong} counts were wrong")


@click.group("registry")
def registry_group():
    """Local registries of automatic decisions (issue 17)."""


@registry_group.command("load")
@click.argument("code")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def registry_load(code, path):
    """Load a CSV or XLSX file (national_id and fact columns) into the local registry CODE."""
    from pathlib import Path

    from intranet.automation import registry_files
    from intranet.intake.imports import FileRefused

    try:
        kind = registry_files.kind_of(path)
        with db.database.connection_context():
            count = registry_files.load(code, Path(path).read_bytes(), kind)
    except FileRefused as refused:
        click.echo(str(refused.args[0]), err=True)
        raise SystemExit(1) from None
    click.echo(f"registry {code}: {count} people loaded")


@click.command("check-config")
@with_appcontext
def check_config_command():
    """Refuse settings unsafe in production (weak keys, cookies without Secure, LDAP without TLS, SQLite on several
    hosts); exit 1 when anything is refused."""
    from intranet.ops import check_config

    found = check_config.findings(current_app.config)
    for finding in found:
        click.echo(str(finding), err=finding.refused)
    refused = sum(finding.refused for finding in found)
    if refused:
        click.echo(f"{refused} setting(s) refused: fix them before serving production", err=True)
        raise SystemExit(1)
    click.echo(f"configuration fit for production ({current_app.config['HOSTS']} host(s))")


@click.command("backup")
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup_command(target):
    """Back up the database, attachments, payout files and report archive into the new folder TARGET, with a
    manifest of SHA-256 checksums (the keys are not included: keep them apart)."""
    from intranet.ops import backup

    try:
        manifest = backup.backup(target)
    except backup.BackupError as error:
        click.echo(f"backup refused: {error}", err=True)
        raise SystemExit(1) from None
    rows = sum(manifest["counts"].values())
    click.echo(f"backed up into {target}: {manifest['backend']} schema {manifest['schema_version']}, "
               f"{rows} rows in {len(manifest['counts'])} tables, {len(manifest['files'])} files")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def restore_command(source):
    """Restore the backup in SOURCE into this empty instance (checksums verified first; refused if the database
    has tables or the file folders hold files)."""
    from intranet.ops import backup

    try:
        manifest = backup.restore(source)
    except backup.BackupError as error:
        click.echo(f"restore refused: {error}", err=True)
        raise SystemExit(1) from None
    click.echo(f"restored from {source}: schema {manifest['schema_version']}, "
               f"{sum(manifest['counts'].values())} rows, {len(manifest['files'])} files, every checksum verified")


@click.command("directory-sync")
@with_appcontext
def directory_sync_command():
    """Read the directory once and apply its changes to the staff (the sync of the staff page; in production
    deploy/systemd/diwan-directory-sync.timer runs it on one host); exit 1 when the directory did not answer."""
    from intranet.staff import sync

    with db.database.connection_context():
        run = sync.run()
    if run.error:
        click.echo(f"directory sync {run.id} changed nothing: {run.error}", err=True)
        raise SystemExit(1)
    click.echo(f"directory sync {run.id}: {run.checked} people checked, {run.changes} changed")


def register(app):
    from intranet.demo import demo_command
    from intranet.seed import seed_demo_command

    for command in (db_group, audit_group, stats_group, registry_group, load_definitions_command, export_definitions_command, seed_demo_command, demo_command,
                    check_config_command, backup_command, restore_command, directory_sync_command):
        app.cli.add_command(command)


def _create_app_for_cli():
    from intranet import create_app
    # the commands that fix a database must start on one that is behind
    return create_app({"CHECK_SCHEMA": False})


main = FlaskGroup(create_app=_create_app_for_cli, add_default_commands=False,
                  help="Diwan intranet commands.")
