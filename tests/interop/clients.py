#!/usr/bin/python3
"""stanzaguard interop scenarios: slixmpp clients, through stanzaguard,
against a real Prosody.  Called by tests/interop/run.sh, which starts
Prosody and stanzaguard for each scenario and passes their ports and logs.

    clients.py SCENARIO --port P --sg-log FILE --prosody-log FILE [options]

SCENARIO is one of
  client-close   log in, roster, messages; the clients close (disconnect())
  idle           the same, then stay quiet: stanzaguard's idle timeout
                 closes both sides
  server-cut     the same against a Prosody that cuts idle connections
                 without a close tag (mod_legacy_idle_cut)
  burst          many rounds of message bursts sent across the idle close,
                 every message accounted for
  tls-starttls   client-close with --tls starttls (stanzaguard terminates
                 TLS, Prosody behind it plaintext)
  tls-direct     client-close with --tls direct (XEP-0368)
  tls-idle       idle inside TLS (--tls starttls)
  tls-server-cut server-cut inside TLS (--tls starttls)
  tls-refused    a raw client that skips STARTTLS: <policy-violation/>
  proxy-v1       clients from --client-addr through stanzaguard's
  proxy-v2       send-proxy (--proxy v1|v2); Prosody's mod_proxy_header
                 (tests/interop) must log that address, not stanzaguard's

Exit status 0 if every check held; the checks that failed are printed as
"FAIL: ..." lines.

Must run under /usr/bin/python3: Debian's python3-slixmpp (1.8) is only
visible there.

The clients are slixmpp's ClientXMPP with one fix.  Stock slixmpp 1.8, on
receiving the peer's </stream:stream>, aborts the connection at once
(XMLStream.data_received -> abort()) without sending its own close tag, so
the proxy sees an EOF instead of the answer RFC 6120 section 4.4 asks for.
Client.abort() below answers instead: it may finish the burst it is
sending (section 4.4: the other party may "finish transmitting any
outbound data"), writes its close tag, shuts down its write side and waits
for the peer's EOF, recording a TCP reset if one comes.
"""

import argparse
import asyncio
import logging
import os
import random
import re
import sys
import time
import uuid

try:
    import slixmpp
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
except ImportError as e:  # run.sh checks first; this is for direct use
    sys.exit("clients.py: no slixmpp (%s): use /usr/bin/python3 with "
             "python3-slixmpp installed" % e)

DOMAIN = "localhost"
PASSWORD = "secret"
NS_DELAY = "urn:xmpp:delay"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"

NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"

FAILURES = []
CLIENTS = []        # every Client login() made, for the checks at the end
TLS = {"mode": "none", "ca": None}     # set by main()


def say(*a):
    print(*a, flush=True)


def check(cond, what):
    """Record a failed check (and go on: report everything at once)."""
    if not cond:
        FAILURES.append(what)
        say("FAIL: " + what)
    return cond


def xml_attr(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace("'", "&apos;"))


# ------------------------------------------------------------------ clients


