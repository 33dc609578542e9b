"""workers = 2: a master and two worker processes sharing the port."""

import os
import signal
import threading
import time


from sgtest import (CLOSE, LOOPBACK, TestFailure, answer_shutdown_all, check,
                    close_politely, free_port, hostport, message,
                    open_session, start_proxy, timeout, wait_until)

SESSIONS = 16      # all on one worker by chance: 2 ** -15


def _start(ctx, up, *opts, **kw):
    """stanzaguard --workers=2; returns (daemon, port) once both listen,
    the master has logged both pids and knows both listen.  kw as for
    start_proxy."""
    d, port = start_proxy(ctx, up.addr, "--workers=2", *opts, **kw)
    d.wait_for(count=2, event="listening")
    # Lines of different processes come in no set order: a worker can say
    # it listens before the master, back from fork(), logs its pid.
    d.wait_for(count=2, event="worker-started")
    # A worker killed before the master heard that it listens is a failed
    # start, which stops the daemon: the tests that kill wait for this.
    rec = d.wait_for(event="ready", process="master")
    check(rec["workers"] == "2" and rec["level"] == "notice", "%r" % rec)
    return d, port


def _worker_of(d, c):
    """The worker=K of the session-start line of client Peer c."""
    me = "%s:%d" % c.sock.getsockname()[:2]
    return d.wait_for(event="session-start", client=me)["worker"]


def _spread(ctx, d, port, up, n=SESSIONS):
    """n sessions, until both workers have one; returns [(c, s, worker)]."""
    out = []
    for _ in range(n):
        c, s = open_session(ctx, port, up)
        out.append((c, s, _worker_of(d, c)))
    workers = {w for _, _, w in out}
    check(workers == {"1", "2"}, "sessions on workers %r only" % workers)
    return out


def _pids(d):
    """{worker id: pid} of the workers the master started, latest last."""
    return {r["worker"]: int(r["pid"])
            for r in d.find(event="worker-started")}


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _ppid(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rpartition(")")[2].split()[1])


def _children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(p) for p in f.read().split()]


