/*
 * Logging (log.h): records built on the caller's stack, written as text,
 * JSON or journal entries.  Owns the logger and its line buffer; calls
 * libc and libsystemd's journal only: every other module of the daemon
 * may call it, and it calls none of them.
 */
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "log.h"
#include "logpriv.h"

/*
 * The rendering buffer of a logger holds the largest record any format can
 * make, so sg_log_end() never cuts one: values take at most SG_LOG_BUF raw
 * bytes, a byte escapes to at most 6 (JSON \u00XX), and the journal writes
 * each value twice (MESSAGE= and its own field) at most 4 each.
 */
#define KEYS_MAX	(2 * SG_LOG_MAX_FIELDS * (SG_LOG_KEY_MAX + 16))
#define LINE_CAP	(8 * SG_LOG_BUF + KEYS_MAX + 512)
#define TS_LEN		32
#define JOURNAL_IOV	(SG_LOG_MAX_FIELDS + 4)

struct sg_log {
	enum sg_log_format format;	/* never AUTO */
	int level;
	int fd;
	char *line;			/* LINE_CAP bytes */
	const char *tag_key;		/* a field every record gets, or NULL */
	char tag_val[SG_LOG_TAG_MAX];
};

/* A bounded writer that counts what it would need, like snprintf(3). */
struct out {
	char *buf;
	size_t cap;
	size_t len;
};

static void
put(struct out *o, const char *s, size_t n)
{

	if (o->len < o->cap)
		memcpy(o->buf + o->len, s, n < o->cap - o->len ? n :
		    o->cap - o->len);
	o->len += n;
}

static void
puts_(struct out *o, const char *s)
{

	put(o, s, strlen(s));
}

static void putf(struct out *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* A short formatted piece: an escape or a number. */
static void
putf(struct out *o, const char *fmt, ...)
{
	char b[32];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	put(o, b, n > 0 ? (size_t)n : 0);
}

/* NUL-terminate what fits; return the length needed. */
static size_t
finish(struct out *o)
{

	if (o->cap > 0)
		o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
	return (o->len);
}

static const char *
level_name(int prio)
{
	static const char *const names[] = { "emerg", "alert", "crit",
	    "error", "warning", "notice", "info", "debug" };

	return (names[prio & LOG_PRIMASK]);
}

static const char *
field(const struct sg_log_rec *r, size_t i, size_t *len)
{
	size_t end = i + 1 < r->nfields ? r->vals[i + 1] : r->used;

	*len = end - r->vals[i] - 1;
	return (r->buf + r->vals[i]);
}

static int
valid_key(const char *k)
{
	size_t n = strlen(k);

	return (n > 0 && n <= SG_LOG_KEY_MAX && k[0] >= 'a' && k[0] <= 'z' &&
	    strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_") == n);
}

/* Add a field; cut or drop it, and say so, when it does not fit. */
static void
add(struct sg_log_rec *r, const char *key, const char *val, size_t len,
    int isnum)
{
	size_t room = SG_LOG_BUF - r->used;

	if (r->skip)
		return;
	if (!valid_key(key) || r->nfields == SG_LOG_MAX_FIELDS || room < 2) {
		r->truncated = 1;
		return;
	}
	if (len > SG_LOG_VAL_MAX || len > room - 1) {
		len = SG_LOG_VAL_MAX < room - 1 ? SG_LOG_VAL_MAX : room - 1;
		r->truncated = 1;
	}
	r->keys[r->nfields] = key;
	r->vals[r->nfields] = r->used;
	r->isnum[r->nfields++] = (unsigned char)isnum;
	memcpy(r->buf + r->used, val, len);
	r->used += len;
	r->buf[r->used++] = '\0';
}

static int
bare(const unsigned char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '"' ||
		    s[i] == '\\' || s[i] == '=')
			return (0);
	return (n > 0);
}

/* The escapes all formats share: \\ \n \r \t, and \" if quoted. */
static int
put_short_escape(struct out *o, unsigned char c, int quoted)
{
	const char *e = c == '\\' ? "\\\\" : c == '\n' ? "\\n" :
	    c == '\r' ? "\\r" : c == '\t' ? "\\t" :
	    quoted && c == '"' ? "\\\"" : NULL;

	if (e == NULL)
		return (0);
	puts_(o, e);
	return (1);
}

/*
 * Escape for the text line (quoted: every byte but printable ASCII) or
 * for a journal field (unquoted: '"' and '=' stay as they are).
 */
static void
put_escaped(struct out *o, const unsigned char *s, size_t n, int quoted)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (put_short_escape(o, s[i], quoted))
			continue;
		if (s[i] < ' ' || s[i] >= 0x7f)
			putf(o, "\\x%02x", (unsigned)s[i]);
		else
			put(o, (const char *)s + i, 1);
	}
}

