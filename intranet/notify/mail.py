"""E-mail: a notification as an RFC 5322 message, sent through SMTP (or written to a file for the demo).

Like an SMS gateway, a mailer's `send(notification)` makes one attempt and returns a `SendResult`; it keeps one
SMTP connection open across a batch (`close()` ends it). The Message-ID is derived from the notification id, so a
message resent after a crash carries the same id and mail clients show it once.

SMTP answers: 2xx accepted; a 5xx refusal of the recipient or of the message -> permanent failure; 4xx, dropped
connections, timeouts, and refusals of our own account (authentication, sender: a configuration to fix, not a
reason to give up on the citizen) -> try again later.
"""
import abc
import smtplib
import ssl
import threading
from email.message import EmailMessage
from datetime import datetime, timezone
from email.utils import format_datetime, parseaddr
from pathlib import Path

from flask import current_app, has_app_context

from intranet.config import current as current_config
from intranet.outbox import SendResult

TLS_MODES = ("none", "starttls", "ssl")


def _domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "diwan.local"


def message_id(notification, sender: str) -> str:
    return f"<notification-{notification.id}@{_domain(sender)}>"


def build_message(notification, sender: str) -> EmailMessage:
    message = EmailMessage()  # the default policy: UTF-8 headers (RFC 2047) and body as needed
    message["From"] = sender
    message["To"] = notification.recipient
    message["Subject"] = notification.subject or ""
    message["Message-ID"] = message_id(notification, sender)
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(notification.body or "", charset="utf-8")
    if getattr(notification, "language", None):  # after set_content, which drops Content-* headers
        message["Content-Language"] = notification.language
    if getattr(notification, "attachment", ""):
        _attach(message, notification.attachment)
    return message


def _attach(message: EmailMessage, path: str):
    """The file as an application/pdf part under its own name (an archived report). A relative path is within
    REPORT_ARCHIVE_DIR. A missing file raises OSError: the delivery records the attempt and tries again later."""
    file = Path(path)
    if not file.is_absolute() and has_app_context():
        file = Path(current_app.config["REPORT_ARCHIVE_DIR"]) / file
    message.add_attachment(file.read_bytes(), maintype="application", subtype="pdf", filename=file.name)


class Mailer(abc.ABC):
    name = "base"

    def __init__(self, sender: str):
        self.sender = sender

    @abc.abstractmethod
    def send(self, notification) -> SendResult:
        """One attempt at one e-mail."""

    def close(self):
        pass


class SmtpMailer(Mailer):
    name = "smtp"

    def __init__(self, host, port, sender, tls="none", username="", password="", timeout=10.0, context=None):
        if tls not in TLS_MODES:
            raise ValueError(f"SMTP_TLS must be one of {', '.join(TLS_MODES)}, not {tls!r}")
        super().__init__(sender)
        self.host, self.port, self.tls = host, int(port), tls
        self.username, self.password, self.timeout = username, password, float(timeout)
        self.context = context or ssl.create_default_context()
        self._smtp = None

    @classmethod
    def from_config(cls, config):
        return cls(config["SMTP_HOST"], config["SMTP_PORT"], config["MAIL_FROM"], config["SMTP_TLS"],
                   config["SMTP_USERNAME"], config["SMTP_PASSWORD"], config["SMTP_TIMEOUT"], config["SMTP_SSL_CONTEXT"])

    def _connect(self):
        if self.tls == "ssl":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.tls == "starttls":
                smtp.starttls(context=self.context)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def close(self):
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def send(self, notification) -> SendResult:
        if not notification.recipient or "@" not in notification.recipient:
            return SendResult.fail(f"not an e-mail address: {notification.recipient!r}")
        message = build_message(notification, self.sender)
        envelope_from = parseaddr(self.sender)[1]
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.send_message(message, from_addr=envelope_from, to_addrs=[notification.recipient])
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()), (None, b""))
            self._reset()
            detail = f"SMTP {code} {_text(text)}"
            return SendResult.fail(detail, code) if code and code >= 500 else SendResult.retry(detail, code)
        except smtplib.SMTPDataError as error:
            self._reset()
            detail = f"SMTP {error.smtp_code} {_text(error.smtp_error)}"
            if error.smtp_code >= 500:
                return SendResult.fail(detail, error.smtp_code)
            return SendResult.retry(detail, error.smtp_code)
        except smtplib.SMTPResponseException as error:  # sender refused, authentication, HELO: our side
            self.close()
            return SendResult.retry(f"SMTP {error.smtp_code} {_text(error.smtp_error)}", error.smtp_code)
        except (smtplib.SMTPException, OSError, ssl.SSLError) as error:
            self._drop()
            if isinstance(error, TimeoutError) or "timed out" in str(error):
                return SendResult.retry(f"timed out after {self.timeout:g} s")
            return SendResult.retry(f"{type(error).__name__}: {error}")
        return SendResult.ok(message["Message-ID"].strip("<>")[:100], 250)

    def _reset(self):
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError, AttributeError):
            self._drop()

    def _drop(self):
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()


def _text(value) -> str:
    return (value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)).strip()


_file_lock = threading.Lock()


class FileMailer(Mailer):
    """Each message appended to a file in mbox form (the demo): always accepted."""
    name = "file"

    def __init__(self, path, sender):
        super().__init__(sender)
        self.path = Path(path)

    @classmethod
    def from_config(cls, config):
        return cls(config["MAIL_FILE"], config["MAIL_FROM"])

    def send(self, notification) -> SendResult:
        message = build_message(notification, self.sender)
        stamp = datetime.now(timezone.utc).strftime("%a %b %d %H:%M:%S %Y")
        text = message.as_string()
        try:
            with _file_lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(f"From {parseaddr(self.sender)[1] or 'diwan'} {stamp}\n{text}\n")
        except OSError as error:
            return SendResult.retry(f"{type(error).__name__}: {error}")
        return SendResult.ok(message["Message-ID"].strip("<>")[:100])


MAILERS = {cls.name: cls for cls in (SmtpMailer, FileMailer)}


def mailer(config=None) -> Mailer:
    """The configured mailer (`MAIL_BACKEND`: smtp or file)."""
    config = current_config() if config is None else config
    name = config["MAIL_BACKEND"]
    if name not in MAILERS:
        raise ValueError(f"MAIL_BACKEND must be one of {', '.join(MAILERS)}, not {name!r}")
    return MAILERS[name].from_config(config)

