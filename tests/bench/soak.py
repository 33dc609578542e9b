#!/usr/bin/python3
"""Soak: session churn through the real binary for a long while (10
minutes by default), watching the daemon's memory and descriptors.

    tests/bench/soak.py [--binary ./stanzaguard] [--duration 600]
        [--concurrency 40] [--interval 10] [--seed N]
        [--rss-bound-kb 8192] [--fd-bound 0]

Stdlib Python only, loopback only.  A Python upstream and Python clients
keep --concurrency sessions open at all times: each relays random stanzas
(unique ids) both ways, then ends one of the ways a session ends in
spec/close-handshake.md: client or server close tag, idle timeout, client
or server vanishing (close) or resetting (SO_LINGER 0), bad XML, a
slowloris stanza past stanza-timeout, a peer that never answers the
close tag (close-timeout).  Every peer that did not vanish itself must see
no reset and only well-formed XML; in every direction where neither peer
vanished, every stanza sent is received, bounced back or named in an
event=undeliverable line (rule 5).

Every --interval seconds one line: sessions handled (session-end lines),
live sessions, stanzas sent and received, bounces, undeliverable, errors,
and the daemon's RSS and open descriptors: flat is good.

At the end no new session is started, the live ones finish, and then the
daemon must hold no more descriptors than before the first session
(+ --fd-bound), and its RSS must be within --rss-bound-kb of what it was
at the first report (under load) both at the end (idle) and on average
over the last three reports.  Exit status 0 if so and no error was seen,
1 otherwise, 2 if the daemon could not be started.  Not part of
`make check` (it takes --duration seconds).
"""

import argparse
import asyncio
import collections
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import xml.parsers.expat as expat

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from sgtest import free_port, parse_line  # noqa: E402

LOOPBACK = "127.0.0.1"
CLOSE = b"</stream:stream>"
SESSION_LIMIT = 40.0        # one session may take at most this long
GARBAGE = [b"<message><body>\xff\xfe</body></message>", b"<!-- c -->",
           b"<message><body>&bogus;</body></message>", b"</nomatch>"]
KINDS = [("message", "chat"), ("message", "normal"),
         ("message", "headline"), ("iq", "get"), ("iq", "set"),
         ("iq", "result"), ("presence", None)]
ENDINGS = [("client-close", 24), ("server-close", 18), ("idle", 14),
           ("client-vanish", 7), ("server-vanish", 7), ("client-reset", 6),
           ("server-reset", 6), ("client-garbage", 5), ("server-garbage", 3),
           ("slowloris", 4), ("unanswered", 6)]


def pick(rng, weighted):
    x = rng.uniform(0, sum(w for _, w in weighted))
    for v, w in weighted:
        x -= w
        if x <= 0:
            return v
    return weighted[-1][0]


# ------------------------------------------------------------------ daemon

class Daemon:
    """The binary; its log read by a thread that keeps only counters and
    what the accounting of live sessions needs."""

    def __init__(self, binary, args):
        self.proc = subprocess.Popen(
            [binary] + args, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.pid = self.proc.pid
        self.lock = threading.Lock()
        self.listening = threading.Event()
        self.ends = 0
        self.reasons = collections.Counter()
        self.undeliverable = 0
        self.undeliv_ids = collections.defaultdict(set)   # session -> ids
        self.end_by_client = collections.defaultdict(list)
        self.bounced = 0
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for raw in self.proc.stderr:
            rec = parse_line(raw.decode("utf-8", "replace").rstrip("\n"))
            ev = rec.get("event")
            with self.lock:
                if ev == "listening":
                    self.listening.set()
                elif ev == "session-end":
                    self.ends += 1
                    self.reasons[rec.get("close", "?")] += 1
                    self.bounced += int(rec.get("bounced_to_c", 0)) + int(
                        rec.get("bounced_to_s", 0))
                    self.end_by_client[rec.get("client")].append(rec)
                elif ev == "undeliverable":
                    self.undeliverable += 1
                    self.undeliv_ids[rec.get("session")].add(rec.get("id"))

    def take_end(self, client):
        """The oldest session-end record of client (addr:port), or None."""
        with self.lock:
            lst = self.end_by_client.get(client)
            if not lst:
                return None
            rec = lst.pop(0)
            if not lst:
                del self.end_by_client[client]
            ids = self.undeliv_ids.pop(rec.get("session"), set())
            return rec, ids

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def nfds(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))


