"""Command line: --check-config, --version, --help, and bad options."""

import socket

from sgtest import LOOPBACK, check, free_port, hostport, run_binary, timeout


@timeout(20)
def test_check_config_ok(ctx):
    """--check-config on a good command line prints "configuration OK"
    and exits 0."""
    rc, out, err = run_binary(ctx, ["--check-config", "--listen",
                                    "127.0.0.1:5222", "--upstream",
                                    "127.0.0.1:5322"])
    check(rc == 0, "exit %d, stderr %r" % (rc, err))
    check(out.strip() == "configuration OK", "stdout %r" % out)


@timeout(20)
def test_unknown_option_exits_2(ctx):
    """An unknown option exits 2 with one line on stderr."""
    rc, out, err = run_binary(ctx, ["--listen", "127.0.0.1:5222",
                                    "--upstream", "127.0.0.1:5322",
                                    "--no-such-option=1"])
    check(rc == 2, "exit %d" % rc)
    lines = err.strip().splitlines()
    check(len(lines) == 1, "stderr %r" % err)
    check("no-such-option" in lines[0], "stderr %r" % err)


@timeout(20)
def test_bad_value_exits_2(ctx):
    """A bad value exits 2 with one line naming the option."""
    rc, out, err = run_binary(ctx, ["--listen", "127.0.0.1:5222",
                                    "--upstream", "127.0.0.1:5322",
                                    "--idle-timeout=banana"])
    check(rc == 2, "exit %d" % rc)
    lines = err.strip().splitlines()
    check(len(lines) == 1 and "idle-timeout" in lines[0], "stderr %r" % err)


@timeout(20)
def test_bad_config_file_exits_2(ctx):
    """--check-config on a broken file exits 2 with one line."""
    path = ctx.path("bad.conf")
    with open(path, "w") as f:
        f.write("[global]\nidle-timeout = forever\n")
    rc, out, err = run_binary(ctx, ["-c", path, "--check-config"])
    check(rc == 2, "exit %d, stdout %r" % (rc, out))
    check(len(err.strip().splitlines()) == 1, "stderr %r" % err)


@timeout(20)
def test_version_and_help(ctx):
    """--version and --help print to stdout and exit 0."""
    rc, out, err = run_binary(ctx, ["--version"])
    check(rc == 0 and out.startswith("stanzaguard "), "%d %r" % (rc, out))
    rc, out, err = run_binary(ctx, ["--help"])
    check(rc == 0 and "idle-timeout" in out, "%d %r" % (rc, out))


@timeout(20)
def test_port_in_use_exits_1(ctx):
    """A listen port already taken is a runtime failure: exit 1, one log
    line naming the listener."""
    s = socket.socket()
    s.bind((LOOPBACK, 0))
    s.listen()
    ctx.on_cleanup(s.close)
    rc, out, err = run_binary(ctx, [
        "--listen", hostport(LOOPBACK, s.getsockname()[1]),
        "--upstream", "127.0.0.1:5322"])
    check(rc == 1, "exit %d, stderr %r" % (rc, err))
    lines = err.strip().splitlines()
    check(len(lines) == 1 and "start-failed" in lines[0] and
          "default" in lines[0], "stderr %r" % err)


@timeout(30)
def test_unknown_upstream_name_exits_2(ctx):
    """An upstream name that does not exist is a configuration error:
    exit 2 (1 only if the resolver itself is unreachable)."""
    rc, out, err = run_binary(ctx, [
        "--listen", hostport(LOOPBACK, free_port()),
        "--upstream", "no-such-host.invalid:5222"], timeout=25)
    lines = err.strip().splitlines()
    check(len(lines) == 1 and "no-such-host.invalid" in lines[0],
          "stderr %r" % err)
    if "Temporary failure" in err:
        check(rc == 1, "exit %d" % rc)
    else:
        check(rc == 2, "exit %d, stderr %r" % (rc, err))
