"""The rule editor (issue 17), administrators only: the request types with their rule in force, and per type the
rule in words, its versions (who, when, the note) and a plain form to write a new version. "Try this version"
shows what the edited rule would have decided over the last 30 days (dry_run.py) without saving; "Save" makes a
new version (rules.save_rule). A refusal is said and nothing is saved."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from intranet.i18n import gettext as _
from flask_login import current_user

from intranet.auth import guard, permissions
from intranet.automation import controls, dry_run, rule_forms, rules, sources
from intranet.i18n import localized
from intranet.models import RequestType

bp = Blueprint("rule", __name__)


# Administrators only: they write what automation decides on.
guard.only(bp, permissions.can_edit_automation_rules)


@bp.route("/automation/rules")
def index():
    return render_template("automation/rules.html", types=controls.overview())


@bp.route("/automation/rules/<int:type_id>", methods=["GET", "POST"])
def edit(type_id):
    request_type = RequestType.get_or_none(RequestType.id == type_id) or abort(404)
    rule = rules.current_rule(request_type)
    registries = sorted(set(sources.configured()) | ({rule.registry} if rule else set()))
    trial, status = None, 200
    if request.method != "POST":  # GET, and HEAD answering as GET does
        form = rule_forms.of_rule(rule, registries)
    else:
        form, draft, refusal = rule_forms.read(request.form, registries)
        if refusal:
            flash(refusal, "error")
            status = 422
        elif request.form.get("action") == "save":
            try:
                saved = rules.save_rule(current_user, request_type, draft.registry, draft.condition_list,
                                        draft.decision, draft.amount_limit, form.note)
            except rules.RuleRefused as refused:
                flash(str(refused.args[0]), "error")
                status = 422
            else:
                flash(_("Rule v%(version)s saved for %(type)s: it decides from now on.", version=saved.version,
                        type=localized(request_type)), "success")
                return redirect(url_for("rule.edit", type_id=type_id))
        else:
            trial = dry_run.run(draft, request_type)
    return render_template("automation/rule.html", request_type=request_type, rule=rule, form=form,
                           versions=rules.versions(request_type), registries=registries, trial=trial,
                           ops=rules.OPS, window_days=dry_run.WINDOW_DAYS, limit=dry_run.LIMIT), status
