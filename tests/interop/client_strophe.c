/*
 * The interop matrix's libstrophe client (tests/interop/matrix.py drives
 * it): Debian's libstrophe 0.12, as profanity uses it, nothing changed in
 * how it closes.
 *
 *   client_strophe --port P --jid USER@localhost --password PW
 *                  [--resource R] [--ca FILE] [--reconnect]
 *
 * The matrix's line protocol, the same for every client library:
 *   stdin:  "send JID ID" a chat message; "close" xmpp_disconnect();
 *           "exit"
 *   stdout: "online FULLJID secure=yes|no", "roster N", "msg FROM ID",
 *           "error CONDITION" (a stream error), "disconnected WHY"
 * --ca FILE: STARTTLS required, verified against FILE (else TLS is off).
 * --reconnect: connect again after a disconnection nobody asked for.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strophe.h>
#include <unistd.h>

struct client {
	xmpp_ctx_t *ctx;
	xmpp_conn_t *conn;
	const char *ca;
	unsigned short port;
	int reconnect;
	int closing;	/* "close" or "exit" asked for */
	int connected;
	int done;
	char line[4096];
	size_t len;
};

/* In the order of libstrophe's xmpp_error_type_t. */
static const char *const conditions[] = {
	"bad-format", "bad-namespace-prefix", "conflict", "connection-timeout",
	"host-gone", "host-unknown", "improper-addressing",
	"internal-server-error", "invalid-from", "invalid-id",
	"invalid-namespace", "invalid-xml", "not-authorized",
	"policy-violation", "remote-connection-failed", "resource-constraint",
	"restricted-xml", "see-other-host", "system-shutdown",
	"undefined-condition", "unsupported-encoding",
	"unsupported-stanza-type", "unsupported-version",
	"xml-not-well-formed",
};

/* One line of the protocol: WORD [A [B]]. */
static void say(const char *word, const char *a, const char *b)
{
	printf("%s%s%s%s%s\n", word, a ? " " : "", a ? a : "", b ? " " : "",
	    b ? b : "");
	fflush(stdout);
}

static int on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data)
{
	const char *type = xmpp_stanza_get_type(st);
	const char *from = xmpp_stanza_get_from(st);
	const char *id = xmpp_stanza_get_id(st);
	struct client *c = data;
	char *bare;

	(void)conn;
	if (type != NULL && strcmp(type, "chat") != 0 &&
	    strcmp(type, "normal") != 0)
		return 1;
	bare = xmpp_jid_bare(c->ctx, from ? from : "-");
	say("msg", bare ? bare : "-", id ? id : "-");
	xmpp_free(c->ctx, bare);
	return 1;
}

static int on_roster(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data)
{
	xmpp_stanza_t *q = xmpp_stanza_get_child_by_name(st, "query");
	xmpp_stanza_t *it;
	int n = 0;
	char num[16];

	(void)conn;
	(void)data;
	for (it = q ? xmpp_stanza_get_children(q) : NULL; it != NULL;
	     it = xmpp_stanza_get_next(it))
		n++;
	snprintf(num, sizeof(num), "%d", n);
	say("roster", num, NULL);
	return 0;
}

static void send_roster_get(struct client *c)
{
	xmpp_stanza_t *iq = xmpp_iq_new(c->ctx, "get", "roster1");
	xmpp_stanza_t *q = xmpp_stanza_new(c->ctx);

	xmpp_stanza_set_name(q, "query");
	xmpp_stanza_set_ns(q, "jabber:iq:roster");
	xmpp_stanza_add_child(iq, q);
	xmpp_stanza_release(q);
	xmpp_id_handler_add(c->conn, on_roster, "roster1", c);
	xmpp_send(c->conn, iq);
	xmpp_stanza_release(iq);
}

static int connect_now(struct client *c);

static int reconnect_later(xmpp_ctx_t *ctx, void *data)
{
	(void)ctx;
	connect_now(data);
	return 0;	/* once */
}

static void on_conn(xmpp_conn_t *conn, xmpp_conn_event_t ev, int error,
    xmpp_stream_error_t *se, void *data)
{
	struct client *c = data;
	xmpp_stanza_t *pres;

	if (ev == XMPP_CONN_CONNECT) {
		c->connected = 1;
		say("online", xmpp_conn_get_bound_jid(conn),
		    xmpp_conn_is_secured(conn) ? "secure=yes" : "secure=no");
		pres = xmpp_presence_new(c->ctx);
		xmpp_send(conn, pres);
		xmpp_stanza_release(pres);
		send_roster_get(c);
		return;
	}
	if (se != NULL && (unsigned)se->type <
	    sizeof(conditions) / sizeof(conditions[0]))
		say("error", conditions[se->type], NULL);
	c->connected = 0;
	say("disconnected", error ? strerror(error) :
	    (ev == XMPP_CONN_FAIL ? "fail" : "-"), NULL);
	if (c->reconnect && !c->closing)
		xmpp_global_timed_handler_add(c->ctx, reconnect_later, 500, c);
	else if (c->closing)
		c->done = 1;
}

