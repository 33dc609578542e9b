#!/usr/bin/python3
"""Run stanzaguard's integration tests.

Every tests/integration/t*.py module's test_* functions (or those named on
the command line as module or module:function), each in its own process
with a time limit, several at once (-j).  Each test function takes a
sgtest.Ctx and checks one property, said in its docstring's first line.

    run.py --binary ./stanzaguard [-j N] [-v] [t_relay[:test_name] ...]

SG_WRAP="valgrind --error-exitcode=99 --leak-check=full" runs every daemon
under that command (time limits grow fivefold); SG_SEED replays the random
data of a failed run; SG_JOBS sets -j.

The last line is always "integration: N passed, N failed"; the exit status
is non-zero if any test failed.
"""

import argparse
import importlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import sgtest  # noqa: E402

DEFAULT_LIMIT = 60.0


def discover(names):
    """[(module, function)] for names, or for every t*.py."""
    if not names:
        names = sorted(f[:-3] for f in os.listdir(HERE)
                       if f.startswith("t") and f.endswith(".py"))
    out = []
    for name in names:
        mod, _, fn = name.partition(":")
        try:
            m = importlib.import_module(mod)
        except Exception:  # noqa: BLE001 - a broken module is a failure
            traceback.print_exc()
            out.append((mod, "<import>"))
            continue
        fns = [fn] if fn else sorted(
            (k for k in dir(m) if k.startswith("test_")),
            key=lambda k: getattr(m, k).__code__.co_firstlineno)
        for f in fns:
            if not callable(getattr(m, f, None)):
                sys.exit("run.py: no test %s:%s" % (mod, f))
            out.append((mod, f))
    return out


def limit_of(mod, fn):
    if fn == "<import>":
        return DEFAULT_LIMIT
    f = getattr(importlib.import_module(mod), fn)
    return float(getattr(f, "timeout", DEFAULT_LIMIT)) * sgtest.slow()


def run_one(binary, mod, fn):
    """In the child: run one test; exit status 0 if it passed."""
    try:
        f = getattr(importlib.import_module(mod), fn)
    except Exception:  # noqa: BLE001 - reported as the test's failure
        traceback.print_exc()
        os._exit(1)
    ctx = sgtest.Ctx(binary, fn)
    ok = True
    try:
        f(ctx)
    except Exception:  # noqa: BLE001 - any failure fails the test
        traceback.print_exc()
        ok = False
    try:
        ctx.close()
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        ok = False
    if not ok:
        for d in ctx.daemons:
            print("--- daemon %s log (last lines) ---" % " ".join(d.args))
            print("\n".join(d.lines[-60:]))
    sys.stdout.flush()
    os._exit(0 if ok else 1)


class Job:
    def __init__(self, binary, mod, fn, verbose):
        self.mod, self.fn = mod, fn
        self.name = "%s:%s" % (mod, fn)
        self.limit = limit_of(mod, fn)
        self.start = time.monotonic()
        # A file, not a pipe: a chatty test must never block on it.
        self.out = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--binary", binary,
             "--one", self.name],
            stdout=self.out, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.verbose = verbose
        self.output = b""

    def _read(self):
        self.out.seek(0)
        data = self.out.read()
        self.out.close()
        return data

    def poll(self):
        """None while running, else True (passed) or False."""
        rc = self.proc.poll()
        if rc is None and time.monotonic() - self.start > self.limit:
            # The whole process group: the test and its daemons.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.output = self._read() + (
                b"\nTIMEOUT after %.0fs\n" % self.limit)
            return False
        if rc is None:
            return None
        self.output = self._read()
        # Nothing the test started may outlive it.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return rc == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="./stanzaguard")
    ap.add_argument("-j", "--jobs", type=int,
                    default=int(os.environ.get("SG_JOBS", "2")))
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("tests", nargs="*")
    a = ap.parse_args()
    if a.one:
        mod, _, fn = a.one.partition(":")
        run_one(a.binary, mod, fn)
    if not os.access(a.binary, os.X_OK):
        print("run.py: %s is not an executable" % a.binary)
        print("integration: 0 passed, 1 failed")
        return 1
    todo = discover(a.tests)
    running, passed, failed = [], 0, []
    while todo or running:
        while todo and len(running) < max(1, a.jobs):
            mod, fn = todo.pop(0)
            running.append(Job(a.binary, mod, fn, a.verbose))
        for j in list(running):
            r = j.poll()
            if r is None:
                continue
            running.remove(j)
            dt = time.monotonic() - j.start
            if r:
                passed += 1
                print("PASS %s (%.1fs)" % (j.name, dt))
                if a.verbose:
                    sys.stdout.write(j.output.decode("utf-8", "replace"))
            else:
                failed.append(j.name)
                print("FAIL %s (%.1fs)" % (j.name, dt))
                sys.stdout.write(j.output.decode("utf-8", "replace"))
            sys.stdout.flush()
        time.sleep(0.05)
    if failed:
        print("failed: %s" % " ".join(failed))
    print("integration: %d passed, %d failed" % (passed, len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
