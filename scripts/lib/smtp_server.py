#!/usr/bin/env python3
"""The test stack's SMTP server (scripts/lib/smtp.sh starts it), on aiosmtpd.

Usage: smtp_server.py PORT STATE_DIR USER PASSWORD

It listens on 127.0.0.1:PORT and offers STARTTLS with STATE_DIR/cert.pem and
STATE_DIR/key.pem. AUTH PLAIN and LOGIN, for USER with PASSWORD only, are
offered once the session is encrypted; mail without AUTH is accepted too, as a
local relay would.

Recipient policy, which the tests rely on:
  local part starting with `unknown`  550 5.1.1 <addr>: Recipient address rejected: User unknown
  local part starting with `busy`     451 4.3.0 Try again later
  anything else                       accepted

Each accepted message is delivered once per recipient into the Maildir
STATE_DIR/maildir, as the bytes received (CRLF line endings, dots unstuffed)
after a `Return-Path` and a `Delivered-To` line. It is written under tmp/ and
renamed into new/ as `<seconds>.<sequence>_<pid>.<recipient>`, so a reader of
new/ never sees half a message and finds a recipient's messages by name.
"""

import asyncio
import logging
import itertools
import os
import signal
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Policy:
    def __init__(self, maildir):
        self.maildir = maildir
        self.sequence = itertools.count(1)
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("unknown"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if local.startswith("busy"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        for recipient in envelope.rcpt_tos:
            self.deliver(envelope.mail_from, recipient, envelope.original_content)
        return "250 Message accepted for delivery"

    def deliver(self, sender, recipient, content):
        safe = recipient.replace("/", "_").replace(":", "_")
        name = f"{int(time.time())}.{next(self.sequence)}_{os.getpid()}.{safe}"
        staged = os.path.join(self.maildir, "tmp", name)
        with open(staged, "wb") as out:
            out.write(f"Return-Path: <{sender}>\r\nDelivered-To: {recipient}\r\n".encode())
            out.write(content)
        os.rename(staged, os.path.join(self.maildir, "new", name))


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        # handled=False: aiosmtpd then answers 535 itself (its default, True, answers nothing).
        return AuthResult(success=ok, handled=False)

    return check


async def serve(port, state, user, password):
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(os.path.join(state, "cert.pem"), os.path.join(state, "key.pem"))
    policy = Policy(os.path.join(state, "maildir"))
    check = authenticator(user, password)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            policy,
            hostname="attache-test-smtp",
            tls_context=tls,
            authenticator=check,
            auth_required=False,
            auth_require_tls=True,
        ),
        "127.0.0.1",
        port,
    )
    stopped = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    await stopped.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    # aiosmtpd warns about its own use of a deprecated field on every AUTH.
    logging.getLogger("mail.log").addFilter(lambda record: "login_data" not in record.getMessage())
    if len(sys.argv) != 5:
        sys.exit(__doc__.split("\n\n")[1])
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]))