class Client(slixmpp.ClientXMPP):
    """A ClientXMPP that answers the peer's close tag and keeps a record of
    what happened on its connection."""

    def __init__(self, user, resource):
        super().__init__("%s@%s/%s" % (user, DOMAIN, resource), PASSWORD)
        self.user = user
        self.resource = resource
        self.whitespace_keepalive = False     # no bytes of our own
        self['feature_mechanisms'].unencrypted_plain = True
        self.started = asyncio.Event()
        self.gone = asyncio.Event()           # connection_lost seen
        self.peer_closed = False              # got </stream:stream>
        self.footer_sent = False              # wrote our </stream:stream>
        self.closed_first = False             # we closed before the peer
        self.lost_exc = None                  # what connection_lost got
        self.got_eof = False
        self.after_close = b""                # bytes after the close tag
        self.no_eof = False                   # peer never sent EOF
        self.stream_errors = []               # conditions
        self.messages = []                    # (id, type, from, stanza)
        self.sent = []                        # ids written to the socket
        self.unsent = []                      # ids we could not write
        self.hold = 0                         # >0: a burst is going on
        self.late_id = None                   # see on_close_hook
        self.last_io = time.monotonic()
        self.eof_wait = 5.0
        self.features_got = []                  # (in TLS?, starttls offered?)
        self.tls_version = None               # at session start
        self.local_addr = None                # our (host, port)
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("stream_error", self._on_stream_error)
        self.register_handler(Callback(
            "interop every message",
            MatchXPath("{%s}message" % self.default_ns), self._on_message))

    # -- connection life

    def go(self, port):
        mode = TLS["mode"]
        if mode != "none":
            self.ca_certs = TLS["ca"]
        self.connect(address=("127.0.0.1", port), use_ssl=(mode == "direct"),
                     force_starttls=(mode == "starttls"),
                     disable_starttls=(mode != "starttls"))

    def _in_tls(self):
        return self.transport is not None and \
            self.transport.get_extra_info("ssl_object") is not None

    async def _handle_stream_features(self, features):
        # Every <stream:features/> the server (stanzaguard) sent us.
        self.features_got.append((
            self._in_tls(),
            features.xml.find("{%s}starttls" % NS_TLS) is not None))
        return await super()._handle_stream_features(features)

    def _on_start(self, _):
        if self.transport is not None:
            so = self.transport.get_extra_info("ssl_object")
            self.tls_version = so.version() if so is not None else None
            self.local_addr = self.transport.get_extra_info("sockname")
        self.started.set()

    def _on_stream_error(self, err):
        self.stream_errors.append(err["condition"])

    def _on_message(self, msg):
        err = msg.xml.find("{%s}error" % self.default_ns)
        cond = None
        if err is not None:
            for ch in err:
                if ch.tag.startswith("{%s}" % NS_STANZAS) and \
                        not ch.tag.endswith("}text"):
                    cond = ch.tag.split("}", 1)[1]
        delayed = msg.xml.find("{%s}delay" % NS_DELAY) is not None
        self.messages.append({"id": msg["id"], "type": msg["type"],
                              "from": str(msg["from"]), "cond": cond,
                              "delayed": delayed})

    def data_received(self, data):
        self.last_io = time.monotonic()
        if self.peer_closed:
            # Rule 2 of the spec: nothing after the close tag.
            self.after_close += data
            return
        super().data_received(data)

    def eof_received(self):
        self.got_eof = True
        return super().eof_received()

    def connection_lost(self, exc):
        self.lost_exc = exc
        super().connection_lost(exc)
        self.gone.set()

    def send_raw(self, data):
        if isinstance(data, bytes):
            text = data.decode("utf-8", "replace")
        else:
            text = data
        if text == self.stream_footer:
            if self.footer_sent:
                return
            self.footer_sent = True
            if not self.peer_closed:
                self.closed_first = True
        elif self.footer_sent:
            # Nothing after our own close tag either.
            return
        self.last_io = time.monotonic()
        super().send_raw(data)

    def abort(self):
        """Called by data_received on the peer's close tag (and by
        disconnect() when its wait runs out).  Answer the close tag
        instead of dropping the connection."""
        if self.disconnect_reason != "End of stream" or \
                self.transport is None or self.peer_closed:
            super().abort()
            return
        self.peer_closed = True
        if self.hold == 0:
            self._answer_close()
        # else: burst() answers when it is done.

    def _answer_close(self):
        if self.transport is None:
            return
        if self.late_id is not None and not self.footer_sent:
            # A stanza sent after the peer's close tag and before ours:
            # it can no longer reach a server that vanished.
            self.write_message(self.late_id[0], self.late_id[1])
        self.send_raw(self.stream_footer)
        try:
            self.transport.write_eof()
        except (OSError, RuntimeError, AttributeError):
            pass
        self.loop.call_later(self.eof_wait, self._eof_timeout)

    def _eof_timeout(self):
        if self.transport is not None:
            self.no_eof = True
            slixmpp.ClientXMPP.abort(self)

    # -- sending

    def write_message(self, to_user, mid, body="hello"):
        """Write a chat message straight to the socket (no send queue, so
        we know exactly what reached the wire).  True if written."""
        if self.transport is None or self.footer_sent:
            self.unsent.append(mid)
            return False
        self.send_raw("<message to='%s@%s' type='chat' id='%s'>"
                      "<body>%s</body></message>"
                      % (to_user, DOMAIN, xml_attr(mid), xml_attr(body)))
        self.sent.append(mid)
        return True

    def hold_close(self):
        """Until release_close(): should the peer close its stream, do not
        answer yet (we have a burst to finish)."""
        self.hold += 1

    def release_close(self):
        self.hold -= 1
        if self.hold == 0 and self.peer_closed and not self.footer_sent:
            self._answer_close()

    def ping_server(self, tag):
        """An XEP-0199 ping to the server: traffic on this session only."""
        if self.transport is not None and not self.footer_sent:
            self.send_raw("<iq type='get' id='%s' to='%s'>"
                          "<ping xmlns='urn:xmpp:ping'/></iq>"
                          % (xml_attr(new_id(tag)), DOMAIN))

    async def burst(self, to_user, ids, gap):
        """Write the messages ids with random gaps of up to gap seconds
        (call between hold_close() and release_close())."""
        for i, mid in enumerate(ids):
            if i and gap > 0:
                await asyncio.sleep(random.uniform(0, gap))
            self.write_message(to_user, mid, "burst %s" % mid)

    async def close(self, timeout=5.0):
        """Close our stream (stock slixmpp disconnect()) and wait."""
        if self.transport is not None:
            self.disconnect(wait=timeout)
        await wait_event(self.gone, timeout + 1, "%s disconnected" % self.jid)

    def received(self, typ=None):
        return [m for m in self.messages if typ is None or m["type"] == typ]


async def wait_event(ev, timeout, what):
    try:
        await asyncio.wait_for(ev.wait(), timeout)
        return True
    except asyncio.TimeoutError:
        check(False, "timed out (%gs) waiting for %s" % (timeout, what))
        return False


async def wait_until(pred, timeout, step=0.02):
    end = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= end:
            return False
        await asyncio.sleep(step)


async def login(port, users, tag, roster=True, timeout=10.0):
    """Connected clients for users, their sessions started, presence sent
    (and, with roster, the roster fetched)."""
    clients = [Client(u, "%s-%s" % (tag, uuid.uuid4().hex[:8]))
               for u in users]
    CLIENTS.extend(clients)
    for c in clients:
        c.go(port)
    for c in clients:
        if not await wait_event(c.started, timeout, "%s to log in" % c.user):
            raise RuntimeError("login failed")
    for c in clients:
        c.send_presence()
        if roster:
            await c.get_roster(timeout=timeout)
    return clients


