"""Everything templates see beyond what a view hands them, registered in this one place.

Words for codes (statuses, channels, events...) come from the module that owns the codes; this module only puts
them in front of the templates, so a newcomer looking for "where does STATUS_LABELS come from" finds it here, and
no two features can register the same name with different meanings (a test checks the names stay unique).
Language and right-to-left helpers are registered by `i18n.init_app`, next to Babel.
"""
from types import BuiltinFunctionType, FunctionType, MethodType

from flask import g
from flask import templating as flask_templating
from jinja2 import pass_eval_context
from jinja2.runtime import Context
from markupsafe import Markup

from intranet import fragments, interviews, nav
from intranet import calendar as day_calendar
from intranet.admin import changes as admin_changes
from intranet.admin import type_forms as admin_type_forms
from intranet.admin import types as admin_types
from intranet.admin import reference as admin_reference
from intranet.auth import delegations, mfa, permissions
from intranet.auth.sessions import SECURITY_EVENT_LABELS
from intranet.automation import explain as automation_explain
from intranet.cards import service as card_service
from intranet.automation import dry_run as automation_dry_run
from intranet.automation import figures as automation_figures
from intranet.automation import rules as automation_rules
from intranet.i18n import LANGUAGE_LABELS, in_other_language, translations
from intranet.intake.import_forms import IMPORT_STATUS_LABELS
from intranet.intake.portal_client_forms import DELIVERY_STATUS_LABELS, INBOX_STATUS_LABELS, SCOPE_LABELS
from intranet.letters import register as letter_register
from intranet.letters import service as letter_service
from intranet.models.tickets import SERVICE_LETTERS, SERVICES
from intranet.notify import wording
from intranet.notify.staff import delivery_error
from intranet.payouts import labels as payout_labels
from intranet.queues import approvals, filters, transfers
from intranet.queues import labels as queue_labels
from intranet.queues import rows as queue_rows
from intranet.queues import request_page
from intranet.reception import bookings, tickets
from intranet.reports import pdf
from intranet.reports.forms import KIND_LABELS
from intranet.security_headers import csp_nonce
from intranet.staff import sync as staff_sync


class Environment(flask_templating.Environment):
    """Flask's Jinja environment, each template's globals one plain dict (issue 21): Jinja's ChainMap of the
    template's and the environment's was copied into every page's context a name at a time, a tenth of a
    millisecond a page. Globals are all registered at start (init_app, before any template is loaded), as Jinja
    asks of them; a template's own globals still come first."""

    def make_globals(self, d):
        return {**self.globals, **(d or {})}


def this_session():
    """The id of the sign-in session this page is served to (the sessions pages mark it)."""
    return g.get("staff_session_id")


