"""A randomized fault test: 40 sessions through the real binary (half on
a listener with close-order=client-first, half server-first), each
side a scripted peer that picks random actions at random moments, under
short daemon timeouts.  SG_SEED=N replays a run.

Actions: stanzas with unique ids (one, a burst, or one in pieces), a
silence, and then one way to end: the close tag, vanish (close), reset
(SO_LINGER 0), go silent for good, garbage (bad XML), slowloris (a
partial stanza trickling past stanza-timeout).  A peer that is sent a
close tag answers it in time (finishing what it was sending, maybe a
stanza or two more, then its tag), or never sends another byte.

At the end (spec/close-handshake.md):
  - every session ended: one session-end line each;
  - no peer was reset or had its writes refused (invariant 4), except the
    ones that reset or vanished themselves;
  - everything a peer received is well-formed XML, complete stanzas only,
    nothing after a close tag (invariants 2 and 3); a peer that did not
    vanish and left no partial stanza gets its close tag then EOF;
  - every stanza a peer sent completely (its end acknowledged by the
    daemon's kernel) is exactly one of (rule 5): received by the other
    peer; bounced back to its sender (only bounceable kinds, addressed
    back); named in exactly one event=undeliverable line; or written
    into the kernel of a peer that then vanished before reading it:
    forwarded to the receiver, or bounced to the sender (it must fit in
    the bytes the session-end line says were written to that peer beyond
    what the peer read, and come after everything the peer did read);
  - the byte counts of each session-end line match what the peers read;
  - no file descriptor leaked, RSS back near its start.
"""

import collections
import random
import selectors
import socket
import struct
import time
import xml.parsers.expat as expat

from sgtest import (CLOSE, LOOPBACK, check, client_header, free_port,
                    hostport, rng_for, server_header, timeout, unacked,
                    wait_until, wrapper)
import sgtest
from xmpppeer import assert_ends_with_close_then_eof

SESSIONS = 40
START_SPREAD = 6.0          # sessions start over this many seconds
RUN_LIMIT = 35.0            # every peer done within this (bounded)

TERMINALS = [("close", 40), ("vanish", 12), ("reset", 12), ("silent", 14),
             ("garbage", 10), ("slowloris", 8)]
GARBAGE = [b"<message><body>\xff\xfe</body></message>",
           b"<!-- a comment -->", b"<?pi here?>",
           b"<message><body>&bogus;</body></message>", b"</nomatch>",
           b"<a><b></a>", b"text between stanzas", b"<m>\x00</m>"]
# (name, type, bounceable per rule 5)
KINDS = [("message", "chat", True), ("message", "normal", True),
         ("message", "headline", False), ("message", "groupchat", False),
         ("iq", "get", True), ("iq", "set", True), ("iq", "result", False),
         ("presence", None, False)]


def client_addr(i):
    """Session i's client connects from 127.0.1.(i+1)."""
    return "127.0.1.%d" % (i + 1)


def _pick(rng, weighted):
    total = sum(w for _, w in weighted)
    x = rng.uniform(0, total)
    for v, w in weighted:
        x -= w
        if x <= 0:
            return v
    return weighted[-1][0]


class Sent:
    __slots__ = ("id", "name", "type", "frm", "to", "start", "end", "raw")

    def __init__(self, sid, name, stype, frm, to, start, raw):
        self.id, self.name, self.type = sid, name, stype
        self.frm, self.to = frm, to
        self.start, self.end, self.raw = start, start + len(raw), raw