def new_id(tag):
    # A ':' in every id: sesslog must %-escape it in undeliverable_list.
    return "%s:%s" % (tag, uuid.uuid4().hex[:16])


async def exchange(alice, bob, n=3, timeout=5.0):
    """alice and bob send each other n messages; all must arrive."""
    a_ids = [new_id("a2b") for _ in range(n)]
    b_ids = [new_id("b2a") for _ in range(n)]
    for mid in a_ids:
        alice.write_message(bob.user, mid)
    for mid in b_ids:
        bob.write_message(alice.user, mid)

    def arrived():
        got_b = {m["id"] for m in bob.received("chat")}
        got_a = {m["id"] for m in alice.received("chat")}
        return set(a_ids) <= got_b and set(b_ids) <= got_a
    ok = await wait_until(arrived, timeout)
    check(ok, "messages exchanged before the close: %d of %d arrived"
          % (len({m["id"] for m in bob.received("chat")} & set(a_ids)) +
             len({m["id"] for m in alice.received("chat")} & set(b_ids)),
             2 * n))
    return ok


# ---------------------------------------------------------------- the logs

# One parser for stanzaguard's key=value lines: the integration tests'.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from sgtest import parse_line  # noqa: E402


def _pct_decode(s):
    return re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)),
                  s)


def parse_undeliverable(lst):
    """proxy/sesslog.c's list: items "dir:name:id:type" apart by ' ', each
    part %XX-escaped (' ', ':', '%', control bytes), and a trailing "..."
    when more stanzas were undeliverable than the list names."""
    items, more = [], False
    for word in lst.split(" "):
        if word == "":
            continue
        if word == "...":
            more = True
            continue
        parts = word.split(":")
        if len(parts) != 4:
            check(False, "undeliverable_list item %r is not dir:name:id:type"
                  % word)
            continue
        items.append(tuple(_pct_decode(p) for p in parts))
    return items, more


class SgLog:
    def __init__(self, path):
        self.path = path

    def records(self, event=None):
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        recs = [parse_line(li) for li in lines]
        return [r for r in recs if event is None or r.get("event") == event]

    def session_ends(self):
        return self.records("session-end")

    async def wait_ends(self, n, timeout):
        ok = await wait_until(lambda: len(self.session_ends()) >= n,
                              timeout, 0.05)
        check(ok, "stanzaguard logged %d session-end lines in %gs, want %d"
              % (len(self.session_ends()), timeout, n))
        return self.session_ends()


class ProsodyLog:
    """Prosody's console log at debug level: 'SOURCE  LEVEL<TAB>TEXT'."""

    LINE = re.compile(r"^(\S+)\s+(\w+)\t(.*)$")

    def __init__(self, path):
        self.path = path

    def lines(self):
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                out = []
                for li in f.read().splitlines():
                    m = self.LINE.match(li)
                    if m:
                        out.append(m.groups())
                return out
        except FileNotFoundError:
            return []

    def session_of(self, full_jid):
        """The c2s session id that bound full_jid, and its lines."""
        lines = self.lines()
        sid = None
        for src, _lvl, text in lines:
            if text == "Resource bound: %s" % full_jid:
                sid = src
        if sid is None:
            return None, []
        return sid, [(lvl, text) for src, lvl, text in lines if src == sid]

    def clean_close(self, full_jid):
        """What Prosody 0.12's mod_c2s logs shows of the close of
        full_jid's session: 'clean' when the client closed its stream
        ("Received </stream:stream>", then Prosody's answer and "c2s stream
        for JID closed: session closed"), 'disconnect' when the TCP
        connection just went ("Client disconnected: ..." alone), or what
        is missing."""
        sid, lines = self.session_of(full_jid)
        if sid is None:
            return "no session for %s in Prosody's log" % full_jid
        texts = [t for _l, t in lines]
        got_close = "Received </stream:stream>" in texts
        answered = "Sending[c2s]: </stream:stream>" in texts
        closed = any(t.startswith("c2s stream for %s closed: session closed"
                                  % full_jid) for t in texts)
        timeout = any("Failed to receive a stream close response" in t
                      for t in texts)
        gone = [t for t in texts if t.startswith("Client disconnected")]
        if got_close and answered and closed and not timeout:
            return "clean"
        if gone and not got_close:
            return "disconnect (%s)" % gone[-1]
        return "unclear: close=%s answer=%s closed=%s timeout=%s %s" % (
            got_close, answered, closed, timeout, gone)

    def error_bounces(self):
        """ids of type='error' messages Prosody received on a c2s stream
        (our clients never send any: these are stanzaguard's bounces)."""
        out = set()
        for _src, _lvl, text in self.lines():
            if text.startswith("Received[c2s]: <message") and \
                    "type='error'" in text:
                m = re.search(r"\sid='([^']*)'", text)
                if m:
                    out.add(m.group(1).replace("&apos;", "'")
                            .replace("&lt;", "<").replace("&gt;", ">")
                            .replace("&quot;", '"').replace("&amp;", "&"))
        return out


def check_session(rec, close, c_closed="yes", s_closed="yes", what=""):
    got = (rec.get("close"), rec.get("c_closed"), rec.get("s_closed"))
    check(got == (close, c_closed, s_closed),
          "%sstanzaguard session %s: close=%s c_closed=%s s_closed=%s, "
          "want close=%s c_closed=%s s_closed=%s"
          % (what, rec.get("session"), got[0], got[1], got[2], close,
             c_closed, s_closed))