GLOBALS = {
    # every permission, as templates ask it: may.see_payouts(current_user), may.allowed_actions(req, current_user)
    "may": permissions.for_templates(),
    "second_factor_required": mfa.required,
    "this_session": this_session,
    "csp_nonce": csp_nonce,
    # requests and queues
    "ACTION_LABELS": queue_labels.ACTION_LABELS, "HISTORY_LABELS": queue_labels.HISTORY_LABELS,
    "DECIDER_LABELS": approvals.DECIDER_LABELS,  # who alone decides a stage that requires a role
    "STATUS_LABELS": queue_labels.STATUS_LABELS, "CHANNEL_LABELS": queue_labels.CHANNEL_LABELS,
    "SLA_LABELS": queue_labels.SLA_LABELS, "ACTION_KEYS": queue_labels.ACTION_KEYS,
    "document_name": queue_labels.document_name,
    "sla_text": queue_labels.sla_text, "sla_badge": queue_labels.sla_badge,  # where a request stands, in words
    "TABS": filters.TABS, "AGES": filters.AGES, "SORTS": filters.SORTS, "sla_state": filters.sla_state,
    "empty_filters": filters.QueueFilters,
    "queue_rows": queue_rows.html,  # queue rows as HTML, each rendered once for what it shows (issue 21)
    "transfer_targets": transfers.transfer_targets,  # the departments a misrouted request may be sent to
    "department_name": transfers.department_name,
    # an interview request's interview, in the office's time (templates/queues/_interview.html)
    "interview_when": interviews.when_text, "interview_input": interviews.input_value,
    # citizens' messages and their delivery
    "MESSAGE_EVENT_LABELS": wording.EVENT_LABELS, "MESSAGE_CHANNEL_LABELS": wording.CHANNEL_LABELS,
    "PLACEHOLDER_LABELS": wording.PLACEHOLDER_LABELS, "LANGUAGE_LABELS": LANGUAGE_LABELS,
    "delivery_error": delivery_error,
    # visitor tickets
    "SERVICES": SERVICES, "SERVICE_LETTERS": SERVICE_LETTERS, "SERVICE_LABELS": tickets.SERVICE_LABELS,
    "TICKET_STATUS_LABELS": tickets.STATUS_LABELS, "TICKET_ACTION_LABELS": tickets.ACTION_LABELS,
    "ticket_actions": tickets.allowed_actions, "in_other_language": in_other_language,
    "CARD_ACTION_LABELS": card_service.ACTION_LABELS,  # beneficiary cards (issue 19)
    # appointments at reception (issue 19)
    "BOOKING_STATUS_LABELS": bookings.STATUS_LABELS, "OVERRIDE_LABELS": bookings.OVERRIDE_LABELS,
    "booking_time": bookings.local_time, "CHECK_IN_LABEL": bookings.CHECK_IN_LABEL,
    "WEEKDAY_LABELS": bookings.WEEKDAY_LABELS, "desk_home": bookings.desk_home, "called_text": bookings.called_text,
    # payouts
    "PAYOUT_STATUS_LABELS": payout_labels.PAYOUT_STATUS_LABELS, "BATCH_STATUS_LABELS": payout_labels.BATCH_STATUS_LABELS,
    "EXPORT_PHASE_LABELS": payout_labels.EXPORT_PHASE_LABELS, "ITEM_OUTCOME_LABELS": payout_labels.ITEM_OUTCOME_LABELS,
    "AUDIT_ACTION_LABELS": payout_labels.AUDIT_ACTION_LABELS,
    # electronic intake
    "IMPORT_STATUS_LABELS": IMPORT_STATUS_LABELS, "SCOPE_LABELS": SCOPE_LABELS,
    "INBOX_STATUS_LABELS": INBOX_STATUS_LABELS, "DELIVERY_STATUS_LABELS": DELIVERY_STATUS_LABELS,
    # the staff lifecycle (issue 18): what the directory sync found, who ran it, the roles' names
    "STAFF_CHANGE_LABELS": staff_sync.CHANGE_LABELS, "SYNC_TRIGGER_LABELS": staff_sync.TRIGGER_LABELS,
    "ROLE_LABELS": staff_sync.ROLE_LABELS,
    # staff security and reports
    "SECURITY_EVENT_LABELS": SECURITY_EVENT_LABELS, "KIND_LABELS": KIND_LABELS, "wait_text": pdf.wait_text,
    # letters to ministries: the letter part of a ministry-letter request's panel (None for other types)
    "letter_panel": letter_service.panel, "LETTER_STATUS_LABELS": letter_register.STATUS_LABELS,
    # automatic decisions (issue 17): a request's decision in words (templates/queues/_automation.html)
    "automation_explained": automation_explain.explain, "AUTOMATION_OUTCOME_LABELS": automation_explain.OUTCOME_LABELS,
    "AUTOMATION_REVIEW_LABELS": automation_explain.REVIEW_LABELS,
    # the rule editor, its dry run and the decisions page (issue 17)
    "AUTOMATION_REASON_LABELS": automation_explain.REASON_LABELS, "AUTOMATION_OP_LABELS": automation_rules.OP_LABELS,
    "AUTOMATION_DECISION_LABELS": automation_rules.DECISION_LABELS, "automation_fact_label": automation_explain.fact_label,
    "automation_registry_label": automation_explain.registry_label, "automation_rule_words": automation_explain.rule_words,
    "DRY_RUN_WOULD_LABELS": automation_dry_run.WOULD_LABELS, "DRY_RUN_ACTUAL_LABELS": automation_dry_run.ACTUAL_LABELS,
    "DRY_RUN_SKIP_LABELS": automation_dry_run.SKIP_LABELS,
    "AUTOMATION_REVIEW_FILTER_LABELS": automation_figures.REVIEW_FILTER_LABELS,
    # administration (issue 20): the subjects of the administration history
    "ADMIN_SUBJECT_LABELS": admin_changes.SUBJECT_LABELS,
    "TYPE_FIELD_KIND_LABELS": admin_types.KIND_LABELS,  # the request type editor's kinds of field
    "type_choices_text": admin_type_forms.choices_text,  # a choice field's options as the editor shows them
    # delegation (issue 18): what is delegated, how it stands, and whom the signed-in person acts for today
    "DELEGATION_SCOPE_LABELS": delegations.SCOPE_LABELS, "DELEGATION_STATE_LABELS": delegations.STATE_LABELS,
    "DELEGATION_LIST_LABELS": delegations.LIST_LABELS, "delegation_state": delegations.state,
    "delegations_held": delegations.active_for,
    "main_nav": nav.html,  # the header's links (intranet/nav.py)
    "kept": fragments.kept,  # a template rendered with its values alone, once for each (intranet/fragments.py)
    # issue 20: calendar or working days (the calendar page, the dashboard, the daily summary); reference data kinds
    "DAY_COUNTING_LABELS": day_calendar.COUNTING_LABELS, "REFERENCE_KIND_TITLES": admin_reference.KIND_TITLES,
    "working_day_types": day_calendar.working_day_types,
}
FILTERS = {"money": payout_labels.format_amount, "css_string": pdf.css_string,
           # datetimeformat and dateformat, each moment and day formatted once (issue 21)
           "datetime_text": request_page.datetime_text, "date_text": request_page.date_text}


