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
        return DirectoryPerson(
            username=_text(attrs, "uid") or username, dn=dn,
            full_name=_text(attrs, "displayName") or _text(attrs, "cn") or username,
            email=_text(attrs, "mail"), role=_role(group_names), department_code=_text(attrs, dept_attr))
    except (ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.CONNECT_ERROR) as error:
        raise DirectoryUnavailable(str(error)) from error
    except ldap.INVALID_CREDENTIALS as error:
        raise DirectoryUnavailable("the service account was refused") from error
    finally:
        with suppress(ldap.LDAPError):
            conn.unbind_s()