static void
render_text(const struct sg_log_rec *r, const char *ts, struct out *o)
{
	const char *v;
	size_t i, n;

	if (ts != NULL) {
		puts_(o, "ts=");
		puts_(o, ts);
		puts_(o, " ");
	}
	puts_(o, "level=");
	puts_(o, level_name(r->prio));
	for (i = 0; i < r->nfields; i++) {
		v = field(r, i, &n);
		put(o, " ", 1);
		puts_(o, r->keys[i]);
		put(o, "=", 1);
		if (bare((const unsigned char *)v, n)) {
			put(o, v, n);
			continue;
		}
		put(o, "\"", 1);
		put_escaped(o, (const unsigned char *)v, n, 1);
		put(o, "\"", 1);
	}
	if (r->truncated)
		puts_(o, " log_truncated=yes");
}

/*
 * The length of the valid UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0.
 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return (0);
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (len > n || s[1] < lo || s[1] > hi)
		return (0);
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return (0);
	return (len);
}

static void
put_json_string(struct out *o, const unsigned char *s, size_t n)
{
	size_t i, len;

	put(o, "\"", 1);
	for (i = 0; i < n; i += len) {
		len = 1;
		if (put_short_escape(o, s[i], 1))
			continue;
		if (s[i] < 0x7f && s[i] >= ' ')
			put(o, (const char *)s + i, 1);
		else if (s[i] < 0x80 || (len = utf8_len(s + i, n - i)) == 0) {
			len = 1;	/* control, DEL, or not UTF-8 */
			putf(o, "\\u%04x", (unsigned)s[i]);
		} else if (len == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0)
			putf(o, "\\u%04x", (unsigned)s[i + 1]);	/* C1 control */
		else if (len == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 &&
		    (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
			putf(o, "\\u%04x", 0x2000u | (s[i + 2] & 0x3fu));
		else
			put(o, (const char *)s + i, len);
	}
	put(o, "\"", 1);
}

static void
render_json(const struct sg_log_rec *r, const char *ts, struct out *o)
{
	const char *v;
	size_t i, n;

	put(o, "{", 1);
	if (ts != NULL) {
		puts_(o, "\"ts\":\"");
		puts_(o, ts);
		puts_(o, "\",");
	}
	puts_(o, "\"level\":\"");
	puts_(o, level_name(r->prio));
	put(o, "\"", 1);
	for (i = 0; i < r->nfields; i++) {
		v = field(r, i, &n);
		puts_(o, ",\"");
		puts_(o, r->keys[i]);
		puts_(o, "\":");
		if (r->isnum[i])
			put(o, v, n);
		else
			put_json_string(o, (const unsigned char *)v, n);
	}
	if (r->truncated)
		puts_(o, ",\"log_truncated\":true");
	put(o, "}", 1);
}

