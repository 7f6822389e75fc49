"""Email digest: one message per member of their unread, not yet emailed notifications; never sent without SMTP.

Run it from a scheduler (cron, a Heroku Scheduler job...): `python -m server.actions.digest`.
Only kinds a member switched email on for are included (email is opt-in, per kind), and only
while KINDRED_SMTP_URL is set, e.g. smtp://mail.example.org:25, smtp://user:pass@host:587?starttls=1
or smtps://host:465.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg

from server import i18n
from server.actions import events
from server.actions.notifications import describe
from server.db.queries import notifications
from server.db.queries.notifications import DigestRecipient, Notification
from server.i18n import _
from server.settings import Settings

log = logging.getLogger(__name__)
SMTP_TIMEOUT = 30


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpConfig:
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ValueError("KINDRED_SMTP_URL must look like smtp://host:port or smtps://host:port")
    implicit = parts.scheme == "smtps"
    options = parse_qs(parts.query)
    return SmtpConfig(
        host=parts.hostname,
        port=parts.port or (465 if implicit else 25),
        implicit_tls=implicit,
        starttls=options.get("starttls", ["0"])[0] in {"1", "true", "yes"},
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def compose(recipient: DigestRecipient, rows: list[Notification], settings: Settings) -> EmailMessage:
    """A plain-text digest in the member's language: one line and one link per notification."""
    previous = (i18n.current_language(), i18n.current_time_zone())
    i18n.set_request_locale(recipient.language if recipient.language in i18n.SUPPORTED_LANGUAGES else "en", "UTC")
    try:
        origin = settings.site_origin.rstrip("/")
        lines = [_("Hello %(name)s,") % {"name": recipient.display_name}, ""]
        lines.append(
            i18n.ngettext(
                "You have %(num)d new notification on Kindred:",
                "You have %(num)d new notifications on Kindred:",
                len(rows),
            )
            % {"num": len(rows)}
        )
        lines.append("")
        for row in rows:
            item = describe(row)
            lines += [f"- {item.text}", f"  {origin}{item.url}"]
        lines += [
            "",
            _("Change which emails you receive: %(url)s") % {"url": f"{origin}/notifications#preferences"},
        ]
        message = EmailMessage()
        message["Subject"] = i18n.ngettext(
            "Kindred: %(num)d new notification", "Kindred: %(num)d new notifications", len(rows)
        ) % {"num": len(rows)}
        host = urlsplit(origin).hostname or "localhost"
        message["From"] = formataddr(("Kindred", f"notifications@{host}"))
        message["To"] = formataddr((recipient.display_name, recipient.email))
        message["Message-ID"] = make_msgid(domain=host)
        message.set_content("\n".join(lines))
        return message
    finally:
        i18n.set_request_locale(*previous)


def _deliver(config: SmtpConfig, message: EmailMessage) -> None:
    """Blocking SMTP conversation (run in a worker thread)."""
    smtp: smtplib.SMTP
    if config.implicit_tls:
        smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=SMTP_TIMEOUT, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(config.host, config.port, timeout=SMTP_TIMEOUT)
    with smtp:
        if config.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if config.username:
            smtp.login(config.username, config.password or "")
        smtp.send_message(message)


async def send_digests(connection: asyncpg.Connection, settings: Settings) -> int:
    """Send every pending digest; returns how many emails went out. Nothing at all without settings.smtp_url."""
    if not settings.smtp_url:
        return 0
    config = parse_smtp_url(settings.smtp_url)
    sent = 0
    for recipient in await notifications.digest_recipients(connection):
        try:
            # The rows stay locked until the email is accepted, so two senders never send one twice,
            # and a failed send leaves them un-emailed for the next run.
            async with events.unit_of_work(connection):
                rows = await notifications.claim_for_digest(connection, recipient.user_id)
                if not rows:
                    continue
                await asyncio.to_thread(_deliver, config, compose(recipient, rows, settings))
                await notifications.mark_emailed(connection, [row.id for row in rows])
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("digest for user %s not sent: %s", recipient.user_id, exc)
            continue
        sent += 1
    return sent


async def _main() -> int:
    from server.db.pool import connect

    settings = Settings.from_env()
    if not settings.smtp_url:
        print("KINDRED_SMTP_URL is not set: no email is sent.")
        return 0
    if not settings.database_url:
        print("DATABASE_URL is not set.", file=sys.stderr)
        return 2
    connection = await connect(settings.database_url)
    try:
        count = await send_digests(connection, settings)
    finally:
        await connection.close()
    print(f"{count} digest(s) sent.")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(_main()))
