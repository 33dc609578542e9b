#ifndef SG_LOG_H
#define SG_LOG_H

/*
 * Logging: one record a line, key=value, built field by field so that every
 * value a peer controls is escaped and no peer can forge a line or a field.
 * The same record goes out as a key=value text line on stderr, a JSON
 * object line on stderr, or a journal entry with one field per key
 * (SESSION_ID, CLOSE_REASON, CLIENT, UPSTREAM, ...) and its priority.
 */

#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

#include "config.h"

/* Opaque types. */
struct sg_log;

#define SG_LOG_MAX_FIELDS	48
#define SG_LOG_BUF		8192

/*
 * One record being built, on the caller's stack.  Fields past the limits
 * are dropped and the record says so (truncated=yes); a record is never
 * split.  Treat the members as private.
 */
struct sg_log_rec {
	struct sg_log *log;
	int prio;
	size_t nfields;
	const char *keys[SG_LOG_MAX_FIELDS];	/* static strings */
	size_t vals[SG_LOG_MAX_FIELDS];		/* offsets into buf */
	size_t used;
	int truncated;
	char buf[SG_LOG_BUF];			/* NUL-terminated values */
};

/*
 * sg_log_new(format, level):
 * A logger writing records of priority level (LOG_ERR..LOG_DEBUG) or more
 * urgent.  SG_LOG_FORMAT_AUTO picks the journal when JOURNAL_STREAM names
 * our stderr, key=value text otherwise.  Returns NULL on allocation failure.
 */
struct sg_log *sg_log_new(enum sg_log_format format, int level);

/*
 * sg_log_set_level(log, level):
 * Change the threshold (on SIGHUP).
 */
void sg_log_set_level(struct sg_log *log, int level);

/*
 * sg_log_free(log):
 * Free log.  A NULL log is a no-op.
 */
void sg_log_free(struct sg_log *log);

/*
 * sg_log_enabled(log, prio):
 * Non-zero if a record of priority prio would be written: callers skip
 * building records nobody will see.
 */
int sg_log_enabled(const struct sg_log *log, int prio);

/*
 * sg_log_begin(r, log, prio, event):
 * Start record r with level=<prio> and event=<event>.
 */
void sg_log_begin(struct sg_log_rec *r, struct sg_log *log, int prio,
    const char *event);

/*
 * sg_log_str(r, key, val), sg_log_strn(r, key, val, len):
 * Add a text field; val may hold any bytes (a NULL val is "-").  key must
 * be a static string of [a-z0-9_].
 */
void sg_log_str(struct sg_log_rec *r, const char *key, const char *val);
void sg_log_strn(struct sg_log_rec *r, const char *key, const char *val,
    size_t len);

/*
 * sg_log_u64(r, key, val):
 * Add an unsigned number.
 */
void sg_log_u64(struct sg_log_rec *r, const char *key, uint64_t val);

/*
 * sg_log_ms(r, key, ms):
 * Add a duration given in milliseconds, written in seconds ("12.345").
 */
void sg_log_ms(struct sg_log_rec *r, const char *key, uint64_t ms);

/*
 * sg_log_end(r):
 * Write the record (if its priority passes the threshold) in one write.
 */
void sg_log_end(struct sg_log_rec *r);

/*
 * sg_log_msg(log, prio, event, fmt, ...):
 * A record with a free-text msg field, for errors and life-cycle events.
 */
void sg_log_msg(struct sg_log *log, int prio, const char *event,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * sg_log_format_text(r, out, outlen):
 * Render r as its key=value text line (no newline) into out; returns the
 * length it needs.  Exposed for tests and for the journal's MESSAGE=.
 */
size_t sg_log_format_text(const struct sg_log_rec *r, char *out,
    size_t outlen);

/*
 * sg_log_format_json(r, out, outlen):
 * Render r as one JSON object (no newline); returns the length it needs.
 */
size_t sg_log_format_json(const struct sg_log_rec *r, char *out,
    size_t outlen);

#endif /* !SG_LOG_H */