def _blocks_sigterm(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("SigBlk:"):
                return int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1
    raise TestFailure("no SigBlk for pid %d" % pid)


def _exchange(c, s, tag):
    m = message(tag + "c")
    c.send(m)
    check(s.recv_exact(len(m)) == m, "c2s on %s" % tag)
    m = message(tag + "s")
    s.send(m)
    check(c.recv_exact(len(m)) == m, "s2c on %s" % tag)


def _idle_closed(c, s):
    """The daemon closes an idle session: both get its close tag."""
    c.recv_until(CLOSE, timeout=15)
    c.send(CLOSE)
    s.recv_until(CLOSE, timeout=15)
    s.send(CLOSE)
    c.expect_eof()
    s.expect_eof()
    c.close()
    s.close()


@timeout(60)
def test_sessions_spread_over_both_workers(ctx):
    """Sessions land on both workers (session lines say worker=1 and
    worker=2), two worker processes are children of the master, and
    every session relays both ways and closes cleanly."""
    up = ctx.upstream()
    d, port = _start(ctx, up, "--stats-interval=0")
    pids = _pids(d)
    check(sorted(pids) == ["1", "2"], "workers started %r" % pids)
    for pid in pids.values():
        check(_alive(pid) and _ppid(pid) == d.pid,
              "worker %d not a live child of %d" % (pid, d.pid))
    pairs = _spread(ctx, d, port, up)
    for i, (c, s, w) in enumerate(pairs):
        _exchange(c, s, "m%d" % i)
        close_politely(c, s)
    ends = d.wait_for(count=len(pairs), event="session-end")
    check({e["worker"] for e in ends} == {"1", "2"}, "ends %r" % ends)
    check(all(e["close"] == "client" for e in ends), "ends %r" % ends)


@timeout(60)
def test_idle_close_in_both_workers(ctx):
    """idle-timeout closes idle sessions by the handshake in each worker."""
    up = ctx.upstream()
    d, port = _start(ctx, up, "--stats-interval=0", "--idle-timeout=1s")
    pairs = _spread(ctx, d, port, up)
    for c, s, _ in pairs:
        _idle_closed(c, s)
    ends = d.wait_for(count=len(pairs), event="session-end")
    check(all(e["close"] == "idle" for e in ends), "ends %r" % ends)
    check({e["worker"] for e in ends} == {"1", "2"}, "ends %r" % ends)


@timeout(60)
def test_sigterm_closes_every_session_master_exits_0(ctx):
    """SIGTERM to the master: every session of both workers gets
    <system-shutdown/> and the handshake, the workers exit, the master
    logs the summed event=stopped and exits 0."""
    up = ctx.upstream()
    d, port = _start(ctx, up, "--stats-interval=0", "--drain-timeout=10s")
    pairs = _spread(ctx, d, port, up)
    pids = _pids(d)
    d.signal(signal.SIGTERM)
    answer_shutdown_all([(c, s) for c, s, _ in pairs])
    check(d.wait_exit(15) == 0, "exit status %s" % d.proc.returncode)
    st = d.wait_for(event="stopped", process="master")
    check(st["closed_clean"] == str(len(pairs)) and st["forced"] == "0",
          "%r" % st)
    ends = d.find(event="session-end")
    check(len(ends) == len(pairs) and
          all(e["close"] == "shutdown" for e in ends), "ends %r" % ends)
    for pid in pids.values():
        check(not _alive(pid), "worker %d still there" % pid)


@timeout(60)
def test_worker_killed_during_stop_fails_the_stop(ctx):
    """A worker that dies while the stop drains its sessions (here
    SIGKILL; under valgrind a leak, status 99) fails the stop: the master
    still waits for the other worker's clean closes, logs the exit as a
    warning and event=stopped workers_failed=1, and exits 1, not 0."""
    up = ctx.upstream()
    d, port = _start(ctx, up, "--stats-interval=0", "--drain-timeout=60s")
    pairs = _spread(ctx, d, port, up)
    victim = _pids(d)["1"]
    d.expect_clean_exit = False
    d.signal(signal.SIGTERM)
    # Worker 1's sessions go unanswered: it drains until it is killed.
    d.wait_for(event="stopping", worker="1")
    os.kill(victim, signal.SIGKILL)
    e = d.wait_for(event="worker-exited", worker="1")
    check(e["pid"] == str(victim) and e["signal"] == "Killed" and
          e["level"] == "warning", "%r" % e)
    on_2 = [(c, s) for c, s, w in pairs if w == "2"]
    answer_shutdown_all(on_2)
    rc = d.wait_exit(15)
    check(rc == 1, "exit status %s, not 1" % rc)
    st = d.wait_for(event="stopped", process="master")
    check(st["level"] == "error" and st.get("workers_failed") == "1" and
          st.get("status") == "1" and st["closed_clean"] == str(len(on_2)),
          "%r" % st)
    check(d.find(event="worker-exited", worker="2")[0]["status"] == "0",
          "worker 2: %r" % d.find(event="worker-exited", worker="2"))


def _write_conf(path, port, upstream, idle):
    with open(path, "w") as f:
        f.write("[global]\nworkers = 2\nstats-interval = 0\n"
                "idle-timeout = %s\n[main]\nlisten = %s\nupstream = %s\n"
                % (idle, hostport(LOOPBACK, port), upstream))


@timeout(90)
def test_sighup_reaches_both_workers(ctx):
    """SIGHUP with a shorter idle-timeout: both workers reload, and new
    sessions on each are closed idle; a bad file is refused by the master
    without disturbing the workers."""
    up = ctx.upstream()
    path = ctx.path("sg.conf")
    port = free_port()
    _write_conf(path, port, up.addr, "60s")
    d = ctx.daemon("-c", path)
    d.wait_for(count=2, event="listening")
    _write_conf(path, port, up.addr, "1s")
    d.signal(signal.SIGHUP)
    got = d.wait_for(count=2, event="reloaded")
    check({r["worker"] for r in got} == {"1", "2"}, "reloaded %r" % got)
    d.wait_for(event="reload-done", process="master")
    pairs = _spread(ctx, d, port, up)
    for c, s, _ in pairs:
        _idle_closed(c, s)
    ends = d.wait_for(count=len(pairs), event="session-end")
    check(all(e["close"] == "idle" for e in ends), "ends %r" % ends)
    with open(path, "w") as f:
        f.write("[global]\nidle-timeout = forever\n")
    d.signal(signal.SIGHUP)
    e = d.wait_for(event="reload-failed", process="master")
    check("worker" not in e, "a worker saw the bad file: %r" % e)
    check(len(d.find(event="reloaded")) == 2, "workers reloaded again")
    close_politely(*open_session(ctx, port, up))


@timeout(90)
def test_killed_worker_is_restarted(ctx):
    """A worker killed with SIGKILL is logged and restarted; the other
    worker's sessions go on meanwhile, and the new worker serves."""
    up = ctx.upstream()
    d, port = _start(ctx, up, "--stats-interval=0")
    pairs = _spread(ctx, d, port, up)
    victim = _pids(d)["1"]
    os.kill(victim, signal.SIGKILL)
    e = d.wait_for(event="worker-exited", worker="1")
    check(e["pid"] == str(victim) and e["signal"] == "Killed", "%r" % e)
    d.wait_for(event="worker-restarting", worker="1")
    for i, (c, s, w) in enumerate(pairs):
        if w == "2":
            _exchange(c, s, "k%d" % i)
    d.wait_for(count=2, event="worker-started", worker="1")
    new = _pids(d)["1"]
    check(new != victim and _alive(new), "no new worker 1")
    d.wait_for(count=3, event="listening")
    for c, s, w in pairs:
        if w == "2":
            close_politely(c, s)
        else:
            c.expect_eof()
            s.expect_eof()
            c.close()
            s.close()
    _spread(ctx, d, port, up, n=SESSIONS)


@timeout(60)
def test_totals_line_sums_both_workers(ctx):
    """The master's event=totals line is the sum of the workers' lines of
    the same round, and counts every session of both."""
    up = ctx.upstream()
    d, port = _start(ctx, up, "--stats-interval=200ms")
    pairs = _spread(ctx, d, port, up)
    for c, s, _ in pairs:
        close_politely(c, s)
    d.wait_for(count=len(pairs), event="session-end")
    # A round asked for before the last sessions ended, or one that gave
    # up on a slow worker, counts less: wait for one that counts them all.
    n = str(len(pairs))
    t = wait_until(lambda: d.find(event="totals", process="master",
                                  accepted=n, close_client=n, active="0"),
                   10, "a master totals line counting all %s sessions"
                   % n)[0]
    check(t["workers"] == "2", "%r" % t)
    # Counts only grow, so each worker's report in that sum was its final
    # one, and so is its last line before the master's (a worker logs its
    # line before it reports).
    recs = list(d.records)
    i = next(k for k, r in enumerate(recs) if r is t)
    per = {}
    for r in recs[:i]:
        if r.get("event") == "totals" and "worker" in r:
            per[r["worker"]] = r
    check(sorted(per) == ["1", "2"], "worker lines %r" % per)
    for k in ("accepted", "bytes_c2s", "bytes_s2c", "close_client"):
        check(int(t[k]) == int(per["1"][k]) + int(per["2"][k]),
              "%s: %s != %s + %s" % (k, t[k], per["1"][k], per["2"][k]))
    check(int(per["1"]["accepted"]) > 0 and int(per["2"]["accepted"]) > 0,
          "%r" % per)


@timeout(60)
def test_master_killed_leaves_no_worker(ctx):
    """SIGKILL to the master: both workers go away too, so none is left
    holding the port."""
    up = ctx.upstream()
    d, port = _start(ctx, up, "--stats-interval=0")
    pids = list(_pids(d).values())
    d.expect_clean_exit = False
    os.kill(d.pid, signal.SIGKILL)
    d.wait_exit()
    try:
        wait_until(lambda: not any(_alive(p) for p in pids), 10,
                   "workers to exit")
    except TestFailure:
        for p in pids:
            if _alive(p):
                os.kill(p, signal.SIGKILL)
        raise
    import socket as so
    x = so.socket()
    x.settimeout(5)
    check(x.connect_ex((LOOPBACK, port)) != 0, "port still accepting")
    x.close()


@timeout(30)
def test_port_in_use_exits_1(ctx):
    """A port already taken: the workers cannot listen, the master exits
    1 as a single process would."""
    import socket as so
    x = so.socket()
    x.bind((LOOPBACK, 0))
    x.listen()
    ctx.on_cleanup(x.close)
    up = ctx.upstream()
    d = ctx.daemon("--listen", hostport(LOOPBACK, x.getsockname()[1]),
                   "--upstream", up.addr, "--workers=2",
                   wait_listening=False)
    d.expect_clean_exit = False
    check(d.wait_exit() == 1, "exit status %s" % d.proc.returncode)
    check("in use" in d.log_text(), d.log_text())



@timeout(60)
def test_worker_killed_before_master_read_listening_is_restarted(ctx):
    """A worker that listened and died before the master read its
    message is restarted, not taken for a start failure (master exit 1)."""
    up = ctx.upstream()
    d = ctx.daemon("--listen", hostport(LOOPBACK, free_port()),
                   "--upstream", up.addr, "--workers=2",
                   "--stats-interval=0", wait_listening=False)
    # Freeze the master at its first fork, before its loop can read.
    victim = wait_until(lambda: _children(d.pid), 10, "a worker",
                        step=0)[0]
    os.kill(d.pid, signal.SIGSTOP)
    ctx.on_cleanup(lambda: d.proc.poll() is None and
                   os.kill(d.pid, signal.SIGCONT))
    # It logs listening, tells the master, then unblocks SIGTERM.
    wait_until(lambda: not _blocks_sigterm(victim), 10,
               "worker 1 to report it listens")
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: not _alive(victim), 10, "worker 1 to die")
    os.kill(d.pid, signal.SIGCONT)
    e = d.wait_for(event="worker-exited", worker="1")
    check(e["pid"] == str(victim) and e["signal"] == "Killed", "%r" % e)
    d.wait_for(event="worker-restarting", worker="1")
    d.wait_for(count=2, event="worker-started", worker="1")
    d.wait_for(count=2, event="listening", worker="1")
    check(d.proc.poll() is None, "master exited %s" % d.proc.returncode)


