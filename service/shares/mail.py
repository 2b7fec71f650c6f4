"""Email through SMTP (FIELDNAV_SMTP_*): STARTTLS on 587 by default, implicit TLS on 465, or
none for a relay on the host. Plain text, UTF-8.

A recipient the server refuses, or any 5xx answer, is permanent (dead at once); a 4xx
(greylisting, a full queue) or a network error is tried again.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from service.platform.settings import SmtpSettings
from service.shares.sending import DELIVERED, Attempt


def message(to: str, subject: str, body: str, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">") or None)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to it
    mail.set_content(body)
    return mail


def send(to: str, subject: str, body: str, settings: SmtpSettings) -> Attempt:
    if not (settings.host and settings.sender):
        return Attempt("email is not configured (FIELDNAV_SMTP_HOST, _FROM)")
    mail = message(to, subject, body, settings.sender)
    try:
        if settings.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout_s, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)
        with client:
            if settings.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.username:
                client.login(settings.username, settings.password.get_secret_value() if settings.password else "")
            client.send_message(mail)
    except smtplib.SMTPRecipientsRefused:
        return Attempt("recipient refused", permanent=True)
    except smtplib.SMTPResponseException as error:
        return Attempt(f"SMTP {error.smtp_code}", permanent=500 <= error.smtp_code < 600)
    except (smtplib.SMTPException, OSError) as error:
        return Attempt(type(error).__name__)
    return DELIVERED