class Peer:
    """One side of a session, a non-blocking socket driven by a script."""

    def __init__(self, run, sess, role, sock):
        self.run, self.sess, self.role = run, sess, role
        self.who = "%s%d" % (role.upper(), sess.i)
        self.sock = sock
        sock.setblocking(False)
        self.out = bytearray()
        self.queued = 0           # bytes queued by the script, in total
        self.written = 0          # bytes the kernel took
        self.delivered = None     # set when we close abruptly
        self.sent = []            # Sent, in order
        self.wire = bytearray()
        self.got = []             # (name, attrs) of stanzas received
        self.got_close = False
        self.eof = False
        self.closed = False
        self.shut_after_flush = False
        self.ending = None        # the terminal action taken, if any
        self.partial_left = False
        self.reacted = False
        self.errors = []          # resets, refused writes: failures
        self.bad_xml = None
        self.gen = None
        self.wake = float("inf")
        self.interruptible = False
        self.hdr = None
        self.depth = 0
        self.cur = None
        self.p = expat.ParserCreate()
        self.p.StartElementHandler = self._start
        self.p.EndElementHandler = self._end
        self.n = 0
        self.trace = []           # (seconds, what): printed on failure

    def note(self, what):
        self.trace.append((time.monotonic() - self.run.t0, what))

    # ---------------------------------------------------------- receiving
    def _start(self, name, attrs):
        if self.depth == 0:
            self.hdr = attrs
        elif self.depth == 1:
            self.cur = (name, attrs)
        self.depth += 1

    def _end(self, name):
        self.depth -= 1
        if self.depth == 1:
            self.got.append(self.cur)
        elif self.depth == 0:
            self.got_close = True

    def on_read(self):
        """One read; False when there was nothing to read."""
        try:
            data = self.sock.recv(1 << 16)
        except BlockingIOError:
            return False
        except OSError as e:
            self.note("recv: %s" % e)
            self.errors.append("recv: %s" % e)
            self.close_now()
            return False
        if not data:
            self.eof = True
            self.note("EOF")
            self.close_now()
            return False
        self.wire += data
        was_closed = self.got_close
        if self.bad_xml is None:
            try:
                self.p.Parse(data, False)
            except expat.ExpatError as e:
                self.bad_xml = "%s at byte %d" % (e, len(self.wire))
        if self.hdr is not None and self.role == "s" and \
                self.sess.s is None:
            self.run.bind_server(self)
        if self.got_close and not was_closed:
            self.note("got close tag")
            self.on_close_tag()
        return True

    def drain(self):
        """Read whatever has arrived."""
        while not self.closed and self.on_read():
            pass

    # ------------------------------------------------------------ sending
    def queue(self, data):
        self.note("queue %d bytes at %d: %r" % (
            len(data), self.queued, bytes(data[:40]) + (
                b"..." if len(data) > 40 else b"")))
        self.out += data
        self.queued += len(data)
        self.flush()

    def flush(self):
        while self.out and not self.closed:
            try:
                n = self.sock.send(self.out[:1 << 16])
            except BlockingIOError:
                break
            except OSError as e:
                self.note("send: %s" % e)
                self.errors.append("send: %s" % e)
                self.close_now()
                return
            self.written += n
            del self.out[:n]
        if not self.out and self.shut_after_flush and not self.closed:
            self.shut_after_flush = False
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError as e:
                self.errors.append("shutdown: %s" % e)
        self.run.update(self)

    def stanza(self, rng):
        name, stype, _ = KINDS[rng.randrange(len(KINDS))]
        self.n += 1
        sid = "r-%d-%s-%d" % (self.sess.i, self.role, self.n)
        me = ("alice@example.com/c%d" % self.sess.i if self.role == "c"
              else "bob@example.com/r%d" % self.sess.i)
        other = ("bob@example.com/r%d" % self.sess.i if self.role == "c"
                 else "alice@example.com/c%d" % self.sess.i)
        t = "" if stype is None else " type='%s'" % stype
        body = "x" * int(rng.expovariate(1 / 300.0))
        if name == "message":
            inner = "<body>%s</body>" % body
        elif name == "iq":
            inner = "<query xmlns='urn:x:rand'>%s</query>" % body
        else:
            inner = "<status>%s</status>" % body
        raw = ("<%s from='%s' to='%s' id='%s'%s>%s</%s>"
               % (name, me, other, sid, t, inner, name)).encode()
        s = Sent(sid, name, stype, me, other, self.queued, raw)
        self.sent.append(s)
        return raw

    # ------------------------------------------------------------ endings
    def close_now(self):
        if self.closed:
            return
        self.closed = True
        self.gen = None
        self.run.drop(self)
        self.sock.close()

    def abrupt(self, how):
        """Vanish (close) or reset (SO_LINGER 0) now."""
        self.ending = how
        self.note("%s (%d written, %d unsent)" % (how, self.written,
                                                   len(self.out)))
        self.out.clear()
        try:
            self.delivered = self.written - unacked(self.sock)
        except OSError:
            self.delivered = 0
        if how == "reset":
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
        self.close_now()

    def on_close_tag(self):
        """The daemon sent us a close tag: react at the next action
        boundary (a sleep that may be cut short is one)."""
        if self.ending is not None or self.gen is None:
            return
        if self.interruptible:
            self.wake = time.monotonic()
            self.run.update(self)


