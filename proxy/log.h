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

/* Opaque types. */
struct sg_log;

/* Where records go (the configuration's log-format). */
enum sg_log_format {
	SG_LOG_FORMAT_AUTO,	/* journal if JOURNAL_STREAM names stderr */
	SG_LOG_FORMAT_TEXT,	/* key=value lines on stderr */
	SG_LOG_FORMAT_JSON,	/* one JSON object a line on stderr */
	SG_LOG_FORMAT_JOURNAL	/* sd_journal_send with fields */
};

#define SG_LOG_MAX_FIELDS	48
#define SG_LOG_BUF		8192
#define SG_LOG_KEY_MAX		32	/* longer keys are dropped */
#define SG_LOG_VAL_MAX		2048	/* longer values are cut */
#define SG_LOG_TAG_MAX		16	/* sg_log_set_tag values, with NUL */

/*
 * One record being built, on the caller's stack.  Fields past the limits
 * are dropped, values longer than SG_LOG_VAL_MAX or than what is left of
 * buf are cut, and the record says so (log_truncated=yes); a record is
 * never split.  Treat the members as private.
 */
struct sg_log_rec {
	struct sg_log *log;
	int prio;
	int skip;				/* below the threshold */
	size_t nfields;
	const char *keys[SG_LOG_MAX_FIELDS];	/* static strings */
	size_t vals[SG_LOG_MAX_FIELDS];		/* offsets into buf */
	unsigned char isnum[SG_LOG_MAX_FIELDS];	/* a JSON number */
	size_t used;
	int truncated;
	char buf[SG_LOG_BUF];	/* values back to back, each + NUL */
};

/*
 * sg_log_new(format, level):
 * A logger writing records of priority level (LOG_ERR..LOG_DEBUG) or more
 * urgent.  SG_LOG_FORMAT_AUTO picks the journal when JOURNAL_STREAM names
 * our stderr, key=value text otherwise.  SG_LOG_FORMAT_JOURNAL falls back
 * to text when no journal listens (no /run/systemd/journal/socket), where
 * libsystemd would drop every entry without a word.  Returns NULL on
 * allocation failure.
 */
struct sg_log *sg_log_new(enum sg_log_format format, int level);

/*
 * sg_log_new_fd(format, level, fd):
 * As sg_log_new(), writing text and JSON lines to fd instead of 2, and
 * for SG_LOG_FORMAT_AUTO comparing JOURNAL_STREAM with fd.  fd stays the
 * caller's.  For tests.
 */
struct sg_log *sg_log_new_fd(enum sg_log_format format, int level, int fd);

/*
 * sg_log_set_level(log, level):
 * Change the threshold (on SIGHUP).
 */
void sg_log_set_level(struct sg_log *log, int level);

/*
 * sg_log_set_tag(log, key, val):
 * Give every record from now on the field key=val right after its event
 * (worker=2 in a worker process).  key follows the rules of sg_log_str's
 * keys; val is copied, cut to SG_LOG_TAG_MAX - 1 bytes.
 */
void sg_log_set_tag(struct sg_log *log, const char *key, const char *val);

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
 * Add a text field; val may hold any bytes, NULs included with strn (a
 * NULL val is "-").  key must be a static string of [a-z0-9_], starting
 * with a letter, at most SG_LOG_KEY_MAX bytes; another key is dropped and
 * marks the record truncated.
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
 * Write the record (if its priority passes the threshold) in one write(2)
 * of one line, so that lines never interleave.  Text and JSON lines start
 * with the time, ts=2026-11-25T11:30:00.123Z (UTC); the journal stamps its
 * own.  If the journal refuses the entry, the text line goes to stderr.
 */
void sg_log_end(struct sg_log_rec *r);

/*
 * sg_log_msg(log, prio, event, fmt, ...):
 * A record with a free-text msg field, for errors and life-cycle events.
 */
void sg_log_msg(struct sg_log *log, int prio, const char *event,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif /* !SG_LOG_H */
