#!/usr/bin/python3
"""The interop matrix's slixmpp client (tests/interop/matrix.py drives it).

    client_slixmpp.py --port P --jid USER@localhost --password PW
                      [--resource R] [--ca FILE] [--reconnect]

Stock slixmpp 1.8 (python3-slixmpp), as poezio uses it: no fix to how it
closes.  Speaks the matrix's line protocol, the same for every client
library (see matrix.py):
  stdin:  "send JID ID"  a chat message;  "close"  close the stream the
          library's way;  "exit"
  stdout: "online FULLJID secure=yes|no", "roster N", "msg FROM ID",
          "error CONDITION" (a stream error), "disconnected WHY"
--ca FILE: STARTTLS required, verified against FILE.  --reconnect:
connect again after an unasked disconnection.
"""

import argparse
import asyncio
import logging
import os
import sys

import slixmpp


def say(*a):
    print(*a, flush=True)


class Client(slixmpp.ClientXMPP):
    def __init__(self, a):
        super().__init__(a.jid + "/" + a.resource, a.password)
        self.a = a
        self.closing = False
        self.whitespace_keepalive = False
        self['feature_mechanisms'].unencrypted_plain = True
        self.register_plugin("xep_0199")        # answers pings
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("stream_error", self.on_stream_error)
        self.add_event_handler("disconnected", self.on_disconnected)
        if a.ca:
            self.ca_certs = a.ca

    def go(self):
        self.connect(address=("127.0.0.1", self.a.port),
                     force_starttls=bool(self.a.ca),
                     disable_starttls=not self.a.ca)

    async def on_start(self, _):
        so = self.transport.get_extra_info("ssl_object") \
            if self.transport else None
        say("online %s secure=%s" % (self.boundjid.full,
                                     "yes" if so else "no"))
        self.send_presence()
        roster = await self.get_roster(timeout=10)
        say("roster %d" % len(roster["roster"]))

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal"):
            say("msg %s %s" % (msg["from"].bare, msg["id"]))

    def on_stream_error(self, err):
        say("error %s" % err["condition"])

    def on_disconnected(self, why):
        say("disconnected %s" % (why or "-"))
        if self.a.reconnect and not self.closing:
            self.loop.call_later(0.5, self.go)

    def command(self, line):
        w = line.split()
        if not w:
            return
        if w[0] == "send" and len(w) == 3:
            m = self.make_message(mto=w[1], mbody="hello", mtype="chat")
            m["id"] = w[2]
            m.send()
        elif w[0] == "close":
            self.closing = True
            self.disconnect(wait=5)
        elif w[0] == "exit":
            self.closing = True
            self.loop.stop()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--resource", default="slixmpp")
    p.add_argument("--ca")
    p.add_argument("--reconnect", action="store_true")
    p.add_argument("--debug-log")
    a = p.parse_args()
    if a.debug_log:
        logging.basicConfig(filename=a.debug_log, level=logging.DEBUG)
    c = Client(a)

    buf = [b""]

    def on_stdin():
        got = os.read(sys.stdin.fileno(), 4096)
        if not got:
            c.loop.remove_reader(sys.stdin.fileno())
            return
        buf[0] += got
        while b"\n" in buf[0]:
            line, buf[0] = buf[0].split(b"\n", 1)
            c.command(line.decode("utf-8", "replace"))
    c.loop.add_reader(sys.stdin.fileno(), on_stdin)
    c.go()
    c.loop.run_forever()


if __name__ == "__main__":
    main()
