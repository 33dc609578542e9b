#!/usr/bin/python3
"""Issue 13's interop scenarios: stanzaguard hands undelivered stanzas back
through the server's stream management (spec: "Handing undelivered
stanzas back"), so that nothing is bounced and nothing lost.  Called by
tests/interop/handback.sh, which starts a throwaway Prosody (Debian's
default modules: mod_smacks, mod_offline among them) or ejabberd (Debian's
mod_stream_mgmt and mod_offline settings) and stanzaguard in front of it
for each scenario.

    handback.py SCENARIO --server prosody|ejabberd --port P
        --upstream-port Q --sg-log FILE --server-log FILE [options]

SCENARIO is one of
  read-close  bob, without SM, reads k of N messages from alice and then
              closes his stream while she keeps sending (jittered gaps);
              what he did not get comes from offline storage at his next
              login
  idle        alice (straight to the server) sends bursts across
              stanzaguard's idle close of bob's session, many rounds,
              jittered; bob answers the close tag after a random delay
  vanish      bob resets his connection (SO_LINGER 0, close) in the middle
              of alice's burst
  server-cut  Prosody with mod_legacy_idle_cut cuts alice's session before
              stanzaguard's idle timer while she sends a burst to bob
              (offline); each message must have reached Prosody, been
              bounced to alice, or be named in stanzaguard's log
  client-sm   clients that do XEP-0198 themselves (slixmpp's xep_0198)
              pass through untouched: sm=client

Every message is counted as one of: delivered live, delivered from offline
storage (a <delay/> on it), bounced to its sender, named undeliverable in
stanzaguard's log, or lost; duplicates are counted apart.  A line
"handback: SCENARIO counts ..." gives them.  The checks that fail are
printed as "FAIL: ..."; exit status 1 if any did.

The clients are slixmpp's ClientXMPP without the xep_0198 plugin (checked:
slixmpp does not load it unless asked), with the fix of clients.py: on the
peer's </stream:stream> they answer with theirs (after finishing a burst)
instead of dropping the connection.  What they receive is also recorded as
raw bytes, so that a message whose bytes reached the client counts as
delivered even when the client closed before parsing it.

Must run under /usr/bin/python3 (Debian's python3-slixmpp).
"""

import argparse
import asyncio
import os
import random
import re
import socket
import struct
import sys
import time
import uuid

try:
    import slixmpp
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
except ImportError as e:
    sys.exit("handback.py: no slixmpp (%s): use /usr/bin/python3 with "
             "python3-slixmpp installed" % e)

# What is the same as in clients.py comes from there, once: the checks
# (clients.FAILURES counts them), the bounded waits, the %XX decoding of
# stanzaguard's lists, the reading of its log, and main()'s running of a
# scenario.
from clients import (DOMAIN, PASSWORD, NS_DELAY, NS_STANZAS,  # noqa: E402
                     say, check, wait_event, wait_until,
                     setup_logging, run_scenario)
from clients import SgLog as _SgLogBase  # noqa: E402
from clients import _pct_decode as pct_decode  # noqa: E402

NS_SM = "urn:xmpp:sm:3"

SERVER_LOG = None       # the server's debug log (--server-log)


def new_id(tag):
    return "%s-%s" % (tag, uuid.uuid4().hex[:12])


# ------------------------------------------------------------------ clients

# A complete <message/> in the raw bytes a client received: its start tag's
# attributes and its content.  Our messages always have a body, so never
# come as <message/>; none nests another.
RAW_MESSAGE = re.compile(rb"<message\b([^>]*)>(.*?)</message>", re.S)
RAW_ATTR = re.compile(rb"""\b(id|type)=(?:'([^']*)'|"([^"]*)")""")
# SM elements that must never reach a client that did not enable SM.
RAW_SM = re.compile(rb"<(?:r|a|enabled|failed|resumed)\b[^>]*urn:xmpp:sm:")