# proxy/workers.c: BACKOFF_FIRST, doubled per death within BACKOFF_RESET
# of the worker's start.
BACKOFF_FIRST = 0.5
BACKOFF_RESET = 60.0


def _ts(rec):
    """A record's ts= (UTC, ms) as seconds since the epoch."""
    import calendar
    day, _, frac = rec["ts"].rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(day, "%Y-%m-%dT%H:%M:%S")) + \
        int(frac) / 1000.


def _session_on(ctx, d, port, up, worker):
    """A session on worker (by the kernel's hash: try a few, close the
    others); returns (c, s)."""
    for _ in range(SESSIONS):
        c, s = open_session(ctx, port, up)
        if _worker_of(d, c) == worker:
            return c, s
        close_politely(c, s)
    raise TestFailure("no session on worker %s in %d" % (worker, SESSIONS))


def _kill_young(d, k, pids_seen):
    """SIGKILL worker 1's current process, its k-th (from 0), once the
    master logged its start and it listens; check the exit is logged and
    return the event=worker-restarting record of that death."""
    rec = d.wait_for(count=k + 1, event="worker-started", worker="1")[k]
    pid = int(rec["pid"])
    check(pid not in pids_seen, "pid %d of worker 1 seen before" % pid)
    check(_alive(pid) and _ppid(pid) == d.pid,
          "worker 1 pid %d not a live child of the master" % pid)
    pids_seen.add(pid)
    d.wait_for(count=k + 1, event="listening", worker="1")
    os.kill(pid, signal.SIGKILL)
    e = d.wait_for(count=k + 1, event="worker-exited", worker="1")[k]
    check(e["pid"] == str(pid) and e["signal"] == "Killed" and
          e["level"] == "warning", "%r" % e)
    return d.wait_for(count=k + 1, event="worker-restarting", worker="1")[k]