def check_client_closed(c, peer_first):
    """The client's end of the connection: a close tag, an EOF, no reset,
    nothing after the close tag."""
    who = c.boundjid.full or c.jid
    check(c.footer_sent, "%s wrote its close tag" % who)
    if peer_first:
        check(c.peer_closed and not c.closed_first,
              "%s got the peer's close tag first (peer_closed=%s "
              "closed_first=%s)" % (who, c.peer_closed, c.closed_first))
    else:
        check(c.peer_closed, "%s got the peer's answering close tag" % who)
    check(c.lost_exc is None,
          "%s: connection lost with %r%s, want a clean EOF"
          % (who, c.lost_exc, " (ECONNRESET: a TCP reset)"
             if isinstance(c.lost_exc, ConnectionResetError) else ""))
    check(c.got_eof, "%s saw the peer's EOF" % who)
    check(not c.no_eof, "%s: no EOF from the peer within %gs of its close"
          % (who, c.eof_wait))
    check(c.after_close.strip() == b"",
          "%s got bytes after the close tag: %r" % (who, c.after_close[:200]))


# --------------------------------------------------------------- scenarios


async def scenario_client_close(a):
    sg, pl = SgLog(a.sg_log), ProsodyLog(a.prosody_log)
    alice, bob = await login(a.port, ["alice", "bob"], "cc")
    await exchange(alice, bob)
    say("client-close: logged in, roster, messages exchanged; closing")
    await asyncio.gather(alice.close(), bob.close())
    for c in (alice, bob):
        check_client_closed(c, peer_first=False)
    ends = await sg.wait_ends(2, 10)
    for r in ends:
        check_session(r, "client")
        check(r.get("undeliverable_c") == "0" and
              r.get("undeliverable_s") == "0" and
              r.get("bounced_to_c") == "0" and r.get("bounced_to_s") == "0",
              "session %s: nothing bounced or undeliverable"
              % r.get("session"))
    await asyncio.sleep(0.2)
    for c in (alice, bob):
        res = pl.clean_close(c.boundjid.full)
        check(res == "clean", "Prosody: %s closed %s, want clean"
              % (c.boundjid.full, res))
    say("client-close: stanzaguard %s" % ", ".join(
        "session=%s close=%s c_closed=%s s_closed=%s" % (
            r.get("session"), r.get("close"), r.get("c_closed"),
            r.get("s_closed")) for r in ends))


async def scenario_idle(a):
    sg, pl = SgLog(a.sg_log), ProsodyLog(a.prosody_log)
    alice, bob = await login(a.port, ["alice", "bob"], "idle")
    await exchange(alice, bob)
    quiet = time.monotonic()
    say("idle: logged in, roster, messages exchanged; now quiet")
    for c in (alice, bob):
        await wait_event(c.gone, a.idle + a.close_timeout + 5,
                         "%s to be closed by the idle timeout" % c.user)
    waited = time.monotonic() - quiet
    check(waited >= a.idle * 0.9,
          "closed after %.2fs of quiet, before the idle timeout %gs"
          % (waited, a.idle))
    for c in (alice, bob):
        check_client_closed(c, peer_first=True)
        check(c.disconnect_reason == "End of stream",
              "%s: slixmpp's disconnected reason %r, want 'End of stream'"
              % (c.user, c.disconnect_reason))
    ends = await sg.wait_ends(2, 10)
    for r in ends:
        check_session(r, "idle")
    await asyncio.sleep(0.2)
    for c in (alice, bob):
        res = pl.clean_close(c.boundjid.full)
        check(res == "clean", "Prosody: %s closed %s, want clean"
              % (c.boundjid.full, res))
    say("idle: closed after %.2fs of quiet; stanzaguard %s" % (
        waited, ", ".join(
            "session=%s close=%s c_closed=%s s_closed=%s" % (
                r.get("session"), r.get("close"), r.get("c_closed"),
                r.get("s_closed")) for r in ends)))