# --------------------------------------------------------------------- peers

class Peer:
    """One side of a session over asyncio streams: a reader task parses
    what arrives (stanza ids, the close tag, EOF)."""

    def __init__(self, soak, who, reader, writer):
        self.soak, self.who = soak, who
        self.reader, self.writer = reader, writer
        self.sent = []              # ids of whole stanzas written
        self.got = {}               # id -> type of stanzas received
        self.bounced = set()        # ids of our stanzas bounced to us
        self.got_close = asyncio.Event()
        self.eof = asyncio.Event()
        self.abrupt = False
        self.partial = False
        self.error = None
        self.depth = 0
        self.cur = None
        self.hdr = None
        self.hdr_seen = asyncio.Event()
        self.p = expat.ParserCreate()
        self.p.StartElementHandler = self._start
        self.p.EndElementHandler = self._end
        self.task = asyncio.get_running_loop().create_task(self._read())

    def _start(self, name, attrs):
        if self.depth == 0:
            self.hdr = attrs
            self.hdr_seen.set()
        elif self.depth == 1:
            self.cur = attrs
        self.depth += 1

    def _end(self, name):
        self.depth -= 1
        if self.depth == 1:
            sid, typ = self.cur.get("id"), self.cur.get("type")
            if sid is not None:
                if typ == "error":
                    self.bounced.add(sid)
                else:
                    self.got[sid] = typ
                    self.soak.received += 1
        elif self.depth == 0:
            self.got_close.set()

    async def _read(self):
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                try:
                    self.p.Parse(data, False)
                except expat.ExpatError as e:
                    self.fail("received bad XML (%s): %r" % (e, data[-200:]))
                    break
        except (ConnectionResetError, BrokenPipeError) as e:
            if not self.abrupt:
                self.fail("%s" % e)
        except OSError as e:
            if not self.abrupt:
                self.fail("recv: %s" % e)
        finally:
            self.eof.set()

    def fail(self, what):
        if self.error is None and not self.abrupt:
            self.error = what

    def write(self, data):
        if self.abrupt or self.writer.is_closing():
            return
        self.writer.write(data)

    async def drain(self):
        try:
            await self.writer.drain()
        except (ConnectionResetError, BrokenPipeError) as e:
            self.fail("send: %s" % e)

    def stanza(self, rng, me, other):
        name, typ = KINDS[rng.randrange(len(KINDS))]
        self.soak.seq += 1
        sid = "k%d" % self.soak.seq
        t = "" if typ is None else " type='%s'" % typ
        body = "x" * int(rng.expovariate(1 / 200.0))
        inner = ("<body>%s</body>" % body if name == "message" else
                 "<query xmlns='urn:x:soak'>%s</query>" % body
                 if name == "iq" else "<status>%s</status>" % body)
        self.write(("<%s from='%s' to='%s' id='%s'%s>%s</%s>" % (
            name, me, other, sid, t, inner, name)).encode())
        self.sent.append(sid)
        self.soak.sent += 1

    async def answer(self, rng, me, other):
        """On a close tag: maybe one more stanza, then ours."""
        if rng.random() < 0.3:
            self.stanza(rng, me, other)
        self.write(CLOSE)
        await self.drain()
        if not self.abrupt and not self.writer.is_closing():
            try:
                self.writer.write_eof()
            except OSError:
                pass

    async def vanish(self, reset):
        self.abrupt = True
        sock = self.writer.get_extra_info("socket")
        if reset and sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    async def wait_eof(self, timeout):
        try:
            await asyncio.wait_for(self.eof.wait(), timeout)
        except asyncio.TimeoutError:
            self.fail("no EOF within %.0fs" % timeout)

    def close(self):
        if not self.writer.is_closing():
            self.writer.close()


# ------------------------------------------------------------------- soak

