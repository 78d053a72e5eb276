"""The rule editor's form (issue 17), plain HTML that works without JavaScript: rows of fact / comparison / value
(a few empty rows offered beyond the rule's own), the amount limit, the decision, the registry among those
configured (REGISTRIES) and a note. `read(form, registries)` turns what was posted into a checked rules.Draft (the
one check save_rule makes) and the rows to show again; `rows_of(rule)` gives a saved rule's rows.

A value is typed as a person writes it: yes/no (نعم/لا, true/false) is a yes-or-no fact, a number is a number,
anything else is text; "is one of" takes values separated by commas."""
import dataclasses
import decimal

from intranet.i18n import lazy_gettext as _l

from intranet.automation import rules

EMPTY_ROWS = 3  # empty condition rows offered beyond the rule's own
MAX_ROWS = rules.MAX_CONDITIONS + EMPTY_ROWS
YES, NO = ("yes", "true", "نعم"), ("no", "false", "لا")


@dataclasses.dataclass
class Row:
    fact: str = ""
    op: str = "is_true"
    value: str = ""


@dataclasses.dataclass
class RuleForm:
    registry: str = ""
    decision: str = "accept_stage"
    amount_limit: str = ""
    note: str = ""
    rows: list = dataclasses.field(default_factory=list)


def typed(text: str):
    """One value as the rule stores it: True/False, an int or a float, or the text."""
    text = text.strip()
    if text.casefold() in YES:
        return True
    if text.casefold() in NO:
        return False
    try:
        number = decimal.Decimal(text)
    except decimal.InvalidOperation:
        return text
    if not number.is_finite() or abs(number) >= 10**15:
        return text
    return int(number) if number == number.to_integral_value() and "." not in text else float(number)


def shown(value) -> str:
    """A stored value as the form shows it (the inverse of `typed`)."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(shown(item) for item in value)
    return str(value)


def padded(rows: list) -> list:
    """The rows with the empty ones offered after them."""
    return list(rows) + [Row() for _ in range(EMPTY_ROWS)]


def of_rule(rule, registries: list) -> RuleForm:
    """The form filled with the rule in force (a type without one: the first configured registry, no rows)."""
    if rule is None:
        return RuleForm(registry=registries[0] if registries else "", rows=padded([]))
    rows = [Row(c["fact"], c["op"], shown(c.get("value"))) for c in rule.condition_list]
    limit = "" if rule.amount_limit is None else f"{decimal.Decimal(str(rule.amount_limit)).normalize():f}"
    return RuleForm(rule.registry, rule.decision, limit, "", padded(rows))


def _field(form, name: str, max_length: int = 200) -> str:
    value = form.get(name, "")
    return value.strip()[:max_length] if isinstance(value, str) else ""


def read(form, registries: list) -> tuple[RuleForm, rules.Draft | None, str]:
    """What was posted: the form to show again, the checked draft (None when refused) and the refusal's words."""
    posted = RuleForm(_field(form, "registry", 40), _field(form, "decision", 20), _field(form, "amount_limit", 40),
                      _field(form, "note", 2000))
    conditions = []
    for n in range(MAX_ROWS):
        row = Row(_field(form, f"fact-{n}", 60), _field(form, f"op-{n}", 20) or "is_true", _field(form, f"value-{n}"))
        if not row.fact and not row.value:
            continue
        posted.rows.append(row)
        if row.op == "in":
            value = [typed(item) for item in row.value.split(",") if item.strip()]
        elif row.op == "is_true":
            value = None
        else:
            value = typed(row.value) if row.value else None
        conditions.append({"fact": row.fact, "op": row.op, "value": value})
    posted.rows = padded(posted.rows)
    if posted.registry not in registries:
        return posted, None, str(_l("Choose one of the configured registries."))
    try:
        return posted, rules.draft(posted.registry, conditions, posted.decision, posted.amount_limit), ""
    except rules.RuleRefused as refused:
        return posted, None, str(refused.args[0])