async def scenario_server_cut(a):
    sg, pl = SgLog(a.sg_log), ProsodyLog(a.prosody_log)
    alice, bob = await login(a.port, ["alice", "bob"], "cut")
    await exchange(alice, bob)
    # Each client sends one more message after it got the close tag and
    # before its own: S is gone, so stanzaguard must name it undeliverable.
    late = {}
    for c, peer in ((alice, bob), (bob, alice)):
        late[c.user] = new_id("late-" + c.user)
        c.late_id = (peer.user, late[c.user])
    say("server-cut: logged in, roster, messages exchanged; now quiet "
        "until Prosody cuts")
    for c in (alice, bob):
        await wait_event(c.gone, a.cut_after + a.close_timeout + 8,
                         "%s to see the cut" % c.user)
    for c in (alice, bob):
        check("connection-timeout" in c.stream_errors,
              "%s got the stream error <connection-timeout/> (got %s)"
              % (c.user, c.stream_errors))
        check_client_closed(c, peer_first=True)
        check(c.disconnect_reason == "End of stream",
              "%s: slixmpp's disconnected reason %r, want 'End of stream' "
              "(a stream close, not a dropped connection)"
              % (c.user, c.disconnect_reason))
        check(late[c.user] in c.sent, "%s wrote its late message" % c.user)
        check(late[c.user] not in {m["id"] for m in c.messages},
              "%s: no bounce for its late message (the direction to it was "
              "closed)" % c.user)
    ends = await sg.wait_ends(2, 10)
    named = {}
    for r in ends:
        # S sent no close tag: its side ended by EOF.
        check_session(r, "server-vanished", "yes", "eof")
        check(r.get("s_error") == "connection-timeout",
              "session %s: s_error=%s, want connection-timeout"
              % (r.get("session"), r.get("s_error")))
        items, _ = parse_undeliverable(r.get("undeliverable_list", ""))
        for d, name, mid, typ in items:
            named[mid] = (d, name, typ)
    for c in (alice, bob):
        check(named.get(late[c.user]) == ("c2s", "message", "chat"),
              "%s's late message %s named undeliverable as c2s:message:chat "
              "(got %s)" % (c.user, late[c.user], named.get(late[c.user])))
    cuts = [t for _s, _l, t in pl.lines() if t.startswith("legacy_idle_cut:")]
    check(len(cuts) == 2, "Prosody's mod_legacy_idle_cut cut 2 sessions "
          "(logged %d)" % len(cuts))
    for c in (alice, bob):
        # Prosody's side: its module cut the TCP connection, and nothing
        # (no close tag) came from stanzaguard on the dead connection.
        res = pl.clean_close(c.boundjid.full)
        _sid, lines = pl.session_of(c.boundjid.full)
        check(res.startswith("disconnect") and
              any(t.startswith("legacy_idle_cut:") for _l, t in lines),
              "Prosody: %s cut by mod_legacy_idle_cut without a close "
              "handshake (got: %s)" % (c.boundjid.full, res))
    say("server-cut: clients got %s; stanzaguard %s" % (
        [c.stream_errors for c in (alice, bob)], ", ".join(
            "session=%s close=%s c_closed=%s s_closed=%s s_error=%s "
            "undeliverable_c=%s list=%s" % (
                r.get("session"), r.get("close"), r.get("c_closed"),
                r.get("s_closed"), r.get("s_error"),
                r.get("undeliverable_c"), r.get("undeliverable_list"))
            for r in ends)))