class Session:
    def __init__(self, i, rng):
        self.i = i
        self.rng = rng
        self.c = None
        self.s = None


class Run:
    def __init__(self, ctx, ports, up_sock, master):
        self.ctx, self.ports, self.up = ctx, ports, up_sock
        self.sel = selectors.DefaultSelector()
        self.sel.register(up_sock, selectors.EVENT_READ, None)
        self.sessions = [Session(i, random.Random(
            master.getrandbits(64))) for i in range(SESSIONS)]
        self.peers = []
        self.t0 = time.monotonic()

    def update(self, p):
        if p.closed:
            return
        ev = selectors.EVENT_READ
        if p.out:
            ev |= selectors.EVENT_WRITE
        try:
            self.sel.modify(p.sock, ev, p)
        except KeyError:
            self.sel.register(p.sock, ev, p)

    def drop(self, p):
        try:
            self.sel.unregister(p.sock)
        except (KeyError, ValueError):
            pass

    def start_session(self, sess):
        sk = socket.socket()
        sk.settimeout(5)
        # A loopback address of its own: the log's client= names the
        # session even when a port is used again.
        sk.bind((client_addr(sess.i), 0))
        # Even sessions: close-order client-first; odd: server-first.
        sk.connect((LOOPBACK, self.ports[sess.i % 2]))
        c = Peer(self, sess, "c", sk)
        c.addr = hostport(*sk.getsockname())
        sess.c = c
        self.peers.append(c)
        c.queue(client_header("r%d.test" % sess.i))
        c.gen = self.client_script(c)
        c.wake = float("inf")     # started once the server's header came

    def bind_server(self, s):
        to = s.hdr.get("to", "")
        i = int(to[1:].split(".")[0])
        sess = self.sessions[i]
        sess.s, s.sess = s, sess
        s.who = "S%d" % i
        s.queue(server_header("r%d.test" % i, sid="rs%d" % i))
        s.gen = self.script(s)
        s.wake = time.monotonic()

    def accept(self):
        try:
            sk, _ = self.up.accept()
        except BlockingIOError:
            return
        p = Peer(self, Session(-1, None), "s", sk)
        self.peers.append(p)
        self.update(p)

    # ------------------------------------------------------------ scripts
    def client_script(self, c):
        yield 0     # woken when the server's header has arrived
        yield from self.script(c)

    def script(self, p):
        rng = p.sess.rng
        for _ in range(rng.randint(0, 16)):
            if p.got_close:
                break
            a = _pick(rng, [("one", 40), ("burst", 12), ("pieces", 15),
                            ("silence", 12)])
            if a == "one":
                p.queue(p.stanza(rng))
                p.interruptible = True
                yield rng.uniform(0, 0.3)
                p.interruptible = False
            elif a == "burst":
                p.queue(b"".join(p.stanza(rng)
                                 for _ in range(rng.randint(2, 10))))
                p.interruptible = True
                yield rng.uniform(0, 0.3)
                p.interruptible = False
            elif a == "pieces":
                raw = p.stanza(rng)
                cuts = sorted(rng.sample(range(1, len(raw)),
                                         min(len(raw) - 1,
                                             rng.randint(1, 3))))
                prev = 0
                for cut in cuts:
                    p.queue(raw[prev:cut])
                    prev = cut
                    yield rng.uniform(0, 0.08)
                p.queue(raw[prev:])
            else:
                p.interruptible = True
                yield rng.uniform(0.3, 2.5)
                p.interruptible = False
        if p.got_close:
            yield from self.react(p, rng)
            return
        how = _pick(rng, TERMINALS)
        p.ending = how
        p.note("ending: " + how)
        if how == "close":
            p.queue(CLOSE)
            p.shut_after_flush = True
            p.flush()
        elif how in ("vanish", "reset"):
            # Half of them right after the last stanza (what the daemon
            # has in flight for us is then lost in our kernel), half a
            # moment later, having read what came.
            if rng.random() < 0.5:
                yield rng.uniform(0.0, 0.15)
                if not p.closed:
                    p.drain()
            if not p.closed:
                p.abrupt(how)
        elif how == "garbage":
            p.queue(GARBAGE[rng.randrange(len(GARBAGE))])
        elif how == "slowloris":
            p.partial_left = True
            p.queue(b"<message id='slow-%d-%s'><body>" % (p.sess.i,
                                                         p.role.encode()))
            t0 = time.monotonic()
            while not p.closed and time.monotonic() - t0 < 8:
                p.queue(b"z")
                yield 0.25
        # "silent": nothing more, ever

    def react(self, p, rng):
        """Answer the close tag in time, or never send another byte."""
        p.reacted = True
        if rng.random() < 0.75:
            p.ending = "answer"
            p.note("ending: answer")
            if rng.random() < 0.4:
                # Slow, but well within close-timeout (1 s).
                yield rng.uniform(0.1, 0.5)
            for _ in range(rng.randint(0, 2)):
                p.queue(p.stanza(rng))
                yield rng.uniform(0, 0.05)
            p.queue(CLOSE)
            p.shut_after_flush = True
            p.flush()
        else:
            p.ending = "unresponsive"
            p.note("ending: unresponsive")

    def step(self, p, now):
        if p.gen is None or p.closed:
            p.wake = float("inf")
            return
        try:
            d = next(p.gen)
            p.wake = now + d
        except StopIteration:
            p.gen = None
            p.wake = float("inf")

    # -------------------------------------------------------------- loop
    def loop(self):
        t0 = self.t0
        starts = sorted((self.sessions[i].rng.uniform(0, START_SPREAD), i)
                        for i in range(SESSIONS))
        deadline = t0 + RUN_LIMIT
        while True:
            now = time.monotonic()
            while starts and t0 + starts[0][0] <= now:
                self.start_session(self.sessions[starts.pop(0)[1]])
            live = [p for p in self.peers if not p.closed]
            if not starts and not live and all(
                    s.c is not None for s in self.sessions):
                return now - t0
            check(now < deadline, "after %.0fs still open: %s" % (
                RUN_LIMIT, ", ".join("%s(%s%s)" % (
                    p.who, p.ending, " got-close" if p.got_close else "")
                    for p in live[:20])))
            # Clients start their script once the server's header came.
            for p in live:
                if p.role == "c" and p.hdr is not None and \
                        p.wake == float("inf") and p.gen is not None and \
                        not getattr(p, "started", False):
                    p.started = True
                    p.wake = now
            wake = min([p.wake for p in live] + [now + 0.05] +
                       ([t0 + starts[0][0]] if starts else []))
            for key, ev in self.sel.select(max(0.0, min(wake - now, 0.05))):
                if key.data is None:
                    self.accept()
                    continue
                p = key.data
                if ev & selectors.EVENT_WRITE:
                    p.flush()
                if ev & selectors.EVENT_READ and not p.closed:
                    p.on_read()
            now = time.monotonic()
            for p in self.peers:
                if not p.closed and p.wake <= now:
                    self.step(p, now)


