/*
 * The pre-TLS dialogue of a starttls listener, over the stream tracker.
 *
 * Owns the front (its tracker and output queue) until the session or
 * the refusal takes over; calls tracker, compose and bq.
 */
#include <stdlib.h>
#include <string.h>

#include "compose.h"
#include "front.h"
#include "xmppns.h"

#define TLS_REQUIRED	"TLS is required: send <starttls/> first"

struct sg_front {
	struct sg_tracker *t;
	struct sg_bq *out;
	enum sg_front_outcome outcome;
	int header_out;			/* ours was written */
	uint64_t proceed_at;		/* end of <starttls/> */
	size_t before_proceed;		/* the queue's length before it */
	const char *why;
	const char *header_cond;	/* refuse at the header with it */
	const char *header_why;
	char ns[64];			/* the client's default namespace */
	char to[256];
	char id[64];
};

static void
copy_str(char *dst, size_t size, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n >= size)
		n = size - 1;
	if (n > 0)
		memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Our header, once, in the client's namespace. */
static int
put_header(struct sg_front *f)
{

	if (f->header_out)
		return (0);
	f->header_out = 1;
	return (sg_compose_header(f->out, f->ns[0] != '\0' ? f->ns :
	    "jabber:client", f->to[0] != '\0' ? f->to : NULL, f->id));
}

/* A stream error (with text if not NULL) and our close tag. */
static void
refuse(struct sg_front *f, const char *cond, const char *text,
    const char *why)
{

	f->outcome = SG_FRONT_REFUSE;
	f->why = why;
	if (put_header(f) == -1 || (text != NULL ?
	    sg_compose_stream_error_text(f->out, "stream", cond, text) :
	    sg_compose_stream_error(f->out, "stream", cond)) == -1 ||
	    sg_compose_close(f->out, "stream") == -1)
		f->why = "out of memory";
}

/* Bytes after <starttls/>: its TLS handshake must wait for <proceed/>. */
static void
too_early(struct sg_front *f)
{

	sg_bq_truncate(f->out, f->before_proceed);
	refuse(f, "policy-violation", TLS_REQUIRED,
	    "data after <starttls/> before <proceed/>");
}

static void
on_header(struct sg_front *f, const struct sg_tracker_event *ev)
{

	copy_str(f->ns, sizeof(f->ns), ev->default_ns);
	copy_str(f->to, sizeof(f->to), ev->to);
	if (f->header_cond != NULL) {
		refuse(f, f->header_cond, NULL, f->header_why);
		return;
	}
	if (put_header(f) == -1 ||
	    sg_compose_starttls_features(f->out) == -1)
		refuse(f, "internal-server-error", NULL, "out of memory");
}

static void
on_stanza(struct sg_front *f, const struct sg_tracker_event *ev)
{

	if (strcmp(ev->name, "starttls") != 0 ||
	    strcmp(ev->ns, SG_NS_TLS) != 0) {
		refuse(f, "policy-violation", TLS_REQUIRED,
		    "a stanza before <starttls/>");
		return;
	}
	f->outcome = SG_FRONT_PROCEED;
	f->proceed_at = ev->end;
	f->before_proceed = sg_bq_len(f->out);
	if (sg_compose_proceed(f->out) == -1)
		refuse(f, "internal-server-error", NULL, "out of memory");
}

static void
on_event(void *ctx, const struct sg_tracker_event *ev)
{
	struct sg_front *f = ctx;

	if (ev->type == SG_EV_KEEPALIVE)
		return;
	if (f->outcome == SG_FRONT_PROCEED) {
		too_early(f);
		return;
	}
	if (f->outcome != SG_FRONT_NEED_MORE)
		return;
	switch (ev->type) {
	case SG_EV_HEADER:
		on_header(f, ev);
		break;
	case SG_EV_STANZA:
		on_stanza(f, ev);
		break;
	case SG_EV_CLOSE:
		f->outcome = SG_FRONT_CLOSED;
		if (put_header(f) == -1 ||
		    sg_compose_close(f->out, "stream") == -1)
			f->why = "out of memory";
		break;
	default:
		break;
	}
}

struct sg_front *
sg_front_new(const struct sg_tracker_limits *lim, const char *id)
{
	struct sg_front *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (NULL);
	f->why = "";
	copy_str(f->id, sizeof(f->id), id);
	if ((f->out = sg_bq_new()) == NULL ||
	    (f->t = sg_tracker_new(lim, on_event, f)) == NULL) {
		sg_front_free(f);
		return (NULL);
	}
	return (f);
}

void
sg_front_free(struct sg_front *f)
{

	if (f == NULL)
		return;
	sg_tracker_free(f->t);
	sg_bq_free(f->out);
	free(f);
}

/* Only whitespace in buf from absolute offset at on (base: buf's). */
static int
blank_after(const char *buf, size_t len, uint64_t base, uint64_t at)
{
	size_t i = at > base ? (size_t)(at - base) : 0;

	for (; i < len; i++)
		if (strchr(" \t\r\n", buf[i]) == NULL || buf[i] == '\0')
			return (0);
	return (1);
}

enum sg_front_outcome
sg_front_feed(struct sg_front *f, const char *buf, size_t len)
{
	uint64_t base = sg_tracker_offset(f->t);
	enum sg_tracker_result r;

	if (f->outcome != SG_FRONT_NEED_MORE)
		return (f->outcome);
	r = sg_tracker_feed(f->t, buf, len);
	if (f->outcome == SG_FRONT_PROCEED &&
	    !blank_after(buf, len, base, f->proceed_at))
		too_early(f);
	else if (r != SG_TRACK_OK && f->outcome == SG_FRONT_NEED_MORE)
		refuse(f, sg_tracker_condition(r), NULL,
		    sg_tracker_strerror(r));
	return (f->outcome);
}

void
sg_front_refuse_at_header(struct sg_front *f, const char *cond,
    const char *why)
{

	f->header_cond = cond;
	f->header_why = why;
}

enum sg_front_outcome
sg_front_refuse(struct sg_front *f, const char *cond, const char *why)
{

	if (f->outcome == SG_FRONT_NEED_MORE)
		refuse(f, cond, NULL, why);
	return (f->outcome);
}

enum sg_front_outcome
sg_front_shutdown(struct sg_front *f)
{

	return (sg_front_refuse(f, "system-shutdown",
	    "the service is stopping"));
}

struct sg_bq *
sg_front_outq(struct sg_front *f)
{

	return (f->out);
}

const char *
sg_front_to(const struct sg_front *f)
{

	return (f->to);
}

const char *
sg_front_why(const struct sg_front *f)
{

	return (f->why);
}