async def scenario_burst(a):
    """Rounds of bursts across the idle close; every message accounted."""
    sg, pl = SgLog(a.sg_log), ProsodyLog(a.prosody_log)
    rng = random.Random(a.seed)
    random.seed(a.seed)
    say("burst: %d rounds, %d messages each way per round, idle-timeout "
        "%gs, jitter +-%gs, seed %s" % (a.rounds, a.burst, a.idle, a.jitter,
                                       a.seed))
    all_clients = []
    sessions = 0
    offsets = []
    skewed = 0
    for rnd in range(a.rounds):
        alice, bob = await login(a.port, ["alice", "bob"], "r%02d" % rnd,
                                 roster=(rnd == 0))
        all_clients += [alice, bob]
        sessions += 2
        # Let the login traffic (presence, offline messages) settle.
        await asyncio.sleep(0.1)
        # Quiet until about the idle deadline.  In odd rounds one client
        # pings its server partway through the quiet, so that its session
        # stays open a little longer than its peer's: the burst then aims
        # at the deadline of the session that closes first, and what the
        # other sends into it is bounced back to a sender still connected.
        early = late = None
        if rnd % 2:
            early, late = rng.sample([alice, bob], 2)
            deadline = early.last_io + a.idle
        else:
            deadline = max(alice.last_io, bob.last_io) + a.idle
        offset = rng.uniform(-a.jitter, a.jitter)
        offsets.append(offset)
        for c in (alice, bob):
            c.hold_close()    # answer a close only once our burst is out
        if late is not None:
            await asyncio.sleep(max(0.0, early.last_io + rng.uniform(
                0.3, 0.8) - time.monotonic()))
            late.ping_server("r%02d-ping" % rnd)
            skewed += 1
        delay = deadline + offset - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        a_ids = [new_id("r%02d-a%d" % (rnd, i)) for i in range(a.burst)]
        b_ids = [new_id("r%02d-b%d" % (rnd, i)) for i in range(a.burst)]
        await asyncio.gather(alice.burst("bob", a_ids, a.gap),
                             bob.burst("alice", b_ids, a.gap))
        for c in (alice, bob):
            c.release_close()
        for c in (alice, bob):
            await wait_event(c.gone, a.idle + a.close_timeout + 5,
                             "round %d: %s closed by the idle timeout"
                             % (rnd, c.user))
    # Every round's sessions logged, then log in once more for what
    # Prosody stored offline.
    await sg.wait_ends(sessions, 15)
    alice, bob = await login(a.port, ["alice", "bob"], "final")
    await asyncio.sleep(0.8)
    await asyncio.gather(alice.close(), bob.close())
    finals = [alice, bob]
    sessions += 2
    ends = await sg.wait_ends(sessions, 15)
    await asyncio.sleep(0.2)

    # -- account for every message
    clients = all_clients + finals
    sent = {}                                   # id -> sender user
    for c in clients:
        for mid in c.sent:
            sent[mid] = c.user
    unsent = sum(len(c.unsent) for c in clients)
    delivered, from_offline, bounced = {}, set(), {}
    dup = []
    for c in clients:
        for m in c.messages:
            mid = m["id"]
            if mid not in sent:
                continue
            if m["type"] == "error":
                if sent[mid] == c.user:
                    bounced[mid] = m["cond"]
            elif sent[mid] != c.user:
                if mid in delivered:
                    dup.append(mid)
                delivered[mid] = c.user
                if m["delayed"]:
                    from_offline.add(mid)
    named = {}
    unnamed = 0
    reasons = {}
    for r in ends:
        key = "close=%s c_closed=%s s_closed=%s" % (
            r.get("close"), r.get("c_closed"), r.get("s_closed"))
        reasons[key] = reasons.get(key, 0) + 1
        items, more = parse_undeliverable(r.get("undeliverable_list", ""))
        if more:
            unnamed += (int(r.get("undeliverable_c", 0)) +
                        int(r.get("undeliverable_s", 0)) - len(items))
        for d, name, mid, typ in items:
            named.setdefault(mid, []).append((d, name, typ))
    prosody_bounces = pl.error_bounces()

    cats = {"delivered": 0, "delivered-from-offline": 0,
            "bounced-by-stanzaguard": 0, "bounced-by-prosody": 0,
            "named-undeliverable": 0, "bounce-dropped-by-prosody": 0,
            "lost": 0}
    lost, both, contra = [], [], []
    for mid in sent:
        # Named undeliverable as the message itself (not as the error that
        # bounced it), yet it arrived: rule 5 says exactly one fate.
        if (mid in delivered or mid in bounced) and \
                any(typ != "error" for _d, _n, typ in named.get(mid, [])):
            contra.append(mid)
        if mid in delivered:
            cats["delivered-from-offline" if mid in from_offline
                 else "delivered"] += 1
            if mid in bounced:
                both.append(mid)
        elif mid in bounced:
            cats["bounced-by-stanzaguard"
                 if bounced[mid] == "recipient-unavailable"
                 else "bounced-by-prosody"] += 1
        elif mid in named:
            cats["named-undeliverable"] += 1
        elif mid in prosody_bounces:
            # stanzaguard bounced it to Prosody (an error from the
            # recipient's stream, seen in Prosody's log), and Prosody
            # dropped that error: the sender had gone offline, and Prosody
            # (mod_message) discards errors to offline users.
            cats["bounce-dropped-by-prosody"] += 1
        else:
            cats["lost"] += 1
            lost.append(mid)
    say("burst: %d messages written (%d more not written: the stream had "
        "closed), offsets from the idle deadline %.2f..%.2fs, %d rounds "
        "with one session kept open longer" % (len(sent), unsent,
                                              min(offsets), max(offsets),
                                              skewed))
    for k, v in cats.items():
        say("burst:   %-26s %d" % (k, v))
    say("burst: stanzaguard sessions: %s" % ", ".join(
        "%s x%d" % (k, v) for k, v in sorted(reasons.items())))
    say("burst: stanzaguard bounced_to_c=%d bounced_to_s=%d "
        "undeliverable_c=%d undeliverable_s=%d (named %d, unnamed %d)" % (
            sum(int(r.get("bounced_to_c", 0)) for r in ends),
            sum(int(r.get("bounced_to_s", 0)) for r in ends),
            sum(int(r.get("undeliverable_c", 0)) for r in ends),
            sum(int(r.get("undeliverable_s", 0)) for r in ends),
            sum(len(v) for v in named.values()), unnamed))
    check(not lost, "%d messages lost (in no category), e.g. %s"
          % (len(lost), lost[:5]))
    check(not both, "%d messages both delivered and bounced, e.g. %s"
          % (len(both), both[:5]))
    check(not contra, "%d messages named undeliverable in stanzaguard's "
          "log but delivered or bounced all the same, e.g. %s"
          % (len(contra), contra[:5]))
    check(not dup, "%d messages delivered twice, e.g. %s"
          % (len(dup), dup[:5]))
    check(unnamed == 0, "%d undeliverable stanzas not named in the log "
          "(the list holds 8 per session)" % unnamed)
    for c in clients:
        check(c.lost_exc is None, "%s: connection lost with %r"
              % (c.boundjid.full, c.lost_exc))
        check(c.after_close.strip() == b"",
              "%s got bytes after the close tag: %r"
              % (c.boundjid.full, c.after_close[:200]))
        check(not c.no_eof, "%s: no EOF after the close" % c.boundjid.full)
    for r in ends:
        check(r.get("c_closed") == "yes" and r.get("s_closed") == "yes",
              "session %s: close=%s c_closed=%s s_closed=%s, want both yes"
              % (r.get("session"), r.get("close"), r.get("c_closed"),
                 r.get("s_closed")))


# ---------------------------------------------------------------- TLS