def _restarted_after(d, k, restarting, delay):
    """Worker 1's (k+1)-th start follows restarting, not before delay
    (by the log's ms timestamps; libev counts the delay from its loop
    time, a little before the line's, hence the slack)."""
    st = d.wait_for(count=k + 2, event="worker-started", worker="1",
                    timeout=delay + 10)[k + 1]
    gap = _ts(st) - _ts(restarting)
    check(gap >= delay - 0.05, "restarted %.3fs after the %.3fs back-off "
          "was announced" % (gap, delay))
    d.wait_for(count=k + 2, event="listening", worker="1")
    return st


@timeout(60)
def test_restart_backoff_doubles_while_worker_dies_young(ctx):
    """Worker 1 killed again as soon as each restart listens: the master
    announces back-offs of 0.5, 1, 2, 4 s (event=worker-restarting
    delay=), restarts the slot with a new process after each, and worker
    2, the same process throughout, serves its session meanwhile."""
    up = ctx.upstream()
    d, port = _start(ctx, up, "--stats-interval=0")
    other = _pids(d)["2"]
    c, s = _session_on(ctx, d, port, up, "2")
    seen = set()
    for k in range(4):
        delay = BACKOFF_FIRST * 2 ** k
        r = _kill_young(d, k, seen)
        check(r["delay"] == "%.3f" % delay,
              "death %d: delay=%s, not %.3f" % (k + 1, r["delay"], delay))
        _exchange(c, s, "b%d" % k)
        _restarted_after(d, k, r, delay)
        check(_pids(d)["2"] == other and _alive(other),
              "worker 2 was restarted too: %r" % _pids(d))
    new = _pids(d)["1"]
    check(new not in (seen | {other}) and _alive(new) and
          _ppid(new) == d.pid, "no new live worker 1: %d" % new)
    check(len(d.find(event="worker-exited")) == 4,
          "exits %r" % d.find(event="worker-exited"))
    _exchange(c, s, "end")
    close_politely(c, s)
    # The last worker 1 serves too.
    _session_on(ctx, d, port, up, "1")