class Soak:
    def __init__(self, a, port, up_port):
        self.a, self.port, self.up_port = a, port, up_port
        self.rng = random.Random(a.seed)
        self.seq = 0
        self.sent = self.received = 0
        self.started = self.finished = 0
        self.errors = 0
        self.error_lines = []
        self.waiting = {}           # session key -> Future of server Peer
        self.checks = []            # (client addr, per-direction sets)
        self.endings = collections.Counter()
        self.unaccounted = 0

    def error(self, what):
        self.errors += 1
        if len(self.error_lines) < 20:
            self.error_lines.append(what)
            print("  error: %s" % what, flush=True)

    # The upstream: read the header, find the session by its 'to'.
    async def on_upstream(self, reader, writer):
        p = Peer(self, "S", reader, writer)
        try:
            await asyncio.wait_for(p.hdr_seen.wait(), 10)
        except asyncio.TimeoutError:
            self.error("upstream connection without a header")
            p.close()
            return
        fut = self.waiting.pop(p.hdr.get("to", ""), None)
        if fut is None:
            self.error("upstream header for no session: %r" % p.hdr)
            p.close()
            return
        fut.set_result(p)

    async def session(self, n):
        rng = random.Random(self.rng.getrandbits(64))
        key = "k%d.soak" % n
        ending = pick(rng, ENDINGS)
        self.endings[ending] += 1
        fut = asyncio.get_running_loop().create_future()
        self.waiting[key] = fut
        try:
            reader, writer = await asyncio.open_connection(LOOPBACK,
                                                           self.port)
        except OSError as e:
            self.waiting.pop(key, None)
            self.error("connect: %s" % e)
            return
        c = Peer(self, "C", reader, writer)
        caddr = "%s:%d" % writer.get_extra_info("sockname")[:2]
        s = None
        try:
            c.write(("<?xml version='1.0'?><stream:stream xmlns='jabber:"
                     "client' xmlns:stream='http://etherx.jabber.org/"
                     "streams' to='%s' version='1.0'>" % key).encode())
            s = await asyncio.wait_for(fut, 10)
            s.write(("<?xml version='1.0'?><stream:stream xmlns='jabber:"
                     "client' xmlns:stream='http://etherx.jabber.org/"
                     "streams' from='%s' id='%s' version='1.0'>"
                     % (key, key)).encode())
            await asyncio.wait_for(c.hdr_seen.wait(), 10)
            await asyncio.wait_for(self.play(rng, ending, c, s),
                                   SESSION_LIMIT)
        except asyncio.TimeoutError:
            self.error("session %s (%s) did not end within %.0fs"
                       % (key, ending, SESSION_LIMIT))
        finally:
            self.waiting.pop(key, None)
            for p in (c, s):
                if p is not None:
                    p.close()
        for p in (c, s):
            if p is not None and p.error:
                self.error("%s %s (%s): %s" % (key, p.who, ending, p.error))
        self.checks.append((caddr, key, ending, c, s, time.monotonic()))
        self.finished += 1

    async def play(self, rng, ending, c, s):
        me_c, me_s = "alice@soak/c", "bob@soak/s"
        ca, sa = (c, me_c, me_s), (s, me_s, me_c)
        # Traffic both ways.
        for _ in range(rng.randint(0, 30)):
            p, me, other = ca if rng.random() < 0.5 else sa
            for _ in range(rng.randint(1, 3)):
                p.stanza(rng, me, other)
            await p.drain()
            await asyncio.sleep(rng.uniform(0, 0.15))
        closer = {"client": ca, "server": sa}
        if ending in ("client-close", "server-close"):
            x, mx, ox = closer[ending.split("-")[0]]
            y, my, oy = sa if x is c else ca
            x.write(CLOSE)
            await x.drain()
            x.writer.write_eof()
            await asyncio.wait_for(y.got_close.wait(), 10)
            await y.answer(rng, my, oy)
        elif ending in ("idle", "unanswered"):
            # Both silent: the daemon closes, client first.  What S sends
            # before C answers cannot reach C: bounced back to S.
            await asyncio.wait_for(c.got_close.wait(), 10)
            if rng.random() < 0.5:
                for _ in range(rng.randint(1, 3)):
                    s.stanza(rng, me_s, me_c)
                await s.drain()
                await asyncio.sleep(0.1)
            await c.answer(rng, me_c, me_s)
            await asyncio.wait_for(s.got_close.wait(), 10)
            if ending == "idle":
                await s.answer(rng, me_s, me_c)
            # "unanswered": S never answers; close-timeout ends it.
        elif ending.endswith(("-vanish", "-reset")):
            x, _, _ = closer[ending.split("-")[0]]
            y, my, oy = sa if x is c else ca
            await x.vanish(ending.endswith("-reset"))
            await asyncio.wait_for(y.got_close.wait(), 10)
            await y.answer(rng, my, oy)
        elif ending.endswith("-garbage"):
            x, _, _ = closer[ending.split("-")[0]]
            y, my, oy = sa if x is c else ca
            x.write(GARBAGE[rng.randrange(len(GARBAGE))])
            await x.drain()
            await asyncio.wait_for(y.got_close.wait(), 10)
            await y.answer(rng, my, oy)
        elif ending == "slowloris":
            c.partial = True
            c.write(b"<message id='slow'><body>")
            while not c.eof.is_set():
                c.write(b"z")
                await c.drain()
                try:
                    await asyncio.wait_for(c.eof.wait(), 0.3)
                except asyncio.TimeoutError:
                    pass
            await asyncio.wait_for(s.got_close.wait(), 10)
            await s.answer(rng, me_s, me_c)
        for p in (c, s):
            if not p.abrupt:
                await p.wait_eof(15)

    def check_finished(self, d, final=False):
        """Rule 5 for sessions whose session-end line has come: in each
        direction where neither peer vanished, every stanza sent was
        received, bounced back, or named undeliverable."""
        keep = []
        now = time.monotonic()
        for item in self.checks:
            caddr, key, ending, c, s, t = item
            got = d.take_end(caddr)
            if got is None:
                if final or now - t > 30:
                    self.error("%s (%s): no session-end line for %s"
                               % (key, ending, caddr))
                else:
                    keep.append(item)
                continue
            rec, undeliv = got
            if s is None:
                continue
            for x, y in ((c, s), (s, c)):
                if x.abrupt or y.abrupt:
                    continue
                lost = [sid for sid in x.sent if sid not in y.got and
                        sid not in x.bounced and sid not in undeliv]
                if lost:
                    self.unaccounted += len(lost)
                    self.error("%s (%s, close=%s): %d stanza(s) from %s "
                               "unaccounted for: %s" % (
                                   key, ending, rec.get("close"), len(lost),
                                   x.who, " ".join(lost[:5])))
        self.checks = keep


