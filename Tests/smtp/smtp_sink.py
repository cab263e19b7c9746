#!/usr/bin/env python3
"""A local SMTP server for Ossa's tests: aiosmtpd (PyPI, pinned to 1.4.6) on 127.0.0.1.

    python3 Tests/smtp/smtp_sink.py --port P --maildir DIR [--mode accept|tempfail|permfail|stall]

--port 0 picks a free port. Prints "ready <port>" once it accepts connections and runs until SIGTERM/SIGINT.
accept: every message goes to the Maildir DIR (new/), as received, after two header lines recording the envelope
(X-Sink-Mail-From, X-Sink-Rcpt-To). tempfail / permfail answer 451 / 550 to DATA; stall never answers DATA.
"""

import argparse
import asyncio
import mailbox
import signal
import socket
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, maildir, mode):
        self.maildir = mailbox.Maildir(maildir, create=True)
        self.mode = mode

    async def handle_DATA(self, server, session, envelope):
        if self.mode == "tempfail":
            return "451 4.3.0 sink: try again later"
        if self.mode == "permfail":
            return "550 5.7.1 sink: refused"
        if self.mode == "stall":
            await asyncio.sleep(3600)
        recorded = "X-Sink-Mail-From: {}\r\nX-Sink-Rcpt-To: {}\r\n".format(envelope.mail_from, ",".join(envelope.rcpt_tos))
        content = envelope.original_content or envelope.content
        self.maildir.add(recorded.encode("ascii") + content)
        return "250 2.0.0 sink: stored"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--mode", choices=["accept", "tempfail", "permfail", "stall"], default="accept")
    args = parser.parse_args()

    port = args.port or free_port()
    controller = Controller(Sink(args.maildir, args.mode), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready {}".format(port), flush=True)

    stop = threading.Event()
    # A parent may spawn us with these signals blocked (the mask is inherited; Swift test runners do this).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