def check_tls_sessions(a, sg, pl):
    """After a scenario run with --tls: every client spoke TLS 1.3 to
    stanzaguard, never saw a STARTTLS offer inside TLS (stanzaguard hides
    Prosody's), and Prosody logged it in over its plaintext port."""
    mode = a.tls
    check(CLIENTS, "no clients to check")
    for c in CLIENTS:
        who = c.boundjid.full or c.jid
        check(c.tls_version == "TLSv1.3", "%s: TLS %s at session start, "
              "want TLSv1.3" % (who, c.tls_version))
        before = [f for f in c.features_got if not f[0]]
        inside = [f for f in c.features_got if f[0]]
        if mode == "starttls":
            # stanzaguard's own features, before TLS: STARTTLS (required).
            check(len(before) == 1 and before[0][1],
                  "%s: one <stream:features/> with <starttls/> before TLS "
                  "(got %s)" % (who, before))
        else:
            check(not before, "%s: direct TLS, yet %d <stream:features/> "
                  "before TLS" % (who, len(before)))
        # Inside TLS: SASL, then bind (Prosody's, relayed).
        check(len(inside) >= 2, "%s: %d <stream:features/> inside TLS, "
              "want 2 (SASL, bind)" % (who, len(inside)))
        check(not any(f[1] for f in inside), "%s: offered <starttls/> "
              "again inside TLS: %s" % (who, inside))
        sid, lines = pl.session_of(c.boundjid.full)
        if not check(sid is not None, "Prosody: no session bound %s" % who):
            continue
        texts = [t for _l, t in lines]
        check(not any("starttls" in t.lower() and t.startswith("Received")
                      for t in texts),
              "Prosody: %s: stanzaguard sent <starttls/> upstream" % who)
        check("Authenticated as %s" % c.boundjid.bare in texts,
              "Prosody: %s authenticated on the plaintext upstream" % who)
    starts = sg.records("session-start")
    ends = sg.session_ends()
    check(len(starts) == len(CLIENTS) and len(ends) == len(CLIENTS),
          "stanzaguard: %d session-start and %d session-end lines for %d "
          "clients" % (len(starts), len(ends), len(CLIENTS)))
    for r in starts + ends:
        check(r.get("tls") == "TLSv1.3" and r.get("cipher"),
              "stanzaguard %s session=%s: tls=%s cipher=%s, want TLSv1.3"
              % (r.get("event"), r.get("session"), r.get("tls"),
                 r.get("cipher")))
    say("%s: every client on %s; stanzaguard sessions %s" % (
        a.scenario, sorted({c.tls_version for c in CLIENTS}), ", ".join(
            "%s tls=%s cipher=%s" % (r.get("session"), r.get("tls"),
                                     r.get("cipher")) for r in ends)))


async def upstream_offers_starttls(a):
    """Prosody (it has a certificate) offers <starttls/> to whoever opens
    a stream on its plaintext port: stanzaguard must hide that offer."""
    reader, writer = await asyncio.open_connection("127.0.0.1",
                                                   a.upstream_port)
    writer.write(b"<?xml version='1.0'?><stream:stream to='localhost' "
                 b"version='1.0' xmlns='jabber:client' "
                 b"xmlns:stream='http://etherx.jabber.org/streams'>")
    feats = await read_until(reader, b"</stream:features>", 5,
                             "Prosody's features")
    writer.write(b"</stream:stream>")
    writer.close()
    return check(NS_TLS.encode() in feats, "Prosody offers <starttls/> on "
                 "its plaintext port (got %r)" % feats[-300:])


def tls_scenario(base):
    async def run(a):
        check(a.tls != "none", "%s needs --tls" % a.scenario)
        await upstream_offers_starttls(a)
        await base(a)
        await asyncio.sleep(0.2)
        check_tls_sessions(a, SgLog(a.sg_log), ProsodyLog(a.prosody_log))
    return run


async def read_until(reader, marker, timeout, what):
    buf = b""
    try:
        while marker not in buf:
            got = await asyncio.wait_for(reader.read(4096), timeout)
            if not got:
                check(False, "%s: EOF before %r (got %r)" % (what, marker,
                                                             buf[-300:]))
                return buf
            buf += got
    except asyncio.TimeoutError:
        check(False, "%s: no %r in %gs (got %r)" % (what, marker, timeout,
                                                   buf[-300:]))
    return buf


async def scenario_tls_refused(a):
    """A raw client skips STARTTLS: stanzaguard answers <auth/> with
    <policy-violation/> and its close tag, logs why, and never connects
    to Prosody."""
    sg, pl = SgLog(a.sg_log), ProsodyLog(a.prosody_log)
    reader, writer = await asyncio.open_connection("127.0.0.1", a.port)
    writer.write(b"<?xml version='1.0'?><stream:stream to='localhost' "
                 b"version='1.0' xmlns='jabber:client' "
                 b"xmlns:stream='http://etherx.jabber.org/streams'>")
    feats = await read_until(reader, b"</stream:features>", 5,
                                "features")
    check(b"<starttls xmlns='%s'><required/></starttls>"
          % NS_TLS.encode() in feats,
          "features offer <starttls><required/>: %r" % feats[-300:])
    writer.write(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                 b"mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>")
    got = await read_until(reader, b"</stream:stream>", 5, "refusal")
    check(b"<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:"
          b"xmpp-streams'/>" in got, "<policy-violation/>: %r" % got[-300:])
    check(got.endswith(b"</stream:error></stream:stream>"),
          "the stream error, then the close tag, last: %r" % got[-100:])
    writer.write(b"</stream:stream>")
    try:
        rest = await asyncio.wait_for(reader.read(), 5)
        check(rest == b"", "nothing after the close tag: %r" % rest)
    except asyncio.TimeoutError:
        check(False, "no EOF within 5s of our close tag")
    writer.close()
    ok = await wait_until(lambda: sg.records("starttls-refused"), 5, 0.05)
    check(ok, "stanzaguard logged event=starttls-refused")
    for r in sg.records("starttls-refused"):
        check("starttls" in r.get("reason", "").lower() and
              r.get("client", "").startswith("127.0.0.1:"),
              "starttls-refused line names the client and why: %r" % r)
    check(not any(t == "Client connected" for _s, _l, t in pl.lines()),
          "Prosody never heard of the refused client")
    say("tls-refused: %s" % [(r.get("client"), r.get("reason"))
                             for r in sg.records("starttls-refused")])


