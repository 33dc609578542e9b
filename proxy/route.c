/*
 * Routes: a listener's settings for its sessions, made from its section
 * of the configuration and shared by reference count.  Calls addr (the
 * upstream), addrmatch (trusted networks) and tls (contexts); knows
 * nothing of sockets or the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "addrmatch.h"
#include "route.h"
#include "tls.h"

/* The session engine's parameters from a listener's options. */
static void
route_params(struct sg_session_params *p, const struct sg_session_options *o)
{

	memset(p, 0, sizeof(*p));
	p->limits.max_stanza = o->max_stanza;
	p->limits.max_depth = o->max_depth;
	p->limits.max_attrs = o->max_attrs;
	p->limits.max_name = o->max_name;
	p->limits.max_value = o->max_value;
	p->idle_timeout = o->idle_timeout_ms;
	p->close_timeout = o->close_timeout_ms;
	p->stanza_timeout = o->stanza_timeout_ms;
	p->server_first = (o->close_order == SG_CLOSE_SERVER_FIRST);
	p->policy = o->undeliverable;
	p->rewrite_idle_errors = o->rewrite_idle_errors;
	p->sm_handback = o->sm_handback;
	p->high_water = o->high_water;
	p->low_water = o->low_water;
}

/*
 * The route's TLS contexts, the files read now (so a reload re-reads
 * them).  A file that cannot be used is a configuration error.  Also
 * what --check-config runs (sg_route_check), so that both say the same.
 */
static int
route_tls(struct sg_log *log, struct sg_route *r,
    const struct sg_listener_config *lc, char *err, size_t errlen)
{
	char e[512], host[256];
	unsigned port;

	r->tls = lc->opt.tls;
	if (r->tls != SG_TLS_NONE && (r->tls_server = sg_tls_server_new(
	    lc->name, lc->certificate, lc->key, log, e, sizeof(e))) ==
	    NULL) {
		snprintf(err, errlen, "listener %s: %s", lc->name, e);
		return (-1);
	}
	if (!lc->opt.upstream_tls)
		return (0);
	if (sg_addr_split(lc->upstream, 0, host, sizeof(host), &port, NULL,
	    0) == -1)
		host[0] = '\0';
	if ((r->tls_client = sg_tls_client_new(host, lc->upstream_tls_name,
	    lc->upstream_tls_ca, lc->opt.upstream_tls_verify, e, sizeof(e))) ==
	    NULL) {
		snprintf(err, errlen, "listener %s: %s", lc->name, e);
		return (-1);
	}
	return (0);
}

struct sg_route *
sg_route_new(const struct sg_listener_config *lc, struct sg_log *log,
    enum sg_route_result *res, char *err, size_t errlen)
{
	struct sg_route *r;
	enum sg_addr_result ar;
	char e[256];

	*res = SG_ROUTE_FAILED;
	snprintf(err, errlen, "listener %s: out of memory", lc->name);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto err0;
	if ((r->name = strdup(lc->name)) == NULL)
		goto err1;
	ar = sg_addr_resolve(lc->upstream, 0, &r->upstream, e, sizeof(e));
	if (ar != SG_ADDR_OK) {
		snprintf(err, errlen, "listener %s: upstream %s", lc->name, e);
		*res = ar == SG_ADDR_INVALID ? SG_ROUTE_BAD_CONFIG :
		    SG_ROUTE_FAILED;
		goto err2;
	}
	route_params(&r->params, &lc->opt);
	/* The client has TLS from us: S's own offer would nest TLS. */
	r->params.hide_starttls = lc->opt.tls != SG_TLS_NONE;
	r->connect_timeout_ms = lc->opt.connect_timeout_ms;
	r->send_proxy = lc->opt.send_proxy;
	r->refs = 1;
	if (lc->opt.accept_proxy && (r->trusted = sg_addrmatch_parse(
	    lc->trusted_proxies, e, sizeof(e))) == NULL) {
		snprintf(err, errlen, "listener %s: trusted-proxies: %s",
		    lc->name, e);
		*res = SG_ROUTE_BAD_CONFIG;
		sg_route_unref(r);
		return (NULL);
	}
	if (route_tls(log, r, lc, err, errlen) == -1) {
		*res = SG_ROUTE_BAD_CONFIG;
		sg_route_unref(r);
		return (NULL);
	}
	return (r);

err2:
	free(r->name);
err1:
	free(r);
err0:
	return (NULL);
}

int
sg_route_check(const struct sg_config *cfg, struct sg_log *log,
    char *err, size_t errlen)
{
	struct sg_route r;
	size_t i;
	int res;

	for (i = 0; i < cfg->nlisteners; i++) {
		memset(&r, 0, sizeof(r));
		res = route_tls(log, &r, &cfg->listeners[i], err, errlen);
		sg_tls_server_free(r.tls_server);
		sg_tls_client_free(r.tls_client);
		if (res == -1)
			return (-1);
	}
	return (0);
}

struct sg_route *
sg_route_ref(struct sg_route *r)
{

	r->refs++;
	return (r);
}

void
sg_route_unref(struct sg_route *r)
{

	if (r == NULL || --r->refs > 0)
		return;
	sg_tls_server_free(r->tls_server);
	sg_tls_client_free(r->tls_client);
	sg_addrmatch_free(r->trusted);
	free(r->name);
	free(r);
}
