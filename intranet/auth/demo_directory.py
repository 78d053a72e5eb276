"""A private OpenLDAP server (slapd) loaded with the demo staff: `make run` and the tests use it.

It is a real directory, not a mock: python-ldap's slapdtest starts slapd on loopback in a run folder of its own.
"""
import os
import socket
import tempfile
from pathlib import Path

LDIF = Path(__file__).with_name("demo_directory.ldif")
SUFFIX = "dc=diwan,dc=example"


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start(port: int | None = None, run_dir: str | None = None):
    """Start slapd with the demo LDIF; returns the running server (`.ldap_uri`, `.stop()`).

    `port`: listen there if it is free, else on any free port.
    """
    os.environ.setdefault("BIN", "/usr/bin:/usr/sbin")  # slapdtest looks for slapadd only in $BIN
    os.environ["TMP"] = run_dir or tempfile.mkdtemp(prefix="diwan-ldap-")
    os.makedirs(os.environ["TMP"], exist_ok=True)
    import slapdtest  # imported late: it reads BIN and TMP at import time

    class DemoDirectory(slapdtest.SlapdObject):
        suffix = SUFFIX
        root_cn = "admin"
        root_pw = "directory-admin"
        slapd_loglevel = "none"
        openldap_schema_files = ("core.ldif", "cosine.ldif", "inetorgperson.ldif", "nis.ldif")
        TMPDIR = os.environ["TMP"]

        def _avail_tcp_port(self):
            if port and _port_free(port):
                return port
            return super()._avail_tcp_port()

    server = DemoDirectory()
    server.run_dir = os.environ["TMP"]
    server.start()
    server.ldapadd(LDIF.read_text(encoding="utf-8"))
    return server


def ldap_settings(server) -> dict:
    """The app configuration that points sign-on at this server."""
    return {"LDAP_URL": server.ldap_uri.rstrip("/"), "LDAP_BASE_DN": SUFFIX,
            "LDAP_USER_BASE": f"ou=people,{SUFFIX}", "LDAP_GROUP_BASE": f"ou=groups,{SUFFIX}"}
