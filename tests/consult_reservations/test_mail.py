"""Confirmation and reminder e-mails against a real local SMTP server (aiosmtpd on a loopback
port): the message's To, Subject, the code in the body and the .ics attached. The reminder is
driven by the sweep with an explicit clock."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta, timezone

import icalendar
import pytest
from aiosmtpd.controller import Controller

from yakuba.server.auth.principal import Kind, Principal
from yakuba.server.consult.reservation_routes import RESERVATIONS_KEY

from auth.helpers import session_for
from server.realtime_client import running_app
from yakuba_testing import free_port

STAFF = Principal(kind=Kind.STAFF, staff_id=3)


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, msg))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    c = Controller(inbox, hostname="127.0.0.1", port=free_port())
    c.start()
    yield c, inbox
    c.stop()


def _parts(msg) -> tuple[str, icalendar.Calendar]:
    text = msg.get_body(preferencelist=("plain",)).get_content()
    (att,) = list(msg.iter_attachments())
    assert att.get_content_type() == "text/calendar" and att.get_filename().endswith(".ics")
    return text, icalendar.Calendar.from_ical(att.get_content())


async def test_confirmation_at_booking_and_reminder_before_the_slot(tmp_path, smtp) -> None:
    controller, inbox = smtp
    async with running_app(tmp_path, smtp_host="127.0.0.1", smtp_port=controller.port, smtp_from="yoyaku@city.example.jp",
                           public_origin="https://city.example.jp", consult_reminder_before_s=24 * 3600) as (url, app):
        svc = app[RESERVATIONS_KEY]
        start = (datetime.now(timezone.utc) + timedelta(days=3)).replace(second=0, microsecond=0)
        (slot,) = await svc.publish(STAFF, "insurance.pension", start, start + timedelta(minutes=20))
        async with session_for(url) as anon:
            async with anon.post("/api/consult/bookings", json={"slot": slot["id"], "email": "taro@example.jp"}) as r:
                assert r.status == 201
                code = (await r.json())["code"]
        await svc.mailer.drain()
        assert len(inbox.messages) == 1
        rcpt, msg = inbox.messages[0]
        assert rcpt == ["taro@example.jp"] and msg["To"] == "taro@example.jp" and msg["From"] == "yoyaku@city.example.jp"
        assert msg["Subject"].startswith("【予約確認】国民年金") and code in msg["Subject"]
        text, cal = _parts(msg)
        assert f"予約番号: {code}" in text and f"https://city.example.jp/reserve.html?code={code}" in text
        (ev,) = cal.walk("VEVENT")
        assert ev.decoded("DTSTART") == start and "国民年金" in str(ev["SUMMARY"])

        # the sweep: nothing before the reminder window, one reminder inside it, never twice
        assert (await svc.sweep(start - timedelta(hours=25)))["reminded"] == 0
        assert (await svc.sweep(start - timedelta(hours=23)))["reminded"] == 1
        assert (await svc.sweep(start - timedelta(hours=22)))["reminded"] == 0
        assert len(inbox.messages) == 2
        rcpt, msg = inbox.messages[1]
        assert rcpt == ["taro@example.jp"] and msg["Subject"].startswith("【ご予約のお知らせ】") and code in msg["Subject"]
        text, cal = _parts(msg)
        assert code in text


async def test_english_booking_without_e_mail_sends_nothing_and_no_smtp_means_no_mail(tmp_path, smtp) -> None:
    controller, inbox = smtp
    async with running_app(tmp_path, smtp_host="127.0.0.1", smtp_port=controller.port) as (url, app):
        svc = app[RESERVATIONS_KEY]
        start = datetime.now(timezone.utc) + timedelta(hours=5)  # inside the reminder window already
        (slot,) = await svc.publish(STAFF, "tax.payment", start, start + timedelta(minutes=20), 3)
        await svc.book(STAFF, slot["id"])  # no e-mail given
        b, _ = await svc.book(STAFF, slot["id"], email="jane@example.jp", lang="en")
        await svc.mailer.drain()
        ((rcpt, msg),) = inbox.messages
        assert rcpt == ["jane@example.jp"] and msg["Subject"].startswith("Reservation confirmed: Paying tax")
        # booked this close to the time: the confirmation was the reminder
        assert (await svc.sweep(start - timedelta(hours=1)))["reminded"] == 0 and len(inbox.messages) == 1
    async with running_app(tmp_path / "b") as (url, app):
        svc = app[RESERVATIONS_KEY]
        assert not svc.mailer.enabled
        (slot,) = await svc.publish(STAFF, "tax.payment", start, start + timedelta(minutes=20))
        await svc.book(STAFF, slot["id"], email="jane@example.jp")
        await svc.mailer.drain()
        assert len(inbox.messages) == 1 and svc.mailer.sent == 0
