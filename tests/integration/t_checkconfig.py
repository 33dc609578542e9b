"""--check-config loads every listener's TLS files as a start does: the
same refusals, with the same message and exit 2, and no socket bound."""

import os
import socket

from sgtest import (LOOPBACK, check, free_port, hostport, parse_line,
                    run_binary, timeout)
from sgtls import make_certs


def _conf(ctx, tls_section):
    """A file with a plain listener first and a TLS one second (so that
    the check must go past the first listener); returns its path."""
    path = ctx.path("sg.conf")
    with open(path, "w") as f:
        f.write("[global]\nlog-format = text\nstats-interval = 0\n"
                "[plain]\nlisten = %s\nupstream = 127.0.0.1:1\n"
                "[tls]\nlisten = %s\nupstream = 127.0.0.1:1\n%s"
                % (hostport(LOOPBACK, free_port()),
                   hostport(LOOPBACK, free_port()), tls_section))
    return path


def _start_error(ctx, conf):
    """What a start with conf says: (exit status, start-failed message)."""
    rc, _, err = run_binary(ctx, ["-c", conf])
    recs = [parse_line(x) for x in err.splitlines()]
    fails = [r["msg"] for r in recs if r.get("event") == "start-failed"]
    check(len(fails) == 1, "start: rc %d, stderr %r" % (rc, err))
    return rc, fails[0]


def _check_refuses_as_start(ctx, tls_section, named):
    """--check-config and a start both exit 2, the check's stderr holding
    the start's message, which names the file named."""
    conf = _conf(ctx, tls_section)
    src, smsg = _start_error(ctx, conf)
    check(src == 2, "start: exit %d (%s)" % (src, smsg))
    check(named in smsg, "start's message %r does not name %s"
          % (smsg, named))
    rc, out, err = run_binary(ctx, ["-c", conf, "--check-config"])
    check(rc == 2, "--check-config: exit %d, stdout %r, stderr %r"
          % (rc, out, err))
    check("configuration OK" not in out, "stdout %r" % out)
    lines = err.strip().splitlines()
    check(len(lines) == 1 and smsg in lines[0],
          "--check-config stderr %r, start said %r" % (err, smsg))


@timeout(60)
def test_check_config_missing_certificate(ctx):
    """A certificate file that does not exist: exit 2 naming it."""
    certs = make_certs(ctx)
    missing = os.path.join(certs, "missing.pem")
    _check_refuses_as_start(
        ctx, "tls = direct\ncertificate = %s\nkey = %s\n"
        % (missing, os.path.join(certs, "server.key")), missing)


@timeout(60)
def test_check_config_key_file_without_key(ctx):
    """A key file that holds no private key (a certificate): exit 2
    naming it."""
    certs = make_certs(ctx)
    key = os.path.join(certs, "other.pem")
    _check_refuses_as_start(
        ctx, "tls = starttls\ncertificate = %s\nkey = %s\n"
        % (os.path.join(certs, "server.pem"), key), key)


@timeout(60)
def test_check_config_key_does_not_match(ctx):
    """A key that does not match its certificate: exit 2 naming both."""
    certs = make_certs(ctx)
    pem = os.path.join(certs, "server.pem")
    key = os.path.join(certs, "wrongkey.key")
    _check_refuses_as_start(
        ctx, "tls = direct\ncertificate = %s\nkey = %s\n" % (pem, key),
        "%s does not match certificate %s" % (key, pem))


@timeout(60)
def test_check_config_bad_upstream_ca(ctx):
    """An upstream-tls-ca that holds no certificate: exit 2 naming it."""
    certs = make_certs(ctx)
    ca = os.path.join(certs, "wrongkey.key")
    _check_refuses_as_start(
        ctx, "upstream-tls = yes\nupstream-tls-ca = %s\n" % ca, ca)


@timeout(60)
def test_check_config_missing_upstream_ca(ctx):
    """An upstream-tls-ca that does not exist: exit 2 naming it."""
    certs = make_certs(ctx)
    ca = os.path.join(certs, "missing-ca.pem")
    _check_refuses_as_start(
        ctx, "upstream-tls = yes\nupstream-tls-ca = %s\n" % ca, ca)


@timeout(60)
def test_check_config_good_files_bind_nothing(ctx):
    """Good certificates, keys and CA: "configuration OK", exit 0, nothing
    on stderr, even with both listen ports held by another socket (the
    running service's, say): the check binds nothing."""
    certs = make_certs(ctx)
    held = []
    for _ in range(2):
        s = socket.socket()
        s.bind((LOOPBACK, 0))
        s.listen()
        ctx.on_cleanup(s.close)
        held.append(hostport(LOOPBACK, s.getsockname()[1]))
    path = ctx.path("sg.conf")
    with open(path, "w") as f:
        f.write("[global]\nlog-format = text\nstats-interval = 0\n"
                "[c2s]\nlisten = %s\nupstream = 127.0.0.1:1\n"
                "tls = direct\ncertificate = %s %s\nkey = %s %s\n"
                "[s2s]\nlisten = %s\nupstream = 127.0.0.1:1\n"
                "upstream-tls = yes\nupstream-tls-ca = %s\n"
                % (held[0], os.path.join(certs, "server.pem"),
                   os.path.join(certs, "other.pem"),
                   os.path.join(certs, "server.key"),
                   os.path.join(certs, "other.key"), held[1],
                   os.path.join(certs, "ca.pem")))
    rc, out, err = run_binary(ctx, ["-c", path, "--check-config"])
    check(rc == 0 and out.strip() == "configuration OK" and err == "",
          "exit %d, stdout %r, stderr %r" % (rc, out, err))


@timeout(60)
def test_check_config_expired_certificate_warns(ctx):
    """An expired certificate passes the check with the warning a start
    logs (event=certificate-invalid naming the file), exit 0."""
    certs = make_certs(ctx)
    pem = os.path.join(certs, "expired.pem")
    conf = _conf(ctx, "tls = direct\ncertificate = %s\nkey = %s\n"
                 % (pem, os.path.join(certs, "expired.key")))
    rc, out, err = run_binary(ctx, ["-c", conf, "--check-config"])
    check(rc == 0 and out.strip() == "configuration OK",
          "exit %d, stdout %r, stderr %r" % (rc, out, err))
    recs = [parse_line(x) for x in err.splitlines()]
    check(len(recs) == 1 and recs[0].get("event") == "certificate-invalid"
          and recs[0].get("file") == pem and recs[0].get("listener") == "tls"
          and "2020" in recs[0].get("not_after", ""), "stderr %r" % err)