async def run(a, d, port, up_port):
    soak = Soak(a, port, up_port)
    server = await asyncio.start_server(soak.on_upstream, LOOPBACK, up_port,
                                        backlog=512)
    t0 = time.monotonic()
    live = set()
    n = 0
    reports = []
    fd0 = d.nfds()
    next_report = t0 + a.interval
    print("soak: seed %d, %d sessions at a time for %ds; daemon pid %d, "
          "idle: %d fds, RSS %d kB" % (a.seed, a.concurrency, a.duration,
                                       d.pid, fd0, d.rss_kb()), flush=True)

    def report(final=False):
        el = time.monotonic() - t0
        rss, fds = d.rss_kb(), d.nfds()
        reports.append((el, rss, fds))
        print("%s t=%4.0fs sessions=%d live=%d stanzas sent=%d received=%d "
              "bounced=%d undeliverable=%d errors=%d rss=%dkB fds=%d"
              % ("end" if final else "   ", el, d.ends, len(live),
                 soak.sent, soak.received, d.bounced, d.undeliverable,
                 soak.errors, rss, fds), flush=True)

    while time.monotonic() - t0 < a.duration:
        while len(live) < a.concurrency:
            n += 1
            soak.started += 1
            task = asyncio.get_running_loop().create_task(soak.session(n))
            live.add(task)
            task.add_done_callback(live.discard)
        await asyncio.sleep(0.05)
        if d.proc.poll() is not None:
            soak.error("the daemon exited with status %s"
                       % d.proc.returncode)
            break
        if time.monotonic() >= next_report:
            soak.check_finished(d)
            report()
            next_report += a.interval
    # Wind down: no new sessions; the live ones finish.
    if live:
        done, pending = await asyncio.wait(live, timeout=SESSION_LIMIT + 20)
        for task in pending:
            soak.error("a session still running at the end")
            task.cancel()
    server.close()
    await server.wait_closed()
    deadline = time.monotonic() + 20
    while d.ends < soak.finished and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    # Give the daemon its sweep (5 s) to release idle memory.
    settle = time.monotonic() + 12
    while time.monotonic() < settle and d.nfds() > fd0:
        await asyncio.sleep(0.2)
    await asyncio.sleep(max(0.0, settle - time.monotonic()))
    soak.check_finished(d, final=True)
    report(final=True)
    return soak, reports, fd0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default="./stanzaguard")
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--concurrency", type=int, default=40)
    ap.add_argument("--interval", type=float, default=10)
    ap.add_argument("--seed", type=int,
                    default=int(os.environ.get("SG_SEED",
                                               random.randrange(1 << 30))))
    ap.add_argument("--rss-bound-kb", type=int, default=8192)
    ap.add_argument("--fd-bound", type=int, default=0)
    a = ap.parse_args()
    port, up_port = free_port(), free_port()
    d = Daemon(os.path.abspath(a.binary), [
        "--listen", "%s:%d" % (LOOPBACK, port),
        "--upstream", "%s:%d" % (LOOPBACK, up_port),
        "--stats-interval=0", "--idle-timeout=2s", "--close-timeout=2s",
        "--stanza-timeout=2s", "--max-connections=%d" % (4 * a.concurrency
                                                          + 100)])
    if not d.listening.wait(10):
        print("soak: the daemon did not start (status %s)" % d.proc.poll())
        d.proc.kill()
        return 2
    try:
        soak, reports, fd0 = asyncio.run(run(a, d, port, up_port))
    finally:
        if d.proc.poll() is None:
            d.proc.send_signal(signal.SIGTERM)
            try:
                rc = d.proc.wait(20)
            except subprocess.TimeoutExpired:
                d.proc.kill()
                rc = "killed"
        else:
            rc = d.proc.returncode
    ok = True
    el, rss_end, fds_end = reports[-1]
    under = [r for r in reports[:-1]]
    rss_first = under[0][1] if under else rss_end
    rss_last = (sum(r[1] for r in under[-3:]) / len(under[-3:])
                if under else rss_end)
    print("soak: %d sessions started, %d session-end lines; close reasons "
          "%s" % (soak.started, d.ends, dict(sorted(d.reasons.items()))))
    print("soak: endings played %s" % dict(sorted(soak.endings.items())))
    print("soak: stanzas sent %d, received %d, bounced %d, undeliverable "
          "%d, unaccounted %d; errors %d"
          % (soak.sent, soak.received, d.bounced, d.undeliverable,
             soak.unaccounted, soak.errors))
    print("soak: fds %d idle at the start, %d at the end (bound +%d); RSS "
          "%d kB at the first report, %.0f kB over the last three, %d kB "
          "at the end (bound +%d kB); daemon exit status %s"
          % (fd0, fds_end, a.fd_bound, rss_first, rss_last, rss_end,
             a.rss_bound_kb, rc))
    if fds_end > fd0 + a.fd_bound:
        print("soak: FAIL: descriptors grew from %d to %d" % (fd0, fds_end))
        ok = False
    for what, v in (("at the end", rss_end), ("over the last reports",
                                               rss_last)):
        if v > rss_first + a.rss_bound_kb:
            print("soak: FAIL: RSS %s %.0f kB, %d kB at the first report"
                  % (what, v, rss_first))
            ok = False
    if soak.errors:
        print("soak: FAIL: %d error(s)" % soak.errors)
        ok = False
    if rc != 0:
        print("soak: FAIL: the daemon exited %s on SIGTERM" % rc)
        ok = False
    print("soak: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
