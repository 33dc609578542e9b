#ifndef SG_LOGPRIV_H
#define SG_LOGPRIV_H

/*
 * What log.c renders, for log.c and its unit test only (check_log.c),
 * which holds every format to exact bytes: the daemon's modules write
 * records with log.h and never need these.
 */

#include <stddef.h>

#include "log.h"

/*
 * sg_log_get_format(log):
 * The format log writes: never SG_LOG_FORMAT_AUTO, which is resolved when
 * the logger is made.
 */
enum sg_log_format sg_log_get_format(const struct sg_log *log);

/*
 * sg_log_format_text(r, out, outlen):
 * Render r as its key=value text line, without ts= and without a newline,
 * into out (NUL-terminated, cut if outlen is short, like snprintf(3));
 * returns the length it needs.  The journal's MESSAGE= is this line.
 *
 * A value is written bare if it is non-empty and all printable ASCII other
 * than space, '"', '\\' and '='; otherwise in double quotes with \" \\
 * \n \r \t and \xNN for any other byte below 0x20 or from 0x7f up.  So the
 * line is ASCII and no value can end it or fake a key.
 */
size_t sg_log_format_text(const struct sg_log_rec *r, char *out,
    size_t outlen);

/*
 * sg_log_format_json(r, out, outlen):
 * Render r as one JSON object, without "ts" and without a newline, as
 * sg_log_format_text() does.  sg_log_u64 and sg_log_ms fields are JSON
 * numbers.  Strings keep valid UTF-8, except that control characters
 * (C0, DEL, C1), U+2028 and U+2029 become \uXXXX; a byte that is not part
 * of valid UTF-8 becomes \u00XX of its value (read as Latin-1), so the
 * output is always valid JSON and UTF-8 though such a byte cannot be told
 * from the character U+00XX.
 */
size_t sg_log_format_json(const struct sg_log_rec *r, char *out,
    size_t outlen);

/*
 * sg_log_journal_fields(r, out, outlen):
 * Render the journal entry of r, one FIELD=value a line, each ending in
 * '\n', as sg_log_format_text() does: PRIORITY=, SYSLOG_IDENTIFIER=
 * stanzaguard, MESSAGE= (the text line), then one field per key, named
 * session: SESSION_ID, close: CLOSE_REASON, others uppercased (a name the
 * journal reserves, such as PRIORITY, gets an SG_ prefix), and
 * LOG_TRUNCATED=yes if the record was cut.  Values keep printable ASCII
 * and the space as they are and write \\ for a backslash, \n, \r, \t and
 * \xNN for other bytes, so that "journalctl CLOSE_REASON=server-vanished"
 * matches.  These lines, without their '\n', are what sg_log_end() gives
 * sd_journal_sendv(3).
 */
size_t sg_log_journal_fields(const struct sg_log_rec *r, char *out,
    size_t outlen);

#endif /* !SG_LOGPRIV_H */
