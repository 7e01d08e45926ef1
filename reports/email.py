"""The readiness email: HTML report with a plain-text alternative and the report attached.

Always written to `email.eml` beside the report; sent over SMTP only when a host is configured.
The only module that talks SMTP.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from models.operating_model import OperatingModel
from models.settings import Settings


def subject(doc: dict[str, Any]) -> str:
    from reports.render import VERDICT_WORDS

    return f"[{VERDICT_WORDS[doc['verdict']][0]}] {doc['pilot']} {doc['week']}"


def plain_text(doc: dict[str, Any]) -> str:
    from reports.render import VERDICT_WORDS

    title, sentence = VERDICT_WORDS[doc["verdict"]]
    lines = [f"{title}: {doc['pilot']} {doc['week']}", "", sentence, ""]
    failing = [r for r in doc["rules"] if r["status"] == "fail"]
    if failing:
        lines.append("Reasons:")
        lines += [f"- {r['id']}: {r['message']}" for r in failing]
    m = doc["metrics"]
    lines += [
        "",
        f"Cost per AI task: {m['cost_per_task']} USD; AI tasks: {m['ai_tasks']}; error rate: {m['error_rate']}",
    ]
    lines += ["", "The full report is attached (readiness.html)."]
    return "\n".join(lines) + "\n"


def build_message(doc: dict[str, Any], html: str, model: OperatingModel) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject(doc)
    message["From"] = model.report.sender or "pilot-readiness@localhost"
    message["To"] = ", ".join(model.report.recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="pilot-readiness")
    message.set_content(plain_text(doc))
    message.add_alternative(html, subtype="html")
    message.add_attachment(
        html.encode("utf-8"), maintype="text", subtype="html", filename="readiness.html"
    )
    return message


def deliver(message: EmailMessage, settings: Settings) -> dict[str, Any]:
    """Send the message; return the `email` block of readiness.json (never with secrets)."""
    if not settings.smtp_host:
        return {"status": "not_configured", "error": None}
    if not message["To"]:
        return {"status": "failed", "error": "no recipients in report.recipients"}
    try:
        context = ssl.create_default_context()
        smtp_class = smtplib.SMTP_SSL if settings.smtp_security == "ssl" else smtplib.SMTP
        kwargs: dict[str, Any] = {"timeout": 30}
        if settings.smtp_security == "ssl":
            kwargs["context"] = context
        with smtp_class(settings.smtp_host, settings.smtp_port, **kwargs) as smtp:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=context)
            if settings.smtp_username and settings.smtp_password:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
        if settings.smtp_password:
            error = error.replace(settings.smtp_password.get_secret_value(), "***")
        return {"status": "failed", "error": error}
    return {"status": "sent", "error": None}


def write_eml(message: EmailMessage, folder: Path) -> Path:
    from reports.render import write_atomic

    path = folder / "email.eml"
    write_atomic(path, message.as_bytes())
    return path
