"""E-mail for reservations: a confirmation when a resident books with an e-mail address, and a
reminder before the slot. Sent with aiosmtplib to the SMTP server in Settings (``smtp_*``); with
no ``smtp_host`` nothing is sent and nothing is queued.

A booking never waits for the mail server: ``spawn`` sends in a task and ``drain`` waits for
those tasks (tests, shutdown). A failed send is one log line with the booking id, never the
address.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from .reservations import JST, display_code

log = logging.getLogger("yakuba.consult.mail")

_WEEK_JA = "月火水木金土日"


@dataclass(frozen=True)
class MailConfig:
    host: str
    port: int = 25
    sender: str = "yakuba@localhost"
    starttls: bool = False
    user: str | None = None
    password: str | None = None
    timeout_s: float = 20.0

    @classmethod
    def from_settings(cls, s) -> "MailConfig | None":
        if not s.smtp_host:
            return None
        return cls(s.smtp_host, s.smtp_port, s.smtp_from or f"yakuba@{s.smtp_host}", s.smtp_starttls,
                   s.smtp_user, s.smtp_password.get_secret_value() if s.smtp_password else None)


@dataclass(frozen=True)
class MailFacts:
    """What a message says: ids and times, the topic's names, the code, where to go."""

    booking_id: int
    to: str
    code: str
    lang: str
    topic_ja: str
    topic_en: str
    start: datetime
    end: datetime
    page_url: str  # the reservation page with the code, to check or cancel
    ics: bytes


def when_text(start: datetime, end: datetime, lang: str) -> str:
    a, b = start.astimezone(JST), end.astimezone(JST)
    if lang == "en":
        return f"{a:%a %d %b %Y}, {a:%H:%M}–{b:%H:%M} (Japan time)"
    return f"{a.year}年{a.month}月{a.day}日({_WEEK_JA[a.weekday()]}) {a:%H:%M}〜{b:%H:%M}"


def build_message(kind: str, f: MailFacts, sender: str) -> EmailMessage:
    """``kind``: confirmation | reminder. Plain text in the booking's language, the .ics attached."""
    code, when = display_code(f.code), when_text(f.start, f.end, f.lang)
    if f.lang == "en":
        subject = (f"Reservation confirmed: {f.topic_en}, {when} [{code}]" if kind == "confirmation"
                   else f"Reminder: your consultation {when} [{code}]")
        body = (f"{'Your reservation is confirmed.' if kind == 'confirmation' else 'This is a reminder of your reservation.'}\n\n"
                f"Topic: {f.topic_en}\nWhen: {when}\nReservation code: {code}\n\n"
                "At the time, enter the metaverse city hall and give this code at the information desk:\n"
                "you will be served first.\n"
                f"To check or cancel: {f.page_url}\n\nThe calendar file (.ics) is attached.\n")
    else:
        subject = (f"【予約確認】{f.topic_ja} {when} 予約番号 {code}" if kind == "confirmation"
                   else f"【ご予約のお知らせ】{when} 予約番号 {code}")
        body = (f"{'ご予約を承りました。' if kind == 'confirmation' else 'ご予約の日時が近づきました。'}\n\n"
                f"相談内容: {f.topic_ja}\n日時: {when}\n予約番号: {code}\n\n"
                "当日はメタバース区役所に入り、総合案内で予約番号をお伝えください。優先してご案内します。\n"
                f"予約の確認・取消: {f.page_url}\n\nカレンダー用ファイル（.ics）を添付しています。\n")
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, f.to, subject
    m["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip("> ") or "localhost")
    m.set_content(body)
    m.add_attachment(f.ics, maintype="text", subtype="calendar", filename=f"reservation-{code}.ics",
                     params={"method": "PUBLISH", "charset": "utf-8"})  # base64: the CRLFs stay exact
    return m


class Mailer:
    def __init__(self, config: MailConfig | None) -> None:
        self.config = config
        self.tasks: set[asyncio.Task] = set()
        self.sent = 0
        self.failed = 0

    @property
    def enabled(self) -> bool:
        return self.config is not None

    async def send(self, kind: str, facts: MailFacts) -> bool:
        c = self.config
        if c is None:
            return False
        msg = build_message(kind, facts, c.sender)
        try:
            await aiosmtplib.send(msg, hostname=c.host, port=c.port, username=c.user, password=c.password,
                                  start_tls=c.starttls, use_tls=c.port == 465, timeout=c.timeout_s)
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as e:
            self.failed += 1
            log.warning("mail %s not sent booking=%s (%s)", kind, facts.booking_id, type(e).__name__)
            return False
        self.sent += 1
        log.info("mail %s sent booking=%s", kind, facts.booking_id)
        return True

    def spawn(self, kind: str, facts: MailFacts) -> None:
        """Send without making the caller wait."""
        if self.config is None:
            return
        t = asyncio.get_running_loop().create_task(self.send(kind, facts), name=f"mail-{kind}")
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


__all__ = ["MailConfig", "MailFacts", "Mailer", "build_message", "when_text"]