_EVAL_CONTEXT = pass_eval_context(lambda: None).jinja_pass_arg  # Jinja's mark for "hand me the evaluation context"


class _Context(Context):
    """Jinja's context, calling a function or method that takes no context or environment (no pass_context mark;
    a built-in never has one) without asking it, and what its __call__ would be, for the mark twice over, and a
    function that takes the evaluation context (pass_eval_context: the templates' _()) with it: a page's templates
    make some hundred calls (issue 21). Anything else (a macro, a callable object, a function that takes the
    context, which Jinja derives anew for each call inside a loop) is called as Jinja calls it."""

    def call(__self, __obj, *args, **kwargs):  # noqa: N805 (Jinja's own signature)
        kind = type(__obj)
        if kind is FunctionType:
            mark = __obj.__dict__.get("jinja_pass_arg")
            if mark is _EVAL_CONTEXT:
                args = (__self.eval_ctx, *args)
            elif mark is not None:
                return super().call(__obj, *args, **kwargs)
        elif not (kind is BuiltinFunctionType or (
                kind is MethodType and "jinja_pass_arg" not in getattr(__obj.__func__, "__dict__", {}))):
            return super().call(__obj, *args, **kwargs)
        kwargs.pop("_block_vars", None)
        kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:
            return __self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception")


@pass_eval_context
def template_gettext(eval_context, string: str, **variables) -> str:
    """The templates' _() and gettext(): what Jinja's i18n extension installs (newstyle: the text is Markup in an
    escaping template, then always formatted with `variables`, escaped), in one call instead of three. Its `_` asked
    the context for `gettext`, which asked the context to call the function given to install_gettext_callables
    (inside a loop, each of the two with a context derived for the call), and then formatted even a text with
    nothing to fill: some 20 a request page, a twentieth of its time (issue 21)."""
    text = translations().ugettext(string)
    if eval_context.autoescape:
        text = Markup(text)
    return text % variables if variables or "%" in text else text


def init_app(app):
    clash = (set(GLOBALS) | set(FILTERS)) & (set(app.jinja_env.globals) | set(app.jinja_env.filters))
    if clash:  # a second meaning for a name a template already uses
        raise RuntimeError(f"template names registered twice: {sorted(clash)}")
    app.jinja_env.context_class = _Context
    app.jinja_env.globals.update(GLOBALS)
    app.jinja_env.filters.update(FILTERS)
    # the templates' ngettext() and the rest as flask-babel installs them (i18n.init_app), with its translations
    # looked up once a request (i18n.translations); _() and gettext() then in one call (template_gettext)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True)
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext)  # the same, in one call
