"""Directory sign-on: find the person with a search, prove the password with a bind as them, read their groups."""
from contextlib import suppress
from dataclasses import dataclass

import ldap
import ldap.filter
from flask import current_app

from intranet.models import ROLES


class DirectoryUnavailable(Exception):
    """The directory did not answer; sign-in cannot be decided."""


@dataclass
class DirectoryPerson:
    username: str
    dn: str
    full_name: str
    email: str | None
    role: str | None
    department_code: str | None
    disabled: bool = False  # the account matches LDAP_DISABLED_FILTER (the directory sync reads it: everyone())


def _connection():
    conn = ldap.initialize(current_app.config["LDAP_URL"])
    timeout = current_app.config["LDAP_TIMEOUT"]
    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, timeout)
    conn.set_option(ldap.OPT_TIMEOUT, timeout)
    conn.set_option(ldap.OPT_REFERRALS, 0)
    conn.protocol_version = ldap.VERSION3
    return conn


def _text(attrs, name):
    values = attrs.get(name) or []
    return values[0].decode("utf-8") if values else None


def _role(group_names) -> str | None:
    """The strongest role among the person's groups, mapped by configuration."""
    mapping = current_app.config["LDAP_ROLE_GROUPS"]
    roles = {mapping[name] for name in group_names if name in mapping}
    ranked = [role for role in reversed(ROLES) if role in roles]
    return ranked[0] if ranked else None


def authenticate(username: str, password: str) -> DirectoryPerson | None:
    """The person if the directory accepts the password, None if not; DirectoryUnavailable if it cannot say."""
    if not username or not password:
        return None  # an empty password would be an unauthenticated bind, which some servers call success
    cfg = current_app.config
    conn = _connection()
    try:
        conn.simple_bind_s(cfg["LDAP_BIND_DN"], cfg["LDAP_BIND_PASSWORD"])
        query = cfg["LDAP_USER_FILTER"].format(username=ldap.filter.escape_filter_chars(username))
        dept_attr = cfg["LDAP_DEPARTMENT_ATTRIBUTE"]
        found = conn.search_s(cfg["LDAP_USER_BASE"], ldap.SCOPE_SUBTREE, query,
                              ["uid", "cn", "displayName", "mail", dept_attr])
        found = [(dn, attrs) for dn, attrs in found if dn]
        if len(found) != 1:
            return None
        dn, attrs = found[0]
        try:
            conn.simple_bind_s(dn, password)
        except ldap.INVALID_CREDENTIALS:
            return None
        groups = conn.search_s(cfg["LDAP_GROUP_BASE"], ldap.SCOPE_SUBTREE,
                               cfg["LDAP_GROUP_FILTER"].format(dn=ldap.filter.escape_filter_chars(dn)), ["cn"])
        group_names = [_text(g_attrs, "cn") for g_dn, g_attrs in groups if g_dn]
        disabled = bool(cfg["LDAP_DISABLED_FILTER"]) and any(
            found_dn for found_dn, _attrs in conn.search_s(dn, ldap.SCOPE_BASE, cfg["LDAP_DISABLED_FILTER"], ["uid"]))
        return DirectoryPerson(
            username=_text(attrs, "uid") or username, dn=dn,
            full_name=_text(attrs, "displayName") or _text(attrs, "cn") or username,
            email=_text(attrs, "mail"), role=_role(group_names), department_code=_text(attrs, dept_attr),
            disabled=disabled)
    except (ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.CONNECT_ERROR) as error:
        raise DirectoryUnavailable(str(error)) from error
    except ldap.INVALID_CREDENTIALS as error:
        raise DirectoryUnavailable("the service account was refused") from error
    finally:
        with suppress(ldap.LDAPError):
            conn.unbind_s()


PAGE_SIZE = 500  # entries per page of a paged search (Active Directory answers at most 1,000 at once)


def _paged_search(conn, base, query, attributes):
    """Every entry of a subtree search, a page at a time (the simple paged results control)."""
    from ldap.controls import SimplePagedResultsControl

    control = SimplePagedResultsControl(True, size=PAGE_SIZE, cookie="")
    found = []
    while True:
        msgid = conn.search_ext(base, ldap.SCOPE_SUBTREE, query, attributes, serverctrls=[control])
        _type, data, _msgid, controls = conn.result3(msgid)
        found += [(dn, attrs) for dn, attrs in data if dn]
        cookies = [c.cookie for c in controls if c.controlType == SimplePagedResultsControl.controlType]
        if not cookies or not cookies[0]:
            return found
        control.cookie = cookies[0]


def everyone() -> dict[str, DirectoryPerson]:
    """Every person of the directory (by user name) with their role and department, read as sign-in reads one
    person (the same filters, with `*` for the user name and the member): the directory sync's view of who is who.
    DirectoryUnavailable when the directory does not answer or refuses the service account."""
    cfg = current_app.config
    conn = _connection()
    try:
        conn.simple_bind_s(cfg["LDAP_BIND_DN"], cfg["LDAP_BIND_PASSWORD"])
        dept_attr = cfg["LDAP_DEPARTMENT_ATTRIBUTE"]
        people = _paged_search(conn, cfg["LDAP_USER_BASE"], cfg["LDAP_USER_FILTER"].format(username="*"),
                               ["uid", "cn", "displayName", "mail", dept_attr])
        groups = _paged_search(conn, cfg["LDAP_GROUP_BASE"], cfg["LDAP_GROUP_FILTER"].format(dn="*"),
                               ["cn", "member"])
        disabled = set()
        if cfg["LDAP_DISABLED_FILTER"]:
            everyone_filter = cfg["LDAP_USER_FILTER"].format(username="*")
            disabled = {_normal_dn(dn) for dn, _attrs in _paged_search(
                conn, cfg["LDAP_USER_BASE"], f"(&{everyone_filter}{cfg['LDAP_DISABLED_FILTER']})", ["uid"])}
    except (ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.CONNECT_ERROR) as error:
        raise DirectoryUnavailable(_described(error)) from error
    except ldap.INVALID_CREDENTIALS as error:
        raise DirectoryUnavailable("the service account was refused") from error
    except ldap.LDAPError as error:
        raise DirectoryUnavailable(f"the directory refused the search: {type(error).__name__}") from error
    finally:
        with suppress(ldap.LDAPError):
            conn.unbind_s()
    member_of: dict[str, list[str]] = {}
    for _dn, attrs in groups:
        name = _text(attrs, "cn")
        for member in attrs.get("member") or []:
            member_of.setdefault(_normal_dn(member.decode("utf-8")), []).append(name)
    found = {}
    for dn, attrs in people:
        username = _text(attrs, "uid")
        if not username:
            continue
        found[username] = DirectoryPerson(
            username=username, dn=dn, full_name=_text(attrs, "displayName") or _text(attrs, "cn") or username,
            email=_text(attrs, "mail"), role=_role(member_of.get(_normal_dn(dn), [])),
            department_code=_text(attrs, dept_attr), disabled=_normal_dn(dn) in disabled)
    return found


def _described(error) -> str:
    """python-ldap's error as a line for the staff page ("Can't contact LDAP server: ...")."""
    detail = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
    return ": ".join(part for part in (detail.get("desc"), detail.get("info")) if part) or str(error)


def _normal_dn(dn: str) -> str:
    """A DN as compared: case and spaces between its parts do not matter."""
    try:
        return ldap.dn.dn2str(ldap.dn.str2dn(dn)).lower()
    except ldap.DECODING_ERROR:
        return dn.lower()