class Client(slixmpp.ClientXMPP):
    """A ClientXMPP that answers the peer's close tag, can reset its
    connection, and records what it received (parsed and raw)."""

    def __init__(self, user, resource, sm=False, resume=False):
        super().__init__("%s@%s/%s" % (user, DOMAIN, resource), PASSWORD)
        self.user = user
        self.whitespace_keepalive = False
        self['feature_mechanisms'].unencrypted_plain = True
        if sm:
            self.register_plugin('xep_0198')
            self.plugin['xep_0198'].allow_resume = resume
        self.sm_enabled = None                # the <enabled/> we got
        self.started = asyncio.Event()
        self.gone = asyncio.Event()
        self.raw = bytearray()                # every byte received
        self.peer_closed = False
        self.footer_sent = False
        self.closed_first = False
        self.lost_exc = None
        self.vanished = False
        self.messages = []                    # parsed, see _on_message
        self.sent = []                        # ids written to the socket
        self.unsent = []                      # ids we could no longer write
        self.hold = 0                         # >0: a burst is going on
        self.answer_delay = 0.0               # before answering a close tag
        self.last_io = time.monotonic()
        self.local_addr = None
        self.trigger = None                   # (ids, k, action), see below
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("sm_enabled", self._on_sm_enabled)
        self.register_handler(Callback(
            "handback every message",
            MatchXPath("{%s}message" % self.default_ns), self._on_message))

    def go(self, port):
        self.connect(address=("127.0.0.1", port), use_ssl=False,
                     force_starttls=False, disable_starttls=True)

    def _on_start(self, _):
        if self.transport is not None:
            self.local_addr = self.transport.get_extra_info("sockname")
        self.started.set()

    def _on_sm_enabled(self, stanza):
        self.sm_enabled = stanza

    def _on_message(self, msg):
        cond = None
        err = msg.xml.find("{%s}error" % self.default_ns)
        if err is not None:
            for ch in err:
                if ch.tag.startswith("{%s}" % NS_STANZAS) and \
                        not ch.tag.endswith("}text"):
                    cond = ch.tag.split("}", 1)[1]
        self.messages.append({
            "id": msg["id"], "type": msg["type"], "from": str(msg["from"]),
            "cond": cond,
            "delayed": msg.xml.find("{%s}delay" % NS_DELAY) is not None,
            "after_own_close": self.footer_sent})
        if self.trigger is not None:
            ids, k, action = self.trigger
            if len({m["id"] for m in self.messages} & ids) >= k:
                self.trigger = None
                action()

    # -- what arrived as bytes

    def raw_messages(self):
        """{id: (type, delayed)} of every complete <message/> received."""
        out = {}
        for m in RAW_MESSAGE.finditer(bytes(self.raw)):
            attrs = {}
            for a in RAW_ATTR.finditer(m.group(1)):
                attrs[a.group(1)] = (a.group(2) or a.group(3) or b"")
            mid = attrs.get(b"id", b"").decode("utf-8", "replace")
            typ = attrs.get(b"type", b"normal").decode("utf-8", "replace")
            out.setdefault(mid, []).append(
                (typ, NS_DELAY.encode() in m.group(2)))
        return out

    def saw_sm_elements(self):
        return RAW_SM.findall(bytes(self.raw))

    # -- connection life

    def data_received(self, data):
        self.last_io = time.monotonic()
        self.raw += data
        if self.peer_closed or self.vanished:
            return
        super().data_received(data)

    def connection_lost(self, exc):
        self.lost_exc = exc
        super().connection_lost(exc)
        self.gone.set()

    def send_raw(self, data):
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) \
            else data
        if self.vanished:
            return
        if text == self.stream_footer:
            if self.footer_sent:
                return
            self.footer_sent = True
            if not self.peer_closed:
                self.closed_first = True
        elif self.footer_sent:
            return
        self.last_io = time.monotonic()
        super().send_raw(data)

    def abort(self):
        """slixmpp calls this on the peer's close tag: answer it instead
        (after our burst and answer_delay), then wait for its EOF."""
        if self.disconnect_reason != "End of stream" or \
                self.transport is None or self.peer_closed:
            super().abort()
            return
        self.peer_closed = True
        if self.hold == 0:
            self._answer_close_later()

    def _answer_close_later(self):
        if self.answer_delay > 0 and not self.footer_sent:
            self.loop.call_later(self.answer_delay, self._answer_close)
        else:
            self._answer_close()

    def _answer_close(self):
        if self.transport is None:
            return
        self.send_raw(self.stream_footer)
        try:
            self.transport.write_eof()
        except (OSError, RuntimeError, AttributeError):
            pass
        self.loop.call_later(5.0, self._eof_timeout)

    def _eof_timeout(self):
        if self.transport is not None:
            slixmpp.ClientXMPP.abort(self)

    def start_close(self):
        """Close our stream now (stock slixmpp: close tag, wait for the
        peer's)."""
        if self.transport is not None and not self.footer_sent:
            self.disconnect(wait=5.0)

    def vanish(self):
        """Reset the connection: take what the kernel already holds for us
        (it counts as received), then close with SO_LINGER 0."""
        if self.transport is None or self.vanished:
            return
        fd = self.transport.get_extra_info("socket").fileno()
        dup = socket.socket(fileno=os.dup(fd))
        dup.setblocking(False)
        dup.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                       struct.pack("ii", 1, 0))
        # asyncio would close its descriptor only at its next loop turn:
        # bytes that came meanwhile would be acknowledged by our kernel
        # and then dropped by the reset, received for stanzaguard and
        # never seen here.  So the socket goes now: its descriptor is
        # pointed at a placeholder, and our dup is its last one.
        # A reset carries no acknowledgement that stanzaguard can see: what
        # our kernel received and has not acknowledged yet (a delayed
        # ACK) counts as never received there, and would come again from
        # offline storage.  So acknowledge it now (TCP_QUICKACK), as any
        # client that vanishes later than 40 ms after reading has.  Then
        # what our kernel holds was acknowledged: it counts as received.
        # But Linux sends that ACK only once the receive queue is empty
        # (tcp_cleanup_rbuf): so while reading, take the queue, then
        # acknowledge (bytes that came in the middle of a burst were left
        # unacknowledged, and came again from ejabberd's offline storage).
        # A stalled reader (a closed window, its delayed ACKs gone out)
        # only peeks, since consuming would open the window and let more
        # in before the reset.
        reading = self.transport.is_reading()
        if not reading:
            dup.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        placeholder = socket.socket()
        try:
            self.raw += dup.recv(1 << 22, 0 if reading else socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            pass
        if reading:
            dup.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        os.dup2(placeholder.fileno(), fd)
        dup.close()                 # the last descriptor: the kernel resets
        placeholder.close()
        self.vanished = True
        self.transport.abort()

    async def ping_server(self, tag, timeout):
        """An XEP-0199 ping to the server, written raw; wait (bounded) for
        its answer."""
        pid = new_id(tag)
        self.send_raw("<iq type='get' id='%s' to='%s'><ping xmlns='urn:"
                      "xmpp:ping'/></iq>" % (pid, DOMAIN))
        ok = await wait_until(lambda: pid.encode() in self.raw, timeout)
        check(ok, "%s: no answer to ping %s" % (self.jid, pid))

    def write_message(self, to, mid, body="hello"):
        """Write a chat message straight to the socket (no send queue, so
        we know what reached the wire).  True if written."""
        if self.transport is None or self.footer_sent or self.vanished:
            self.unsent.append(mid)
            return False
        self.send_raw("<message to='%s' type='chat' id='%s'>"
                      "<body>%s</body></message>" % (to, mid, body))
        self.sent.append(mid)
        return True

    async def burst(self, to, ids, gap, rng, pad=""):
        """Write the messages ids with random gaps of up to gap seconds.
        Should the peer close our stream meanwhile, we answer once the
        burst is out (RFC 6120 4.4: finish transmitting)."""
        self.hold += 1
        try:
            for i, mid in enumerate(ids):
                if i and gap > 0:
                    await asyncio.sleep(rng.uniform(0, gap))
                self.write_message(to, mid, "burst %s%s" % (mid, pad))
        finally:
            self.hold -= 1
            if self.hold == 0 and self.peer_closed and not self.footer_sent:
                self._answer_close_later()

    async def close(self, timeout=5.0):
        self.start_close()
        await wait_event(self.gone, timeout + 2, "%s to close" % self.jid)


def small_buffers_possible():
    """Make the loop's create_connection give a client with an rcvbuf
    attribute a socket with that SO_RCVBUF, set before connecting (after
    it, the window already offered stays).  slixmpp 1.8 has no hook."""
    loop = asyncio.get_running_loop()
    if getattr(loop, "handback_patched", False):
        return
    orig = loop.create_connection

    async def create_connection(factory, host=None, port=None, **kw):
        proto = factory()
        rcvbuf = getattr(proto, "rcvbuf", None)
        if not rcvbuf or host is None or kw.get("ssl"):
            return await orig(lambda: proto, host, port, **kw)
        sock = socket.socket()
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        try:
            await loop.sock_connect(sock, (host, port))
        except OSError:
            sock.close()
            raise
        kw.pop("server_hostname", None)
        return await orig(lambda: proto, sock=sock, **kw)
    loop.create_connection = create_connection
    loop.handback_patched = True


async def login(port, user, tag, sm=False, resume=False, rcvbuf=None,
                timeout=10.0):
    """One client logged in through port, presence sent."""
    c = Client(user, "%s-%s" % (tag, uuid.uuid4().hex[:6]), sm, resume)
    if rcvbuf:
        small_buffers_possible()
        c.rcvbuf = rcvbuf
    check("xep_0198" not in c.plugin or sm,
          "slixmpp loaded xep_0198 on its own")
    c.go(port)
    if not await wait_event(c.started, timeout, "%s to log in" % user):
        raise RuntimeError("login failed")
    c.send_presence()
    return c


# ---------------------------------------------------------------- the logs


def parse_list(lst):
    """proxy/sesslog.c's undeliverable_list (and handed_back_list): items
    dir:name:id:type apart by ' ', parts %XX-escaped, "..." when cut."""
    items, more = [], False
    for word in (lst or "").split(" "):
        if word == "":
            continue
        if word == "...":
            more = True
            continue
        parts = word.split(":")
        if len(parts) == 4:
            items.append(tuple(pct_decode(p) for p in parts))
    return items, more


class SgLog(_SgLogBase):
    """clients.py's reader of stanzaguard's log (records()), and what the
    handback scenarios ask of it."""

    def end_of(self, client):
        """The session-end line of the session from client's address."""
        if client.local_addr is None:
            return None
        addr = "%s:%d" % client.local_addr[:2]
        for r in self.records("session-end"):
            if r.get("client") == addr:
                return r
        return None

    async def wait_end(self, client, timeout):
        ok = await wait_until(lambda: self.end_of(client) is not None,
                              timeout, 0.05)
        check(ok, "stanzaguard logged no session-end for %s within %gs"
              % (client.boundjid.full, timeout))
        return self.end_of(client)

    def named(self):
        """{id: [(dir, name, type)]} of every stanza named undeliverable
        (one event=undeliverable line each, however many)."""
        out = {}
        for r in self.records("undeliverable"):
            out.setdefault(r.get("id", ""), []).append(
                (r.get("dir"), r.get("name"), r.get("type")))
        return out


def send_queue(port, peer):
    """Bytes that the loopback socket on port, connected to client peer,
    has sent or queued and peer's kernel has not acknowledged (the
    tx_queue of /proc/net/tcp: what SIOCOUTQ says), or None."""
    want = (":%04X" % port, ":%04X" % peer.local_addr[1])
    try:
        with open("/proc/net/tcp", encoding="ascii") as f:
            for line in f.read().splitlines()[1:]:
                w = line.split()
                if w[1].endswith(want[0]) and w[2].endswith(want[1]):
                    return int(w[4].split(":")[0], 16)
    except (OSError, IndexError, ValueError):
        pass
    return None


def sum_field(recs, key):
    return sum(int(r.get(key, 0) or 0) for r in recs)


def sg_summary(recs):
    """The session lines' figures that tell what stanzaguard did."""
    sms = {}
    for r in recs:
        sms[r.get("sm", "-")] = sms.get(r.get("sm", "-"), 0) + 1
    closes = {}
    for r in recs:
        k = "%s/%s/%s" % (r.get("close"), r.get("c_closed"),
                          r.get("s_closed"))
        closes[k] = closes.get(k, 0) + 1
    return ("sessions=%d sm={%s} close={%s} bounced_to_c=%d bounced_to_s=%d "
            "undeliverable_c=%d undeliverable_s=%d handed_back=%d "
            "s_unacked=%d" % (
                len(recs), ", ".join("%s:%d" % kv for kv in sorted(
                    sms.items())),
                ", ".join("%s:%d" % kv for kv in sorted(closes.items())),
                sum_field(recs, "bounced_to_c"),
                sum_field(recs, "bounced_to_s"),
                sum_field(recs, "undeliverable_c"),
                sum_field(recs, "undeliverable_s"),
                sum_field(recs, "handed_back"),
                sum_field(recs, "s_unacked")))


# ----------------------------------------------------------- accounting


class Ledger:
    """The fate of every message one sender wrote to one recipient."""

    CASES = ("live", "live-after-close", "offline", "bounced", "named",
             "lost")

    def __init__(self, a, name):
        self.name = "%s %s" % (a.server, name)   # "ejabberd idle"
        self.sent = []              # ids, in order
        self.unsent = 0

    def account(self, recipients, senders, sg):
        """recipients: every Client of the recipient user; senders: every
        Client of the sender.  Returns (counts, details)."""
        sent = set(self.sent)
        got = {}                    # id -> list of "live"/"offline"/...
        for c in recipients:
            parsed = {}
            for m in c.messages:
                if m["id"] in sent and m["type"] != "error":
                    parsed.setdefault(m["id"], []).append(m)
            raw = c.raw_messages()
            for mid in sent:
                n_raw = len([1 for t, _d in raw.get(mid, []) if t != "error"])
                ps = parsed.get(mid, [])
                n = max(n_raw, len(ps))
                for i in range(n):
                    if i < len(ps):
                        m = ps[i]
                        case = "offline" if m["delayed"] else (
                            "live-after-close" if m["after_own_close"]
                            else "live")
                    else:
                        # Bytes that reached the client, never parsed: it
                        # closed or reset first.
                        delayed = [d for t, d in raw[mid] if t != "error"]
                        case = "offline" if delayed[i] else \
                            "live-after-close"
                    got.setdefault(mid, []).append(case)
        bounced = {}
        for c in senders:
            for m in c.messages:
                if m["id"] in sent and m["type"] == "error":
                    bounced.setdefault(m["id"], []).append(m["cond"])
        named = sg.named()
        counts = {k: 0 for k in self.CASES}
        counts.update(dup=0, dup_after_close=0, delivered_and_bounced=0,
                      named_and_delivered=0)
        lost, dups, both = [], [], []
        for mid in self.sent:
            cases = got.get(mid, [])
            if len(cases) > 1:
                counts["dup"] += 1
                dups.append((mid, cases))
                if cases == ["live-after-close", "offline"]:
                    counts["dup_after_close"] += 1
            if cases:
                counts[cases[0]] += 1
                if mid in bounced:
                    counts["delivered_and_bounced"] += 1
                    both.append(mid)
                if mid in named:
                    counts["named_and_delivered"] += 1
            elif mid in bounced:
                counts["bounced"] += 1
            elif mid in named:
                counts["named"] += 1
            else:
                counts["lost"] += 1
                lost.append(mid)
        return counts, {"lost": lost, "dup": dups, "both": both,
                        "bounced": bounced, "got": got}

    def report(self, counts, extra=""):
        say("handback: %s counts: written=%d %s%s" % (
            self.name, len(self.sent), " ".join(
                "%s=%d" % (k, counts[k]) for k in self.CASES +
                ("dup", "dup_after_close", "delivered_and_bounced",
                 "named_and_delivered")),
            (" " + extra) if extra else ""))


def trace(mid, most=24):
    """Print where the server's debug log saw message mid: the first line
    of each record that names it (ejabberd's records span several lines),
    so that a loss says where the message went."""
    try:
        with open(SERVER_LOG, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except (OSError, TypeError):
        return
    heads = []
    for i, li in enumerate(lines):
        if mid not in li:
            continue
        while i > 0 and not lines[i][:1].isdigit():
            i -= 1
        if not heads or heads[-1] != i:
            heads.append(i)
    say("    %s: %d records of the server log name it" % (mid, len(heads)))
    for i in heads[:most]:
        say("      " + lines[i][:220])


def check_counts(name, counts, details, allow_bounce=False, allow_named=False,
                 after_close_dups=0):
    """after_close_dups: how many duplicates are no fault (see
    unacked_at_close): a message the client first got after its own
    close tag, then from offline storage."""
    if not check(counts["lost"] == 0, "%s: %d messages lost, e.g. %s"
                 % (name, counts["lost"], details["lost"][:4])):
        for mid in details["lost"][:4]:
            trace(mid)
    check(counts["dup"] - counts["dup_after_close"] == 0 and
          counts["dup_after_close"] <= after_close_dups,
          "%s: %d messages delivered twice (%d first after the client's "
          "close tag, of which %d may be), e.g. %s"
          % (name, counts["dup"], counts["dup_after_close"],
             after_close_dups, details["dup"][:4]))
    if not allow_bounce:
        check(counts["bounced"] == 0 and counts["delivered_and_bounced"] == 0,
              "%s: %d messages bounced (%d of them delivered all the same), "
              "e.g. %s" % (name, counts["bounced"] +
                           counts["delivered_and_bounced"],
                           counts["delivered_and_bounced"],
                           list(details["bounced"].items())[:4]))
    if not allow_named:
        check(counts["named"] == 0, "%s: %d messages only named in "
              "stanzaguard's log, not delivered" % (name, counts["named"]))
    check(counts["named_and_delivered"] == 0, "%s: %d messages named "
          "undeliverable, yet delivered" % (name,
                                             counts["named_and_delivered"]))


def unacked_at_close(recs):
    """How many S->C stanzas the sessions handed back after writing them to
    the client: those its TCP had not acknowledged when its close tag came
    (handed_back counts them, handed_back_list names only the others).
    Such a stanza crossed the client's close tag on the wire: the client
    still reads it (RFC 6120 4.4) and the server, told a final h without
    it, stores it offline as well.  The spec accepts that ("an h too low
    only risks a duplicate"; issue 13: no duplicate where the client
    received a stanza *before* closing): at most these many duplicates,
    each first seen after the client's own close tag, are no fault."""
    n = 0
    for r in recs:
        items, _more = parse_list(r.get("handed_back_list"))
        n += max(0, int(r.get("handed_back", 0) or 0) - len(items))
    return n


def lost_in_server(link, details):
    """The lost messages that the server lost itself: stanzaguard wrote
    them to the server (the link recorded them on their way in), and
    they never came back out of the server on any connection: not to
    bob, live or from offline storage, nor bounced to alice.
    ejabberd 23.01 can do that to a message it routes to a bare JID at
    the moment that JID's last session ends: ejabberd_sm:route_message
    looks the present resources up, then each one's session, and drops
    the message if the session has gone in between ("[] -> ok; % Race
    condition" in its source).  read-close sends across bob's close on
    purpose; once in five full runs a message sent in the millisecond of
    bob's close tag was lost so, though ejabberd had counted it in its
    acknowledgements to alice's session.  Whatever stanzaguard loses
    still counts as lost: it either never reached the link, or came back
    out of the server."""
    if link is None:
        return []
    return [m for m in details["lost"]
            if m.encode() in link.bytes["c2s"] and
            m.encode() not in link.bytes["s2c"]]


def check_sessions(name, a, recs, clients, details=None):
    """What the session lines say of clients that do not do SM; and no
    stanza named as handed back reached the client (details: a ledger's)."""
    for c in clients:
        check(not c.saw_sm_elements(), "%s: %s received SM elements: %s"
              % (name, c.boundjid.full, c.saw_sm_elements()[:3]))
    if a.expect_handback:
        for r in recs:
            check(r.get("sm") == "handback", "%s: session %s logged sm=%s, "
                  "want handback" % (name, r.get("session"), r.get("sm")))
    if details is None:
        return
    for r in recs:
        items, _more = parse_list(r.get("handed_back_list"))
        for _d, _n, mid, _t in items:
            cases = details["got"].get(mid, [])
            check(not cases or cases[0] == "offline", "%s: session %s "
                  "handed back %s, yet the client got it %s" % (
                      name, r.get("session"), mid, cases[:1]))


async def collect(port, user, ledger, recipients, senders, sg,
                  timeout=5.0):
    """Log user in once more (through port) and wait until every message
    of the ledger not yet delivered nor bounced has come from offline
    storage (or the timeout: the accounting then names what is missing)."""
    c = await login(port, user, "collect")
    recipients.append(c)
    await settle_offline(ledger, recipients, senders, sg, timeout)
    await c.close()
    return c


async def settle_offline(ledger, recipients, senders, sg, timeout=2.0):
    """After a login: wait (bounded) until what the ledger still misses has
    come from offline storage (or was bounced, or named in stanzaguard's
    log), so that it is not mixed up with what comes live next."""
    def done():
        have = set()
        for r in recipients:
            have |= {m["id"] for m in r.messages if m["type"] != "error"}
        for r in senders:
            have |= {m["id"] for m in r.messages if m["type"] == "error"}
        missing = set(ledger.sent) - have
        return not missing or missing <= set(sg.named())
    await wait_until(done, timeout)


# ------------------------------------------------------------ a slow link


class SlowLink:
    """A TCP relay on loopback that delays every byte, end of file and reset
    by `delay` each way: the WAN (or firewall) between stanzaguard and
    the server of issue 13's server-cut case.  What one side sends after
    the other has closed is dropped, as on a real link; a reset from one
    side becomes a reset (SO_LINGER 0) towards the other, after the bytes
    before it.  With delay 0, a plain relay that records what went each
    way (read-close: what the server sent, whatever stanzaguard did)."""

    def __init__(self, port, upstream_port, delay):
        self.port, self.upstream_port, self.delay = port, upstream_port, delay
        self.server = None
        self.links = 0
        self.ends = {}              # "c2s eof", "s2c reset", ...: count
        self.bytes = {"c2s": bytearray(), "s2c": bytearray()}  # all links

    async def start(self):
        self.server = await asyncio.start_server(self._accept, "127.0.0.1",
                                                 self.port)

    async def stop(self):
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _accept(self, c_reader, c_writer):
        self.links += 1
        try:
            s_reader, s_writer = await asyncio.open_connection(
                "127.0.0.1", self.upstream_port)
        except OSError:
            reset(c_writer)
            return
        for w in (c_writer, s_writer):
            w.get_extra_info("socket").setsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(self._pump(c_reader, s_writer, "c2s"),
                             self._pump(s_reader, c_writer, "s2c"),
                             return_exceptions=True)

    def summary(self):
        return "links=%d %s" % (self.links, " ".join(
            "%s=%d" % (k.replace(" ", "_"), v)
            for k, v in sorted(self.ends.items())))

    async def _pump(self, reader, writer, way):
        """Read everything from reader; hand each piece (bytes, EOF, reset)
        to writer `delay` later, in order."""
        queue = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def deliver():
            while True:
                due, what = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if what == "eof":
                    try:
                        writer.write_eof()
                    except (OSError, RuntimeError):
                        pass
                    return
                if what == "reset":
                    reset(writer)
                    return
                if not writer.is_closing():
                    writer.write(what)      # dropped if the peer is gone
        task = asyncio.ensure_future(deliver())
        while True:
            try:
                data = await reader.read(65536)
            except OSError:
                data = None
            due = loop.time() + self.delay
            if data:
                self.bytes[way] += data
                queue.put_nowait((due, data))
                continue
            end = "eof" if data == b"" else "reset"
            key = "%s %s" % (way, end)
            self.ends[key] = self.ends.get(key, 0) + 1
            queue.put_nowait((due, end))
            break
        await task


def reset(writer):
    """Close writer's socket with a TCP reset."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


# --------------------------------------------------------------- scenarios


async def scenario_read_close(a):
    """bob reads k of N, closes his stream; alice goes on sending.  With
    --link-port, stanzaguard's upstream is a SlowLink that records what
    the server sent (see lost_in_server)."""
    rng = random.Random(a.seed)
    sg = SgLog(a.sg_log)
    link = None
    if a.link_port:
        link = SlowLink(a.link_port, a.upstream_port, a.link_delay)
        await link.start()
    alice = await login(a.port, "alice", "sender")
    ledger = Ledger(a, "read-close")
    bobs, bob_recs = [], []
    for rnd in range(a.rounds):
        bob = await login(a.port, "bob", "r%02d" % rnd)
        bobs.append(bob)
        await settle_offline(ledger, bobs, [alice], sg)
        ids = [new_id("r%02d-m%02d" % (rnd, i)) for i in range(a.burst)]
        k = rng.randint(1, a.burst - 1)
        bob.trigger = (set(ids), k, bob.start_close)
        ledger.sent += ids
        await alice.burst(bob.boundjid.bare, ids, a.gap, rng)
        await wait_event(bob.gone, 10, "round %d: bob to close" % rnd)
        rec = await sg.wait_end(bob, 10)
        if rec:
            bob_recs.append(rec)
    last = await collect(a.port, "bob", ledger, bobs, [alice], sg)
    await alice.close()
    await asyncio.sleep(0.2)
    if link is not None:
        await link.stop()
    counts, details = ledger.account(bobs, [alice], sg)
    server_lost = lost_in_server(link, details)
    counts["lost"] -= len(server_lost)
    ledger.report(counts, "unacked_at_close=%d lost_in_server=%d" % (
        unacked_at_close(bob_recs), len(server_lost)))
    for mid in server_lost:
        say("handback: NOTE: %s lost %s itself: stanzaguard wrote it to "
            "the server, which never sent it to anyone, live or from "
            "offline storage (see lost_in_server); not counted as lost"
            % (a.server, mid))
        trace(mid)
    details["lost"] = [m for m in details["lost"] if m not in server_lost]
    say("handback: read-close bob's sessions: %s" % sg_summary(bob_recs))
    check_counts("read-close", counts, details,
                 after_close_dups=unacked_at_close(bob_recs))
    check_sessions("read-close", a, bob_recs + [
        r for r in (sg.end_of(alice), sg.end_of(last)) if r], bobs + [alice],
        details)


async def scenario_idle(a):
    """Bursts from alice (straight to the server) across the idle close of
    bob's session."""
    rng = random.Random(a.seed)
    sg = SgLog(a.sg_log)
    alice = await login(a.upstream_port, "alice", "direct")
    ledger = Ledger(a, "idle")
    bobs, bob_recs = [], []
    for rnd in range(a.rounds):
        bob = await login(a.port, "bob", "r%02d" % rnd)
        bobs.append(bob)
        await settle_offline(ledger, bobs, [alice], sg)
        await asyncio.sleep(0.1)
        bob.answer_delay = rng.uniform(0, a.answer_delay)
        offset = rng.uniform(-a.jitter, a.jitter)
        delay = bob.last_io + a.idle + offset - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        ids = [new_id("r%02d-m%02d" % (rnd, i)) for i in range(a.burst)]
        ledger.sent += ids
        await alice.burst(bob.boundjid.bare, ids, a.gap, rng)
        await wait_event(bob.gone, a.idle + a.close_timeout + 5,
                         "round %d: bob closed by the idle timeout" % rnd)
        rec = await sg.wait_end(bob, 10)
        if rec:
            bob_recs.append(rec)
            check(rec.get("close") == "idle", "round %d: close=%s, want idle"
                  % (rnd, rec.get("close")))
    await collect(a.port, "bob", ledger, bobs, [alice], sg)
    await alice.close()
    await asyncio.sleep(0.2)
    counts, details = ledger.account(bobs, [alice], sg)
    ledger.report(counts)
    say("handback: idle bob's sessions: %s" % sg_summary(bob_recs))
    check_counts("idle", counts, details)
    check_sessions("idle", a, bob_recs, bobs, details)


async def scenario_vanish(a):
    """bob resets his connection in the middle of alice's burst.  In odd
    rounds he first stops reading, with a small receive buffer, so that
    stanzaguard still holds bytes for him that his kernel never
    acknowledged when he resets: the kernel drops them, and SIOCOUTQ then
    reads 0 (the spec's "beware the reset")."""
    rng = random.Random(a.seed)
    sg = SgLog(a.sg_log)
    alice = await login(a.port, "alice", "sender")
    ledger = Ledger(a, "vanish")
    bobs, bob_recs = [], []
    body = "x" * a.body_size
    stalled = unacked = 0
    for rnd in range(a.rounds):
        stall = rnd % 2 == 1
        bob = await login(a.port, "bob", "r%02d" % rnd,
                          rcvbuf=2048 if stall else None)
        bobs.append(bob)
        await settle_offline(ledger, bobs, [alice], sg)
        ids = [new_id("r%02d-m%02d" % (rnd, i)) for i in range(a.burst)]
        k = rng.randint(1, a.burst // 2)
        if stall:
            bob.trigger = (set(ids), k, bob.transport.pause_reading)
        else:
            bob.trigger = (set(ids), k, bob.vanish)
        ledger.sent += ids
        await alice.burst(bob.boundjid.bare, ids, a.gap, rng, body)
        if stall:
            # Let what the burst left queued pile up in front of bob, and
            # his kernel's delayed ACKs go out (200 ms at most).
            await asyncio.sleep(0.5)
            q = send_queue(a.port, bob)
            if q:
                stalled += 1
                unacked += q
            bob.vanish()
        await wait_event(bob.gone, 10, "round %d: bob to vanish" % rnd)
        rec = await sg.wait_end(bob, 10)
        if rec:
            bob_recs.append(rec)
            check(rec.get("close") == "client-vanished", "round %d: close=%s,"
                  " want client-vanished" % (rnd, rec.get("close")))
    await collect(a.port, "bob", ledger, bobs, [alice], sg)
    await alice.close()
    await asyncio.sleep(0.2)
    counts, details = ledger.account(bobs, [alice], sg)
    ledger.report(counts, "resets_with_bytes_unacked=%d (%d bytes)"
                  % (stalled, unacked))
    say("handback: vanish bob's sessions: %s" % sg_summary(bob_recs))
    check_counts("vanish", counts, details)
    check_sessions("vanish", a, bob_recs, bobs, details)


async def scenario_server_cut(a):
    """Prosody cuts alice's session (mod_legacy_idle_cut) while she sends
    a burst to bob, who is offline: every message must have reached
    Prosody (bob gets it from offline storage), been bounced to alice, or
    be named in stanzaguard's log.  With --link-port, stanzaguard's
    upstream is a SlowLink to Prosody."""
    rng = random.Random(a.seed)
    sg = SgLog(a.sg_log)
    link = None
    if a.link_port:
        link = SlowLink(a.link_port, a.upstream_port, a.link_delay)
        await link.start()
    ledger = Ledger(a, "server-cut")
    alices, alice_recs = [], []
    for rnd in range(a.rounds):
        alice = await login(a.port, "alice", "r%02d" % rnd)
        alices.append(alice)
        await asyncio.sleep(0.2)
        # Prosody cuts cut_after after the last byte it read: the ping,
        # which came one link delay D before its answer reached us here,
        # or stanzaguard's <a/> to the <r/> that came with the answer, D
        # after.  Aim the first message to reach Prosody about when it
        # cuts (it travels D too), give or take the jitter.
        await alice.ping_server("r%02d-ping" % rnd, 5)
        ref = time.monotonic()
        offset = rng.uniform(-a.jitter, a.jitter) - a.link_delay
        alice.hold += 1             # the burst goes out, cut or not
        delay = ref + a.cut_after + offset - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        ids = [new_id("r%02d-m%02d" % (rnd, i)) for i in range(a.burst)]
        alice.hold -= 1
        await alice.burst("bob@%s" % DOMAIN, ids, a.gap, rng)
        ledger.sent += [i for i in ids if i in alice.sent]
        ledger.unsent += len(alice.unsent)
        await wait_event(alice.gone, a.cut_after + a.close_timeout + 8,
                         "round %d: alice cut" % rnd)
        rec = await sg.wait_end(alice, 10)
        if rec:
            alice_recs.append(rec)
    bobs = []
    await collect(a.port, "bob", ledger, bobs, alices, sg,
                  timeout=3.0)
    await asyncio.sleep(0.2)
    if link is not None:
        await link.stop()
        say("handback: server-cut link: %s" % link.summary())
    counts, details = ledger.account(bobs, alices, sg)
    reached = sum(counts[k] for k in ("live", "live-after-close", "offline"))
    ledger.report(counts, "reached_server=%d not_written=%d"
                  % (reached, ledger.unsent))
    say("handback: server-cut alice's sessions: %s" % sg_summary(alice_recs))
    # Bounced and named are allowed here; lost (silently) is not.
    check_counts("server-cut", counts, details, allow_bounce=True,
                 allow_named=True)
    for c in alices:
        check(not c.saw_sm_elements(), "server-cut: %s received SM "
              "elements" % c.boundjid.full)


async def scenario_cut_recipient(a):
    """Prosody cuts bob's session (mod_legacy_idle_cut) after he has read
    every message alice sent him: none may come again from offline storage
    at his next login, so every one of them must have been acknowledged
    to Prosody before the cut, although no close tag (and so no final
    <a/>) goes to Prosody on a cut."""
    rng = random.Random(a.seed)
    sg = SgLog(a.sg_log)
    link = None
    if a.link_port:
        link = SlowLink(a.link_port, a.upstream_port, a.link_delay)
        await link.start()
    ledger = Ledger(a, "cut-recipient")
    bobs, bob_recs, alices = [], [], []
    for rnd in range(a.rounds):
        bob = await login(a.port, "bob", "r%02d" % rnd)
        bobs.append(bob)
        alice = await login(a.upstream_port, "alice", "direct%02d" % rnd)
        alices.append(alice)
        await settle_offline(ledger, bobs, alices, sg)
        ids = [new_id("r%02d-m%02d" % (rnd, i)) for i in range(a.burst)]
        ledger.sent += ids
        await alice.burst(bob.boundjid.full, ids, a.gap, rng)
        await wait_until(lambda b=bob, i=ids: set(i) <= {
            m["id"] for m in b.messages}, 5)
        await alice.close()
        await wait_event(bob.gone, a.cut_after + a.close_timeout + 8,
                         "round %d: bob cut" % rnd)
        rec = await sg.wait_end(bob, 10)
        if rec:
            bob_recs.append(rec)
    await collect(a.port, "bob", ledger, bobs, alices, sg, timeout=2.0)
    await asyncio.sleep(0.2)
    if link is not None:
        await link.stop()
    counts, details = ledger.account(bobs, alices, sg)
    ledger.report(counts)
    say("handback: cut-recipient bob's sessions: %s" % sg_summary(bob_recs))
    check_counts("cut-recipient", counts, details)
    check_sessions("cut-recipient", a, [], bobs)


async def scenario_client_sm(a):
    """Clients doing XEP-0198 themselves: stanzaguard only watches."""
    sg = SgLog(a.sg_log)
    alice = await login(a.port, "alice", "sm", sm=True, resume=False)
    bob = await login(a.port, "bob", "smr", sm=True, resume=True)
    for c in (alice, bob):
        await wait_until(lambda c=c: c.sm_enabled is not None, 5)
        check(c.sm_enabled is not None, "%s: SM not enabled" % c.user)
    ledger = Ledger(a, "client-sm")
    rng = random.Random(a.seed)
    ids = [new_id("sm-m%02d" % i) for i in range(a.burst)]
    ledger.sent += ids
    await alice.burst(bob.boundjid.full, ids, a.gap, rng)
    await wait_until(lambda: set(ids) <= {m["id"] for m in bob.messages}, 5)
    await asyncio.gather(alice.close(), bob.close())
    recs = []
    for c in (alice, bob):
        r = await sg.wait_end(c, 10)
        if r:
            recs.append(r)
    counts, details = ledger.account([bob], [alice], sg)
    ledger.report(counts)
    say("handback: client-sm sessions: %s" % sg_summary(recs))
    check_counts("client-sm", counts, details)
    for c, r in zip((alice, bob), recs):
        # bob asked for resume: his session may be logged resumable.
        want = ("client",) if c is alice else ("client", "resumable")
        check(r.get("sm") in want, "client-sm: %s's session logged sm=%s, "
              "want %s" % (c.boundjid.full, r.get("sm"), "|".join(want)))
        check(int(r.get("handed_back", 0) or 0) == 0,
              "client-sm: handed_back=%s" % r.get("handed_back"))
        # SM flowed between the client and the server: <r/> or <a/> seen.
        check(c.saw_sm_elements(), "client-sm: %s saw no SM element"
              % c.boundjid.full)
    # The server got exactly one <enable/> per session: none injected.
    try:
        with open(a.server_log, encoding="utf-8", errors="replace") as f:
            enables = len(re.findall(ENABLE_RECEIVED[a.server], f.read()))
    except FileNotFoundError:
        enables = -1
    check(enables in (-1, 2), "client-sm: %s received %d <enable/>, "
          "want 2 (one per client, none injected)" % (a.server, enables))


# How each server's debug log shows an <enable/> it read from a client.
ENABLE_RECEIVED = {
    "prosody": r"Received\[c2s\]: <enable\b",
    "ejabberd": r"Received XML on stream = <<\"<enable\b",
}


SCENARIOS = {
    "read-close": scenario_read_close,
    "idle": scenario_idle,
    "vanish": scenario_vanish,
    "server-cut": scenario_server_cut,
    "cut-recipient": scenario_cut_recipient,
    "client-sm": scenario_client_sm,
}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--port", type=int, required=True,
                   help="stanzaguard's port on 127.0.0.1")
    p.add_argument("--server", choices=sorted(ENABLE_RECEIVED),
                   default="prosody", help="the server behind stanzaguard")
    p.add_argument("--upstream-port", type=int, required=True,
                   help="the server's c2s port on 127.0.0.1")
    p.add_argument("--sg-log", required=True)
    p.add_argument("--server-log", required=True,
                   help="the server's debug log")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--burst", type=int, default=20)
    p.add_argument("--gap", type=float, default=0.01,
                   help="longest pause between two messages of a burst")
    p.add_argument("--body-size", type=int, default=0,
                   help="vanish: this many more bytes in each body")
    p.add_argument("--jitter", type=float, default=0.3,
                   help="the burst starts this much around the deadline")
    p.add_argument("--answer-delay", type=float, default=0.3,
                   help="idle: bob answers the close tag up to this late")
    p.add_argument("--idle", type=float, default=1.0,
                   help="stanzaguard's --idle-timeout, seconds")
    p.add_argument("--cut-after", type=float, default=2.0,
                   help="Prosody's legacy_idle_cut_after, seconds")
    p.add_argument("--close-timeout", type=float, default=2.0)
    p.add_argument("--link-port", type=int,
                   help="server-cut: listen here, relay to --upstream-port "
                   "(stanzaguard's upstream) with --link-delay each way")
    p.add_argument("--link-delay", type=float, default=0.0)
    p.add_argument("--expect-handback", action="store_true",
                   help="stanzaguard has sm-handback: sessions of clients "
                   "without SM must log sm=handback")
    p.add_argument("--seed", type=int,
                   default=int(os.environ.get("SG_SEED", "0") or 0) or
                   random.randrange(1, 1 << 30))
    p.add_argument("--debug-log", help="slixmpp's debug log goes here")
    a = p.parse_args()
    setup_logging(a.debug_log)
    global SERVER_LOG
    SERVER_LOG = a.server_log
    say("handback: %s %s seed=%d rounds=%d burst=%d" % (
        a.server, a.scenario, a.seed, a.rounds, a.burst))
    return run_scenario(SCENARIOS[a.scenario], a, "handback: ")


if __name__ == "__main__":
    sys.exit(main())