/* The journal field name of key, into name (SG_LOG_KEY_MAX + 4 bytes). */
static void
journal_name(const char *key, char *name)
{
	static const char *const map[][2] = {
		{ "session", "SESSION_ID" }, { "close", "CLOSE_REASON" },
		{ "client", "CLIENT" }, { "upstream", "UPSTREAM" },
		{ "event", "EVENT" }
	};
	static const char *const reserved[] = { "MESSAGE", "MESSAGE_ID",
	    "PRIORITY", "ERRNO", "TID", "DOCUMENTATION", "INVOCATION_ID",
	    "USER_INVOCATION_ID", "UNIT", "USER_UNIT", "LOG_TRUNCATED" };
	size_t i, n = 0;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(key, map[i][0]) == 0) {
			strcpy(name, map[i][1]);
			return;
		}
	for (i = 0; key[i] != '\0'; i++)
		name[i] = key[i] >= 'a' && key[i] <= 'z' ?
		    (char)(key[i] - 'a' + 'A') : key[i];
	name[i] = '\0';
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(name, reserved[i]) == 0)
			n = 1;
	if (strncmp(name, "CODE_", 5) == 0 || strncmp(name, "SYSLOG_", 7) ==
	    0 || strncmp(name, "OBJECT_", 7) == 0 || n) {
		memmove(name + 3, name, strlen(name) + 1);
		memcpy(name, "SG_", 3);
	}
}

static void
render_journal(const struct sg_log_rec *r, struct out *o)
{
	char name[SG_LOG_KEY_MAX + 8];
	const char *v;
	size_t i, n;

	putf(o, "PRIORITY=%u\n", (unsigned)(r->prio & LOG_PRIMASK));
	puts_(o, "SYSLOG_IDENTIFIER=stanzaguard\nMESSAGE=");
	render_text(r, NULL, o);
	put(o, "\n", 1);
	for (i = 0; i < r->nfields; i++) {
		v = field(r, i, &n);
		journal_name(r->keys[i], name);
		puts_(o, name);
		put(o, "=", 1);
		put_escaped(o, (const unsigned char *)v, n, 0);
		put(o, "\n", 1);
	}
	if (r->truncated)
		puts_(o, "LOG_TRUNCATED=yes\n");
}

size_t
sg_log_format_text(const struct sg_log_rec *r, char *out, size_t outlen)
{
	struct out o = { out, outlen, 0 };

	render_text(r, NULL, &o);
	return (finish(&o));
}

size_t
sg_log_format_json(const struct sg_log_rec *r, char *out, size_t outlen)
{
	struct out o = { out, outlen, 0 };

	render_json(r, NULL, &o);
	return (finish(&o));
}

size_t
sg_log_journal_fields(const struct sg_log_rec *r, char *out, size_t outlen)
{
	struct out o = { out, outlen, 0 };

	render_journal(r, &o);
	return (finish(&o));
}

/* Non-zero if JOURNAL_STREAM ("dev:ino") names the file open on fd. */
static int
fd_is_journal(int fd)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	char *end;
	struct stat st;

	if (e == NULL || *e < '0' || *e > '9')
		return (0);
	dev = strtoull(e, &end, 10);
	if (*end != ':' || end[1] < '0' || end[1] > '9')
		return (0);
	ino = strtoull(end + 1, &end, 10);
	if (*end != '\0' || fstat(fd, &st) == -1)
		return (0);
	return ((unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino);
}

/*
 * libsystemd drops entries silently when no journal listens (ENOENT), so
 * an explicit "journal" without one would lose every record.
 */
static int
journal_listens(void)
{

	return (access("/run/systemd/journal/socket", W_OK) == 0);
}

struct sg_log *
sg_log_new_fd(enum sg_log_format format, int level, int fd)
{
	struct sg_log *log;

	if ((log = calloc(1, sizeof(*log))) == NULL)
		return (NULL);
	if ((log->line = malloc(LINE_CAP)) == NULL) {
		free(log);
		return (NULL);
	}
	if (format == SG_LOG_FORMAT_AUTO)
		format = fd_is_journal(fd) ? SG_LOG_FORMAT_JOURNAL :
		    SG_LOG_FORMAT_TEXT;
	else if (format == SG_LOG_FORMAT_JOURNAL && !journal_listens())
		format = SG_LOG_FORMAT_TEXT;
	log->format = format;
	log->level = level;
	log->fd = fd;
	return (log);
}

struct sg_log *
sg_log_new(enum sg_log_format format, int level)
{

	return (sg_log_new_fd(format, level, STDERR_FILENO));
}

enum sg_log_format
sg_log_get_format(const struct sg_log *log)
{

	return (log->format);
}

void
sg_log_set_level(struct sg_log *log, int level)
{

	log->level = level;
}