# ------------------------------------------------------------- accounting

def _stanzas_of(peer, problems):
    """What peer received: {id: (name, attrs)} for stanzas, and
    {id + "#error": (name, attrs)} for error stanzas (bounces); a
    repeated one is a problem."""
    out = {}
    for name, attrs in peer.got:
        sid = attrs.get("id")
        if sid is None:
            continue
        key = sid + "#error" if attrs.get("type") == "error" else sid
        if key in out:
            problems.append("%s received %s twice" % (peer.who, key))
        out[key] = (name, attrs)
    return out


MIN_BOUNCE = 100       # bytes: no bounce is shorter (lib/compose.c)


def _gone(p):
    """p closed without reading to EOF (it vanished or reset)."""
    return p.delivered is not None or not p.eof


def _bounceable(st):
    return any(k[0] == st.name and k[1] == st.type and k[2] for k in KINDS)


def _account(d, sessions, ends_by_addr):
    cats = collections.Counter()
    undeliv = collections.Counter()
    undeliv_dir = {}
    for r in d.find(event="undeliverable"):
        undeliv[r.get("id", "")] += 1
        undeliv_dir[r.get("id", "")] = r.get("dir")
    problems = []
    for sess in sessions:
        c, s = sess.c, sess.s
        end = ends_by_addr[sess.c.addr]
        # What the daemon wrote to each peer beyond what the peer read:
        # lost in the kernel of a peer that went away.  Nothing for one
        # that read to EOF.
        tail = {}
        for p, out_key in ((c, "c_bytes_out"), (s, "s_bytes_out")):
            if p is None:
                continue
            tail[p] = int(end.get(out_key, "0")) - len(p.wire)
            if p.delivered is None and p.eof and tail[p] != 0:
                problems.append("%s read %d bytes to EOF, the log says "
                                "%s=%s" % (p.who, len(p.wire), out_key,
                                           end.get(out_key)))
        for x, y, dirn in ((c, s, "c2s"), (s, c, "s2c")):
            if x is None:
                continue
            got_y = _stanzas_of(y, []) if y is not None else {}
            got_x = _stanzas_of(x, problems if dirn == "c2s" else [])
            sure = x.written if x.delivered is None else x.delivered
            last_received = last_bounced = -1
            lost = []
            for k, st in enumerate(x.sent):
                where = []
                if st.id in got_y:
                    where.append("received")
                    last_received = k
                if st.id + "#error" in got_x:
                    where.append("bounced")
                    last_bounced = k
                    name, attrs = got_x[st.id + "#error"]
                    if not _bounceable(st):
                        problems.append("%s: %s of type %s bounced (rule 5 "
                                        "says never)" % (st.id, st.name,
                                                         st.type))
                    if attrs.get("from") != st.to or \
                            attrs.get("to") != st.frm or name != st.name:
                        problems.append("bounce of %s not addressed back: "
                                        "%r" % (st.id, attrs))
                if undeliv[st.id]:
                    where.append("undeliverable")
                    if undeliv[st.id] != 1:
                        problems.append("%s in %d undeliverable lines"
                                        % (st.id, undeliv[st.id]))
                    if undeliv_dir[st.id] != dirn:
                        problems.append("%s undeliverable dir=%s, sent %s"
                                        % (st.id, undeliv_dir[st.id], dirn))
                if len(where) > 1:
                    problems.append("%s is %s (rule 5: exactly one)"
                                    % (st.id, " and ".join(where)))
                if st.end > sure:
                    cats["not sent completely" if not where
                         else "sent, end unacknowledged"] += 1
                    continue
                if where:
                    cats[where[0]] += 1
                else:
                    lost.append((k, st))
            # What is left was written into the kernel of a peer that then
            # went away without reading it: forwarded to the receiver
            # after everything it read, or bounced to the sender after
            # every bounce it read.  It must fit in what the daemon wrote
            # to that peer beyond what the peer read.
            unaccounted = []
            for k, st in lost:
                if y is not None and _gone(y) and k > last_received and \
                        tail[y] >= len(st.raw):
                    tail[y] -= len(st.raw)
                    cats["forwarded into a vanished receiver"] += 1
                elif _gone(x) and _bounceable(st) and k > last_bounced and \
                        tail[x] >= MIN_BOUNCE:
                    tail[x] -= MIN_BOUNCE
                    cats["bounced into a vanished sender"] += 1
                else:
                    unaccounted.append(st)
            if unaccounted:
                sess.bad = True
                problems.append(
                    "session %d %s: %d stanza(s) unaccounted for: %s "
                    "(sender %s ending=%s, receiver %s ending=%s eof=%s; "
                    "bytes written beyond what was read, left: %s)"
                    % (sess.i, dirn, len(unaccounted),
                       " ".join(st.id for st in unaccounted[:6]),
                       x.who, x.ending, y.who if y else "-",
                       y.ending if y else "-", y.eof if y else "-",
                       {p.who: n for p, n in tail.items()}))
            # What y received from x: only what x sent, each once.
            if y is not None:
                ids = {st.id for st in x.sent}
                for name, attrs in y.got:
                    sid = attrs.get("id")
                    if sid is None or attrs.get("type") == "error":
                        continue
                    if sid not in ids:
                        problems.append("%s received %s %r that %s never "
                                        "sent" % (y.who, name, sid, x.who))
    # Every undeliverable line names a stanza some peer sent.
    known = {st.id for sess in sessions for p in (sess.c, sess.s)
             if p is not None for st in p.sent}
    for sid in undeliv:
        if sid not in known:
            problems.append("undeliverable id %r was never sent" % sid)
    return cats, problems