static int connect_now(struct client *c)
{
	if (xmpp_connect_client(c->conn, "127.0.0.1", c->port, on_conn, c)
	    != XMPP_EOK) {
		say("disconnected", "connect-failed", NULL);
		if (c->reconnect && !c->closing)
			xmpp_global_timed_handler_add(c->ctx, reconnect_later,
			    500, c);
		return -1;
	}
	return 0;
}

static void send_message(struct client *c, const char *to, const char *id)
{
	xmpp_stanza_t *m = xmpp_message_new(c->ctx, "chat", to, id);

	xmpp_message_set_body(m, "hello");
	xmpp_send(c->conn, m);
	xmpp_stanza_release(m);
}

static void command(struct client *c, char *line)
{
	char *cmd = strtok(line, " \t\r");
	char *a = strtok(NULL, " \t\r");
	char *b = strtok(NULL, " \t\r");

	if (cmd == NULL)
		return;
	if (strcmp(cmd, "send") == 0 && a != NULL && b != NULL) {
		if (c->connected)
			send_message(c, a, b);
	} else if (strcmp(cmd, "close") == 0) {
		c->closing = 1;
		if (c->connected)
			xmpp_disconnect(c->conn);
		else
			c->done = 1;
	} else if (strcmp(cmd, "exit") == 0) {
		c->done = 1;
	}
}

/* Whatever stdin has, without blocking; every complete line is run. */
static void read_stdin(struct client *c)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	ssize_t n;
	char *nl;

	if (poll(&p, 1, 0) <= 0)
		return;
	n = read(0, c->line + c->len, sizeof(c->line) - 1 - c->len);
	if (n <= 0) {
		if (n == 0 || errno != EINTR)
			c->done = 1;
		return;
	}
	c->len += (size_t)n;
	c->line[c->len] = '\0';
	while ((nl = strchr(c->line, '\n')) != NULL) {
		*nl = '\0';
		command(c, c->line);
		c->len -= (size_t)(nl + 1 - c->line);
		memmove(c->line, nl + 1, c->len + 1);
	}
	if (c->len == sizeof(c->line) - 1)
		c->len = 0;	/* a line too long: dropped */
}

static int usage(void)
{
	fprintf(stderr, "usage: client_strophe --port P --jid JID "
	    "--password PW [--resource R] [--ca FILE] [--reconnect]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct client c = { 0 };
	const char *jid = NULL, *pass = NULL, *res = "strophe";
	char full[512];
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--reconnect") == 0)
			c.reconnect = 1;
		else if (i + 1 >= argc)
			return usage();
		else if (strcmp(argv[i], "--port") == 0)
			c.port = (unsigned short)atoi(argv[++i]);
		else if (strcmp(argv[i], "--jid") == 0)
			jid = argv[++i];
		else if (strcmp(argv[i], "--password") == 0)
			pass = argv[++i];
		else if (strcmp(argv[i], "--resource") == 0)
			res = argv[++i];
		else if (strcmp(argv[i], "--ca") == 0)
			c.ca = argv[++i];
		else
			return usage();
	}
	if (jid == NULL || pass == NULL || c.port == 0)
		return usage();
	snprintf(full, sizeof(full), "%s/%s", jid, res);

	xmpp_initialize();
	c.ctx = xmpp_ctx_new(NULL, getenv("STROPHE_DEBUG") ?
	    xmpp_get_default_logger(XMPP_LEVEL_DEBUG) : NULL);
	c.conn = xmpp_conn_new(c.ctx);
	xmpp_conn_set_jid(c.conn, full);
	xmpp_conn_set_pass(c.conn, pass);
	/* Stream management off: the matrix has no scenario for it yet. */
	if (c.ca != NULL) {
		xmpp_conn_set_flags(c.conn, XMPP_CONN_FLAG_MANDATORY_TLS |
		    XMPP_CONN_FLAG_DISABLE_SM);
		xmpp_conn_set_cafile(c.conn, c.ca);
	} else {
		xmpp_conn_set_flags(c.conn, XMPP_CONN_FLAG_DISABLE_TLS |
		    XMPP_CONN_FLAG_DISABLE_SM);
	}
	xmpp_handler_add(c.conn, on_message, NULL, "message", NULL, &c);
	connect_now(&c);
	while (!c.done) {
		xmpp_run_once(c.ctx, 50);
		read_stdin(&c);
	}
	xmpp_conn_release(c.conn);
	xmpp_ctx_free(c.ctx);
	xmpp_shutdown();
	return 0;
}