void
sg_log_set_tag(struct sg_log *log, const char *key, const char *val)
{

	log->tag_key = key;
	snprintf(log->tag_val, sizeof(log->tag_val), "%s", val);
}

void
sg_log_free(struct sg_log *log)
{

	if (log == NULL)
		return;
	free(log->line);
	free(log);
}

int
sg_log_enabled(const struct sg_log *log, int prio)
{

	return (log != NULL && prio <= log->level);
}

void
sg_log_begin(struct sg_log_rec *r, struct sg_log *log, int prio,
    const char *event)
{

	r->log = log;
	r->prio = prio & LOG_PRIMASK;
	r->skip = !sg_log_enabled(log, r->prio);
	r->nfields = 0;
	r->used = 0;
	r->truncated = 0;
	sg_log_str(r, "event", event);
	if (log != NULL && log->tag_key != NULL)
		sg_log_str(r, log->tag_key, log->tag_val);
}

void
sg_log_str(struct sg_log_rec *r, const char *key, const char *val)
{

	if (val == NULL)
		val = "-";
	add(r, key, val, strlen(val), 0);
}

void
sg_log_strn(struct sg_log_rec *r, const char *key, const char *val,
    size_t len)
{

	if (val == NULL)
		sg_log_str(r, key, NULL);
	else
		add(r, key, val, len, 0);
}

void
sg_log_u64(struct sg_log_rec *r, const char *key, uint64_t val)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%" PRIu64, val);

	add(r, key, b, (size_t)n, 1);
}

void
sg_log_ms(struct sg_log_rec *r, const char *key, uint64_t ms)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%" PRIu64 ".%03u", ms / 1000,
	    (unsigned)(ms % 1000));

	add(r, key, b, (size_t)n, 1);
}

/* 2026-11-25T11:30:00.123Z */
static void
timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* All of buf, retrying after signals; there is nowhere to report errors. */
static void
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* Split the rendered fields at their newlines for sd_journal_sendv(). */
static int
send_journal(const struct sg_log_rec *r, char *buf)
{
	struct iovec iov[JOURNAL_IOV];
	struct out o = { buf, LINE_CAP, 0 };
	char *p, *nl;
	int n = 0;

	render_journal(r, &o);
	if (o.len >= LINE_CAP)
		return (-1);
	for (p = buf; n < JOURNAL_IOV &&
	    (nl = memchr(p, '\n', o.len - (size_t)(p - buf))) != NULL;
	    p = nl + 1) {
		iov[n].iov_base = p;
		iov[n++].iov_len = (size_t)(nl - p);
	}
	return (sd_journal_sendv(iov, n) < 0 ? -1 : 0);
}

void
sg_log_end(struct sg_log_rec *r)
{
	struct sg_log *log = r->log;
	struct out o;
	char ts[TS_LEN];

	if (r->skip)
		return;
	if (log->format == SG_LOG_FORMAT_JOURNAL &&
	    send_journal(r, log->line) == 0)
		return;
	o.buf = log->line;
	o.cap = LINE_CAP;
	o.len = 0;
	timestamp(ts, sizeof(ts));
	if (log->format == SG_LOG_FORMAT_JSON)
		render_json(r, ts, &o);
	else
		render_text(r, ts, &o);
	put(&o, "\n", 1);
	if (o.len <= LINE_CAP)	/* always, by the size of LINE_CAP */
		write_all(log->fd, log->line, o.len);
}

void
sg_log_msg(struct sg_log *log, int prio, const char *event,
    const char *fmt, ...)
{
	struct sg_log_rec r;
	char msg[SG_LOG_VAL_MAX + 1];
	va_list ap;
	int n;

	if (!sg_log_enabled(log, prio & LOG_PRIMASK))
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sg_log_begin(&r, log, prio, event);
	if (n < 0)
		n = 0;
	/* Past SG_LOG_VAL_MAX, add() cuts it and marks the record. */
	sg_log_strn(&r, "msg", msg, (size_t)n < sizeof(msg) ? (size_t)n :
	    sizeof(msg));
	sg_log_end(&r);
}