def _dump(d, sess, end):
    """What happened in a session with a problem: both peers' traces and
    the session's log lines."""
    print("--- session %d (%s), log:" % (sess.i, end["client"]))
    for line in d.lines:
        r = sgtest.parse_line(line)
        if r.get("session") == end["session"] and r.get("event") in (
                "session-start", "session-end", "undeliverable"):
            print("   ", line)
    for p in (sess.c, sess.s):
        if p is None:
            continue
        print("--- %s: ending=%s written=%d delivered=%s eof=%s, trace:"
              % (p.who, p.ending, p.written, p.delivered, p.eof))
        for t, what in p.trace:
            print("    %7.3f %s" % (t, what))
        print("    received: %r" % bytes(p.wire[-600:]))


@timeout(60)
def test_random_faults(ctx):
    """40 sessions of random stanzas, closes, vanishes, resets, silences,
    garbage and slowloris under 1 s timeouts: every session ends, no
    peer is reset, every stanza sent completely is received, bounced,
    named undeliverable or was forwarded into a peer that vanished; no fd
    leaked, RSS back near its start."""
    master = rng_for("random-faults")
    up = ctx.upstream(backlog=256)
    ports = [free_port(), free_port()]
    conf = ctx.path("random.conf")
    with open(conf, "w") as f:
        f.write("[global]\nstats-interval = 0\nidle-timeout = 1s\n"
                "close-timeout = 1s\nstanza-timeout = 1s\n"
                "[cf]\nlisten = %s\nupstream = %s\n"
                "[sf]\nlisten = %s\nupstream = %s\n"
                "close-order = server-first\n"
                % (hostport(LOOPBACK, ports[0]), up.addr,
                   hostport(LOOPBACK, ports[1]), up.addr))
    d = ctx.daemon("-c", conf, wait_listening=False)
    d.wait_for(count=2, event="listening")
    fd0, rss0 = d.nfds(), d.rss_kb()
    up.sock.setblocking(False)
    run = Run(ctx, ports, up.sock, master)
    took = run.loop()
    ends = d.wait_for(count=SESSIONS, event="session-end", timeout=15)
    ends_by_addr = {}
    for r in ends:
        check(r["client"] not in ends_by_addr, "two sessions from %s"
              % r["client"])
        ends_by_addr[r["client"]] = r
    check(len(d.find(event="session-end")) == SESSIONS,
          "%d session-end lines for %d sessions"
          % (len(d.find(event="session-end")), SESSIONS))
    problems = []
    for sess in run.sessions:
        check(sess.c.addr in ends_by_addr,
              "no session-end for session %d (client %s)"
              % (sess.i, sess.c.addr))
    for p in run.peers:
        if p.sess.i < 0:
            problems.append("upstream connection never got a header")
            continue
        if p.errors and p.ending != "reset":
            problems.append("%s (ending=%s, reacted=%s): %s"
                            % (p.who, p.ending, p.reacted,
                               "; ".join(p.errors)))
        if p.bad_xml:
            problems.append("%s received bad XML: %s; last bytes %r"
                            % (p.who, p.bad_xml, bytes(p.wire[-200:])))
        owed_tag = p.delivered is None and not p.partial_left and p.eof
        if owed_tag and not p.bad_xml:
            try:
                assert_ends_with_close_then_eof(bytes(p.wire), p.who)
            except AssertionError as e:
                problems.append("%s (ending=%s): %s" % (p.who, p.ending, e))
    cats, more = _account(d, run.sessions, ends_by_addr)
    problems += more
    reasons = collections.Counter("%s:%s" % (r["listener"], r["close"])
                                  for r in ends)
    endings = collections.Counter(
        "%s:%s" % (p.role, p.ending) for p in run.peers)
    print("random: %d sessions in %.1fs" % (SESSIONS, took))
    print("random: close reasons %s" % dict(sorted(reasons.items())))
    print("random: peer endings %s" % dict(sorted(endings.items())))
    print("random: stanzas %s" % dict(sorted(cats.items())))
    print("random: bounced_to_c=%d bounced_to_s=%d undeliverable=%d "
          "truncated=%d" % (
              sum(int(r["bounced_to_c"]) for r in ends),
              sum(int(r["bounced_to_s"]) for r in ends),
              len(d.find(event="undeliverable")),
              sum(int(r["truncated"]) for r in ends)))
    for sess in run.sessions:
        if getattr(sess, "bad", False):
            _dump(d, sess, ends_by_addr[sess.c.addr])
    check(not problems, "%d problem(s):\n  %s"
          % (len(problems), "\n  ".join(problems[:30])))
    # Resources: every descriptor given back, memory back near the start.
    wait_until(lambda: d.nfds() == fd0, 10,
               "fds back to %d (now %d)" % (fd0, d.nfds()))
    rss1 = d.rss_kb()
    print("random: fds %d -> %d, RSS %d kB -> %d kB" % (fd0, d.nfds(),
                                                       rss0, rss1))
    if not wrapper():
        check(rss1 < rss0 + 8 * 1024, "RSS %d kB, %d kB at the start"
              % (rss1, rss0))