@timeout(150)
def test_restart_backoff_resets_after_a_minute_of_life(ctx):
    """A worker that lived BACKOFF_RESET (60 s, workers.c) before dying
    is restarted after 0.5 s again, however young its predecessors died.
    Slow by nature: it must outlive the reset."""
    up = ctx.upstream()
    d, port = _start(ctx, up, "--stats-interval=0")
    seen = set()
    delays = []
    for k in range(2):
        r = _kill_young(d, k, seen)
        delays.append(r["delay"])
        _restarted_after(d, k, r, float(r["delay"]))
    check(delays == ["0.500", "1.000"], "young deaths: delays %r" % delays)
    # The master stamps the start before it logs it, and we read the
    # line later still: BACKOFF_RESET from here is at least as long for
    # the master.  One second more against its clock's granularity.
    time.sleep(BACKOFF_RESET + 1)
    c, s = _session_on(ctx, d, port, up, "1")
    r = _kill_young(d, 2, seen)
    check(r["delay"] == "0.500", "after %.0fs of life: delay=%s"
          % (BACKOFF_RESET, r["delay"]))
    c.expect_eof()
    s.expect_eof()
    _restarted_after(d, 2, r, BACKOFF_FIRST)
    _session_on(ctx, d, port, up, "1")


class _Notify:
    """systemd's NOTIFY_SOCKET stood in for: a datagram socket of the
    test's own, read by a thread; every datagram kept with its arrival
    time (time.monotonic())."""

    def __init__(self, ctx):
        import socket
        self.path = ctx.path("notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.msgs = []            # [(arrival, {key: value})]
        self._cv = threading.Condition()
        self._done = False
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()
        ctx.on_cleanup(self.close)

    def _read(self):
        import socket
        while not self._done:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            kv = dict(f.partition("=")[::2] for f in
                      data.decode("utf-8", "replace").split("\n") if f)
            with self._cv:
                self.msgs.append((time.monotonic(), kv))
                self._cv.notify_all()

    def watchdogs(self):
        """Arrival times of every WATCHDOG=1 so far."""
        with self._cv:
            return [t for t, kv in self.msgs if kv.get("WATCHDOG") == "1"]

    def wait_watchdogs(self, n, since, timeout, what):
        """n WATCHDOG=1 arrived after since; fails after timeout."""
        return wait_until(lambda: len([t for t in self.watchdogs()
                                       if t > since]) >= n,
                          timeout, "%d WATCHDOG=1 %s" % (n, what))

    def close(self):
        self._done = True
        self._t.join(5)
        self.sock.close()


def _state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rpartition(")")[2].split()[0]


# WATCHDOG_USEC as systemd sets it; the daemon pings at half (notify.c),
# and the master's watchdog round is that interval too: each tick sends
# WATCHDOG=1 only if every worker answered the previous tick's ping
# (master.c), so a worker's answer is due within one interval.
WATCHDOG_USEC = 200000
WATCHDOG_IV = WATCHDOG_USEC / 2e6
# WATCHDOG=1 "stopped" is the absence of an event, seen over a window:
# ten intervals without one, where a master pinging normally sends ten.
# A slow machine can only lengthen gaps and so never fails this check;
# what it could hide (a late WATCHDOG=1) is bounded by the count below.
QUIET = 10 * WATCHDOG_IV


def _start_watched(ctx):
    """Two workers under a watchdog that NOTIFY_SOCKET's _Notify sees;
    returns (notify, upstream, daemon, port)."""
    # sd_watchdog_enabled(): a WATCHDOG_PID not the daemon's turns it off.
    os.environ.pop("WATCHDOG_PID", None)
    n = _Notify(ctx)
    up = ctx.upstream()
    d, port = _start(ctx, up, "--stats-interval=0",
                     env={"NOTIFY_SOCKET": n.path,
                          "WATCHDOG_USEC": str(WATCHDOG_USEC)})
    return n, up, d, port


@timeout(60)
def test_watchdog_withheld_while_a_worker_is_stopped(ctx):
    """With WATCHDOG_USEC set, the master sends WATCHDOG=1 regularly;
    while worker 1 is stopped (SIGSTOP: it runs but cannot answer) none
    comes, and once it continues WATCHDOG=1 comes again and both
    workers serve."""
    n, up, d, port = _start_watched(ctx)
    pids = _pids(d)
    wait_until(lambda: any(kv.get("READY") == "1" for _, kv in n.msgs),
               10, "READY=1")
    n.wait_watchdogs(5, 0, 10, "with both workers up")

    victim = pids["1"]
    os.kill(victim, signal.SIGSTOP)
    ctx.on_cleanup(lambda: _alive(victim) and
                   os.kill(victim, signal.SIGCONT))
    wait_until(lambda: _state(victim) == "T", 10, "worker 1 stopped")
    stopped = time.monotonic()
    # Still allowed after this: a WATCHDOG=1 the master was sending as
    # the worker stopped, and the one of the next tick if the worker
    # answered its last ping before it stopped.  None after those.
    wait_until(lambda: time.monotonic() - max(
        [stopped] + n.watchdogs()) >= QUIET, 10,
        "%.1fs without WATCHDOG=1 (worker 1 stopped)" % QUIET)
    late = [t for t in n.watchdogs() if t > stopped]

    check(len(late) <= 2, "%d WATCHDOG=1 while worker 1 is stopped"
          % len(late))
    # The journal names the stuck worker, once, for a watchdog kill.
    na = d.wait_for(event="worker-not-answering")
    check(na["worker"] == "1" and na["pid"] == str(victim) and
          na["level"] == "warning" and
          len(d.find(event="worker-not-answering")) == 1, "%r" % na)
    check(d.proc.poll() is None and _alive(pids["2"]) and
          _state(victim) == "T", "master or worker 2 gone, or worker 1 "
          "running: %s" % d.log_text())

    resumed = time.monotonic()
    os.kill(victim, signal.SIGCONT)
    n.wait_watchdogs(3, resumed, 10, "after worker 1 continued")
    d.wait_for(event="worker-answering", worker="1")
    check(_pids(d) == pids, "workers restarted: %r, were %r"
          % (_pids(d), pids))
    for c, s, _ in _spread(ctx, d, port, up):
        close_politely(c, s)


@timeout(60)
def test_watchdog_kept_while_a_worker_waits_for_its_restart(ctx):
    """A worker that died and waits out its restart back-off does not
    hold WATCHDOG=1 back (only a running worker that does not answer
    does): worker 1 killed young four times waits 4 s, and WATCHDOG=1
    keeps coming meanwhile."""
    n, up, d, port = _start_watched(ctx)
    n.wait_watchdogs(5, 0, 10, "with both workers up")
    seen = set()
    for k in range(3):
        r = _kill_young(d, k, seen)
        _restarted_after(d, k, r, float(r["delay"]))
    r = _kill_young(d, 3, seen)
    check(r["delay"] == "4.000", "fourth death: delay=%s" % r["delay"])
    died = time.monotonic()
    _restarted_after(d, 3, r, 4.0)
    back = time.monotonic()
    # From the death to the restart seen: a master that withheld
    # WATCHDOG=1 for the dead worker sends at most the one it was sending
    # and one on a stale answer; one pinging normally about 40.
    during = [t for t in n.watchdogs() if died < t < back]
    check(len(during) >= 5, "%d WATCHDOG=1 in the %.1fs worker 1 waited "
          "for its restart" % (len(during), back - died))
    n.wait_watchdogs(3, back, 10, "after the restart")
    for c, s, _ in _spread(ctx, d, port, up):
        close_politely(c, s)