# ------------------------------------------------------------ PROXY protocol


def connect_from(addr):
    """slixmpp 1.8 cannot bind its socket before connecting: make the
    loop's create_connection bind every client to addr."""
    loop = asyncio.get_running_loop()
    orig = loop.create_connection

    async def create_connection(*args, **kw):
        kw.setdefault("local_addr", (addr, 0))
        return await orig(*args, **kw)
    loop.create_connection = create_connection


async def scenario_proxy_addr(a):
    """Clients from a.client_addr; stanzaguard sends a PROXY header
    (a.proxy) to Prosody, whose mod_proxy_header logs the address it
    names: the client's, not stanzaguard's."""
    sg, pl = SgLog(a.sg_log), ProsodyLog(a.prosody_log)
    connect_from(a.client_addr)
    alice, bob = await login(a.port, ["alice", "bob"], "px")
    await exchange(alice, bob)
    await asyncio.gather(alice.close(), bob.close())
    for c in (alice, bob):
        check_client_closed(c, peer_first=False)
    ends = await sg.wait_ends(2, 10)
    for r in ends:
        check_session(r, "client")
    await asyncio.sleep(0.2)
    starts = {r.get("client") for r in sg.records("session-start")}
    for c in (alice, bob):
        who = c.boundjid.full
        caddr = "%s:%d" % (c.local_addr[0], c.local_addr[1])
        check(c.local_addr[0] == a.client_addr, "%s connected from %s, "
              "want %s" % (who, caddr, a.client_addr))
        check(caddr in starts, "stanzaguard's session-start names client=%s "
              "(got %s)" % (caddr, starts))
        sid, lines = pl.session_of(who)
        heads = [t for _l, t in lines if t.startswith("proxy_header:")]
        want = "proxy_header: %s TCP4 client %s server 127.0.0.1:%d" % (
            a.proxy, caddr, a.port)
        check(len(heads) == 1 and heads[0].startswith(want),
              "Prosody: %s's session logged %r, want %r" % (who, heads,
                                                            want))
        check(pl.clean_close(who) == "clean", "Prosody: %s closed %s, want "
              "clean" % (who, pl.clean_close(who)))
        say("%s: %s: %s" % (a.scenario, who, heads))


SCENARIOS = {
    "client-close": scenario_client_close,
    "idle": scenario_idle,
    "server-cut": scenario_server_cut,
    "burst": scenario_burst,
    "tls-starttls": tls_scenario(scenario_client_close),
    "tls-direct": tls_scenario(scenario_client_close),
    "tls-idle": tls_scenario(scenario_idle),
    "tls-server-cut": tls_scenario(scenario_server_cut),
    "tls-refused": scenario_tls_refused,
    "proxy-v1": scenario_proxy_addr,
    "proxy-v2": scenario_proxy_addr,
}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--port", type=int, required=True,
                   help="stanzaguard's listening port on 127.0.0.1")
    p.add_argument("--upstream-port", type=int,
                   help="Prosody's c2s port on 127.0.0.1 (tls-*)")
    p.add_argument("--sg-log", required=True)
    p.add_argument("--prosody-log", required=True)
    p.add_argument("--idle", type=float, default=2.0,
                   help="stanzaguard's --idle-timeout, seconds")
    p.add_argument("--close-timeout", type=float, default=2.0)
    p.add_argument("--cut-after", type=float, default=2.0,
                   help="Prosody's legacy_idle_cut_after, seconds")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--burst", type=int, default=4)
    p.add_argument("--jitter", type=float, default=0.5)
    p.add_argument("--gap", type=float, default=0.02,
                   help="longest pause between two messages of a burst")
    p.add_argument("--seed", type=int,
                   default=int(os.environ.get("SG_SEED", "0") or 0) or
                   random.randrange(1, 1 << 30))
    p.add_argument("--debug-log", help="slixmpp's debug log goes here")
    p.add_argument("--tls", choices=("none", "starttls", "direct"),
                   default="none", help="how the clients start TLS")
    p.add_argument("--ca", help="the CA file the clients verify against")
    p.add_argument("--client-addr", default="127.0.0.1",
                   help="proxy-v1, proxy-v2: the loopback address clients bind to")
    p.add_argument("--proxy", choices=("v1", "v2"), default="v1",
                   help="proxy-v1, proxy-v2: the PROXY version stanzaguard sends")
    a = p.parse_args()
    TLS["mode"], TLS["ca"] = a.tls, a.ca
    setup_logging(a.debug_log)
    return run_scenario(SCENARIOS[a.scenario], a)


def setup_logging(debug_log):
    """slixmpp's debug log to the file debug_log, or nothing but the
    critical."""
    if debug_log:
        logging.basicConfig(filename=debug_log, level=logging.DEBUG,
                            format="%(asctime)s %(name)s %(message)s")
    else:
        logging.basicConfig(level=logging.CRITICAL)


def run_scenario(scenario, a, prefix=""):
    """Run the coroutine scenario(a); any error in it is a failed check.
    The exit status: 1 if a check failed."""
    try:
        asyncio.run(scenario(a))
    except Exception as e:  # noqa: BLE001 - any error fails the scenario
        import traceback
        traceback.print_exc()
        check(False, "%s: %s: %s" % (a.scenario, type(e).__name__, e))
    if FAILURES:
        say("%s%s: %d checks failed" % (prefix, a.scenario, len(FAILURES)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
