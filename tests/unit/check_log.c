/*
 * Log: exact renderings of the text line, JSON object and journal fields;
 * escaping checked by parsing random and hostile values back with a parser
 * written here, independently of log.c; truncation at every limit; the
 * writer (ts, one line a record, threshold) and the choice of format.
 */
#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "log.h"
#include "logpriv.h"
#include "suites.h"

#define OUT	(16 * SG_LOG_BUF)

static struct sg_log *
test_log(enum sg_log_format format)
{
	struct sg_log *log;

	ck_assert_ptr_nonnull(log = sg_log_new_fd(format, LOG_DEBUG, 2));
	return (log);
}

START_TEST(test_text_line)
{
	struct sg_log *log = test_log(SG_LOG_FORMAT_TEXT);
	struct sg_log_rec r;
	char out[512];

	sg_log_begin(&r, log, LOG_INFO, "session-end");
	sg_log_u64(&r, "session", 7);
	sg_log_str(&r, "client", "127.0.0.1:40000");
	sg_log_str(&r, "close", "server-vanished");
	sg_log_ms(&r, "duration", 12345);
	sg_log_str(&r, "c_error", NULL);
	ck_assert_uint_eq(sg_log_format_text(&r, out, sizeof(out)), 109);
	ck_assert_str_eq(out, "level=info event=session-end session=7 "
	    "client=127.0.0.1:40000 close=server-vanished duration=12.345 "
	    "c_error=-");
	/* Cut like snprintf, returning what it needs. */
	ck_assert_uint_eq(sg_log_format_text(&r, out, 11), 109);
	ck_assert_str_eq(out, "level=info");
	sg_log_free(log);
}
END_TEST

/* A worker's logger puts worker=K right after the event of every record. */
START_TEST(test_tag_on_every_record)
{
	struct sg_log *log = test_log(SG_LOG_FORMAT_TEXT);
	struct sg_log_rec r;
	char out[256];

	sg_log_set_tag(log, "worker", "2");
	sg_log_begin(&r, log, LOG_INFO, "session-start");
	sg_log_u64(&r, "session", 7);
	sg_log_format_text(&r, out, sizeof(out));
	ck_assert_str_eq(out, "level=info event=session-start worker=2 "
	    "session=7");
	sg_log_free(log);
}
END_TEST

START_TEST(test_levels_and_durations)
{
	static const struct { int prio; const char *name; } lv[] = {
		{ LOG_ERR, "error" }, { LOG_WARNING, "warning" },
		{ LOG_NOTICE, "notice" }, { LOG_INFO, "info" },
		{ LOG_DEBUG, "debug" }, { LOG_CRIT, "crit" }
	};
	struct sg_log *log = test_log(SG_LOG_FORMAT_TEXT);
	struct sg_log_rec r;
	char out[128], want[128];
	size_t i;

	for (i = 0; i < sizeof(lv) / sizeof(lv[0]); i++) {
		sg_log_begin(&r, log, lv[i].prio, "x");
		sg_log_format_text(&r, out, sizeof(out));
		snprintf(want, sizeof(want), "level=%s event=x", lv[i].name);
		ck_assert_str_eq(out, want);
	}
	sg_log_begin(&r, log, LOG_INFO, "x");
	sg_log_ms(&r, "a", 0);
	sg_log_ms(&r, "b", 999);
	sg_log_ms(&r, "c", 1000);
	sg_log_u64(&r, "d", UINT64_MAX);
	sg_log_format_text(&r, out, sizeof(out));
	ck_assert_str_eq(out, "level=info event=x a=0.000 b=0.999 c=1.000 "
	    "d=18446744073709551615");
	sg_log_free(log);
}
END_TEST

/* One value and how each format writes it. */
static const struct esc {
	const char *val;
	size_t len;
	const char *text;
	const char *json;
	const char *journal;
} escs[] = {
	{ "plain", 5, "plain", "\"plain\"", "plain" },
	{ "", 0, "\"\"", "\"\"", "" },
	{ "a b", 3, "\"a b\"", "\"a b\"", "a b" },
	{ "a=b", 3, "\"a=b\"", "\"a=b\"", "a=b" },
	{ "say \"hi\"", 8, "\"say \\\"hi\\\"\"", "\"say \\\"hi\\\"\"",
	  "say \"hi\"" },
	{ "back\\slash", 10, "\"back\\\\slash\"", "\"back\\\\slash\"",
	  "back\\\\slash" },
	{ "a\nb", 3, "\"a\\nb\"", "\"a\\nb\"", "a\\nb" },
	{ "\r\t", 2, "\"\\r\\t\"", "\"\\r\\t\"", "\\r\\t" },
	{ "a\0b", 3, "\"a\\x00b\"", "\"a\\u0000b\"", "a\\x00b" },
	{ "\x1b[31m", 5, "\"\\x1b[31m\"", "\"\\u001b[31m\"", "\\x1b[31m" },
	{ "\x7f", 1, "\"\\x7f\"", "\"\\u007f\"", "\\x7f" },
	{ "\xff\xfe", 2, "\"\\xff\\xfe\"", "\"\\u00ff\\u00fe\"",
	  "\\xff\\xfe" },
	/* é: valid UTF-8 stays in JSON, not in text. */
	{ "caf\xc3\xa9", 5, "\"caf\\xc3\\xa9\"", "\"caf\xc3\xa9\"",
	  "caf\\xc3\\xa9" },
	/* U+1F600, 4 bytes */
	{ "\xf0\x9f\x98\x80", 4, "\"\\xf0\\x9f\\x98\\x80\"",
	  "\"\xf0\x9f\x98\x80\"", "\\xf0\\x9f\\x98\\x80" },
	/* C1 control U+0085 (NEL), and U+2028 */
	{ "\xc2\x85", 2, "\"\\xc2\\x85\"", "\"\\u0085\"", "\\xc2\\x85" },
	{ "\xe2\x80\xa8", 3, "\"\\xe2\\x80\\xa8\"", "\"\\u2028\"",
	  "\\xe2\\x80\\xa8" },
	/* overlong '/', a surrogate, a cut sequence: bytes, not UTF-8 */
	{ "\xc0\xaf", 2, "\"\\xc0\\xaf\"", "\"\\u00c0\\u00af\"",
	  "\\xc0\\xaf" },
	{ "\xed\xa0\x80", 3, "\"\\xed\\xa0\\x80\"",
	  "\"\\u00ed\\u00a0\\u0080\"", "\\xed\\xa0\\x80" },
	{ "\xe2\x82", 2, "\"\\xe2\\x82\"", "\"\\u00e2\\u0082\"",
	  "\\xe2\\x82" },
	/* a peer trying to end the line and forge a record */
	{ "x\nts=0 level=error event=fake", 29,
	  "\"x\\nts=0 level=error event=fake\"",
	  "\"x\\nts=0 level=error event=fake\"",
	  "x\\nts=0 level=error event=fake" },
	{ "x\" close=forged", 15, "\"x\\\" close=forged\"",
	  "\"x\\\" close=forged\"", "x\" close=forged" },
};

START_TEST(test_escapes)
{
	const struct esc *e = &escs[_i];
	struct sg_log *log = test_log(SG_LOG_FORMAT_TEXT);
	struct sg_log_rec r;
	char out[512], want[512];

	sg_log_begin(&r, log, LOG_INFO, "x");
	sg_log_strn(&r, "v", e->val, e->len);
	sg_log_format_text(&r, out, sizeof(out));
	snprintf(want, sizeof(want), "level=info event=x v=%s", e->text);
	ck_assert_str_eq(out, want);
	sg_log_format_json(&r, out, sizeof(out));
	snprintf(want, sizeof(want), "{\"level\":\"info\",\"event\":\"x\","
	    "\"v\":%s}", e->json);
	ck_assert_str_eq(out, want);
	sg_log_journal_fields(&r, out, sizeof(out));
	ck_assert_msg(strstr(out, "\nV=") != NULL, "%s", out);
	*strchr(strstr(out, "\nV=") + 1, '\n') = '\0';
	ck_assert_str_eq(strstr(out, "\nV=") + 3, e->journal);
	sg_log_free(log);
}
END_TEST

struct kv {
	char key[SG_LOG_KEY_MAX + 1];
	unsigned char val[SG_LOG_BUF];
	size_t len;
};

static int
hexval(char c)
{

	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

/* One quoted text value at *sp, unescaped into kv; -1 if malformed. */
static int
text_quoted(const char **sp, struct kv *kv)
{
	const char *s = *sp + 1;
	int hi, lo;

	for (kv->len = 0; *s != '"'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return (-1);
		if (*s != '\\') {
			kv->val[kv->len++] = (unsigned char)*s;
			continue;
		}
		s++;
		if (*s == '"' || *s == '\\')
			kv->val[kv->len++] = (unsigned char)*s;
		else if (*s == 'n' || *s == 'r' || *s == 't')
			kv->val[kv->len++] = *s == 'n' ? '\n' : *s == 'r' ?
			    '\r' : '\t';
		else if (*s == 'x' && (hi = hexval(s[1])) >= 0 &&
		    (lo = hexval(s[2])) >= 0) {
			kv->val[kv->len++] = (unsigned char)(hi * 16 + lo);
			s += 2;
		} else
			return (-1);
	}
	*sp = s + 1;
	return (0);
}

/*
 * Parse a text line back into its fields, as a log reader would; returns
 * how many, or -1 if the line is not key=value pairs.
 */
static int
text_parse(const char *s, struct kv *kv, size_t max)
{
	size_t n = 0, k;

	while (*s != '\0') {
		if (n == max)
			return (-1);
		k = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_");
		if (k == 0 || k > SG_LOG_KEY_MAX || s[k] != '=')
			return (-1);
		memcpy(kv[n].key, s, k);
		kv[n].key[k] = '\0';
		s += k + 1;
		if (*s == '"') {
			if (text_quoted(&s, &kv[n]) == -1)
				return (-1);
		} else {
			for (kv[n].len = 0; *s > ' ' && *s < 0x7f && *s != '"'
			    && *s != '\\' && *s != '='; s++)
				kv[n].val[kv[n].len++] = (unsigned char)*s;
			if (kv[n].len == 0)
				return (-1);
		}
		n++;
		if (*s == ' ')
			s++;
		else if (*s != '\0')
			return (-1);
	}
	return ((int)n);
}

static uint32_t
next_rand(uint32_t *x)
{

	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return (*x);
}

/* Random bytes biased towards the dangerous ones. */
static size_t
random_value(uint32_t *x, unsigned char *buf, size_t max)
{
	static const char nasty[] = " \"\\=\n\r\t\x7f\x80\xff\xc3\xe2\0";
	size_t n = next_rand(x) % max, i;

	for (i = 0; i < n; i++)
		buf[i] = next_rand(x) % 3 == 0 ?
		    (unsigned char)nasty[next_rand(x) % (sizeof(nasty) - 1)] :
		    (unsigned char)next_rand(x);
	return (n);
}

START_TEST(test_text_round_trip)
{
	struct sg_log *log = test_log(SG_LOG_FORMAT_TEXT);
	struct sg_log_rec r;
	struct kv *kv = calloc(4, sizeof(*kv));
	unsigned char val[200];
	char *out = malloc(OUT);
	size_t len, i, j;
	uint32_t x = 2463534242u;

	ck_assert_ptr_nonnull(kv);
	for (i = 0; i < 5000; i++) {
		len = random_value(&x, val, sizeof(val));
		sg_log_begin(&r, log, LOG_INFO, "x");
		sg_log_strn(&r, "v", (const char *)val, len);
		sg_log_str(&r, "after", "end");
		sg_log_format_text(&r, out, OUT);
		for (j = 0; out[j] != '\0'; j++)
			ck_assert_msg(out[j] >= ' ' && out[j] < 0x7f,
			    "raw byte 0x%02x in %s", (unsigned char)out[j], out);
		ck_assert_int_eq(text_parse(out, kv, 4), 4);
		ck_assert_str_eq(kv[0].key, "level");
		ck_assert_str_eq(kv[2].key, "v");
		ck_assert_uint_eq(kv[2].len, len);
		ck_assert(memcmp(kv[2].val, val, len) == 0);
		ck_assert_str_eq(kv[3].key, "after");
	}
	free(out);
	free(kv);
	sg_log_free(log);
}
END_TEST

/* Length of a valid UTF-8 sequence at s, or 0: a checker of our own. */
static size_t
utf8_ok(const unsigned char *s)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80)
		return (1);
	n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	if (n == 0 || s[0] > 0xf4)
		return (0);
	cp = s[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return (0);
	return (n);
}

/* A JSON string at *sp: valid escapes, no raw control, valid UTF-8. */
static int
json_string(const unsigned char **sp, char *key, size_t keylen)
{
	const unsigned char *s = *sp;
	size_t n = 0, u;

	if (*s++ != '"')
		return (-1);
	while (*s != '"') {
		if (*s < 0x20 || *s == 0x7f)
			return (-1);
		if (*s == '\\') {
			s++;
			if (*s == 'u' && hexval((char)s[1]) >= 0 &&
			    hexval((char)s[2]) >= 0 && hexval((char)s[3]) >= 0
			    && hexval((char)s[4]) >= 0)
				s += 5;
			else if (*s != '\0' && strchr("\"\\/bfnrt", *s) != NULL)
				s++;
			else
				return (-1);
			continue;
		}
		if ((u = utf8_ok(s)) == 0)
			return (-1);
		if (key != NULL && n + u < keylen) {
			memcpy(key + n, s, u);
			n += u;
		}
		s += u;
	}
	if (key != NULL)
		key[n] = '\0';
	*sp = s + 1;
	return (0);
}

/* Check s is one JSON object of string or number members; count them. */
static int
json_parse(const char *str, char keys[][SG_LOG_KEY_MAX + 1], size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = 0;

	if (*s++ != '{')
		return (-1);
	while (*s != '}') {
		if (n == max || (n > 0 && *s++ != ','))
			return (-1);
		if (json_string(&s, keys[n++], SG_LOG_KEY_MAX + 1) == -1 ||
		    *s++ != ':')
			return (-1);
		if (*s == '"') {
			if (json_string(&s, NULL, 0) == -1)
				return (-1);
		} else {
			if (*s < '0' || *s > '9')
				return (-1);
			s += strspn((const char *)s, "0123456789");
			if (*s == '.')
				s += 1 + strspn((const char *)s + 1,
				    "0123456789");
		}
	}
	return (s[1] == '\0' ? (int)n : -1);
}

START_TEST(test_json_always_valid)
{
	struct sg_log *log = test_log(SG_LOG_FORMAT_JSON);
	struct sg_log_rec r;
	char keys[8][SG_LOG_KEY_MAX + 1], *out = malloc(OUT);
	unsigned char val[200];
	size_t len, i;
	uint32_t x = 88172645u;

	for (i = 0; i < 5000; i++) {
		len = random_value(&x, val, sizeof(val));
		sg_log_begin(&r, log, LOG_INFO, "x");
		sg_log_strn(&r, "v", (const char *)val, len);
		sg_log_u64(&r, "n", i);
		sg_log_ms(&r, "ms", i);
		sg_log_format_json(&r, out, OUT);
		ck_assert_msg(json_parse(out, keys, 8) == 5, "bad: %s", out);
		ck_assert_str_eq(keys[0], "level");
		ck_assert_str_eq(keys[2], "v");
		ck_assert_str_eq(keys[4], "ms");
	}
	free(out);
	sg_log_free(log);
}
END_TEST

START_TEST(test_json_object)
{
	struct sg_log *log = test_log(SG_LOG_FORMAT_JSON);
	struct sg_log_rec r;
	char out[512];

	sg_log_begin(&r, log, LOG_WARNING, "refused");
	sg_log_u64(&r, "session", 7);
	sg_log_str(&r, "client", "127.0.0.1:40000");
	sg_log_ms(&r, "duration", 1500);
	sg_log_format_json(&r, out, sizeof(out));
	ck_assert_str_eq(out, "{\"level\":\"warning\",\"event\":\"refused\","
	    "\"session\":7,\"client\":\"127.0.0.1:40000\",\"duration\":1.500}");
	sg_log_free(log);
}
END_TEST

START_TEST(test_journal_fields)
{
	struct sg_log *log = test_log(SG_LOG_FORMAT_JOURNAL);
	struct sg_log_rec r;
	char out[1024];

	sg_log_begin(&r, log, LOG_INFO, "session-end");
	sg_log_u64(&r, "session", 7);
	sg_log_str(&r, "client", "127.0.0.1:40000");
	sg_log_str(&r, "upstream", "[::1]:5322");
	sg_log_str(&r, "close", "server-vanished");
	sg_log_str(&r, "c_error", "bye\nnow");
	sg_log_str(&r, "priority", "high");
	sg_log_str(&r, "code_file", "x.c");
	sg_log_str(&r, "message", "hi");
	sg_log_journal_fields(&r, out, sizeof(out));
	ck_assert_str_eq(out,
	    "PRIORITY=6\n"
	    "SYSLOG_IDENTIFIER=stanzaguard\n"
	    "MESSAGE=level=info event=session-end session=7 "
	    "client=127.0.0.1:40000 upstream=[::1]:5322 close=server-vanished "
	    "c_error=\"bye\\nnow\" priority=high code_file=x.c message=hi\n"
	    "EVENT=session-end\n"
	    "SESSION_ID=7\n"
	    "CLIENT=127.0.0.1:40000\n"
	    "UPSTREAM=[::1]:5322\n"
	    "CLOSE_REASON=server-vanished\n"
	    "C_ERROR=bye\\nnow\n"
	    "SG_PRIORITY=high\n"
	    "SG_CODE_FILE=x.c\n"
	    "SG_MESSAGE=hi\n");
	sg_log_free(log);
}
END_TEST

START_TEST(test_too_many_fields)
{
	static const char *const keys[] = { "a", "b", "c", "d", "e" };
	struct sg_log *log = test_log(SG_LOG_FORMAT_TEXT);
	struct sg_log_rec r;
	struct kv *kv = calloc(SG_LOG_MAX_FIELDS + 2, sizeof(*kv));
	char *out = malloc(OUT), journal[4096];
	size_t i;

	sg_log_begin(&r, log, LOG_INFO, "x");
	for (i = 0; i < SG_LOG_MAX_FIELDS + 10; i++)
		sg_log_u64(&r, keys[i % 5], i);
	sg_log_format_text(&r, out, OUT);
	/* level, event, 47 more, then the mark */
	ck_assert_int_eq(text_parse(out, kv, SG_LOG_MAX_FIELDS + 2),
	    SG_LOG_MAX_FIELDS + 2);
	ck_assert_str_eq(kv[SG_LOG_MAX_FIELDS].key, "b");
	ck_assert_str_eq(kv[SG_LOG_MAX_FIELDS + 1].key, "log_truncated");
	ck_assert_uint_eq(kv[SG_LOG_MAX_FIELDS + 1].len, 3);
	sg_log_format_json(&r, out, OUT);
	ck_assert_msg(strstr(out, ",\"log_truncated\":true}") != NULL, "%s",
	    out);
	sg_log_journal_fields(&r, journal, sizeof(journal));
	ck_assert_msg(strstr(journal, "\nLOG_TRUNCATED=yes\n") != NULL, "%s",
	    journal);
	free(out);
	free(kv);
	sg_log_free(log);
}
END_TEST

START_TEST(test_bad_keys_dropped)
{
	struct sg_log *log = test_log(SG_LOG_FORMAT_TEXT);
	struct sg_log_rec r;
	char out[256];

	sg_log_begin(&r, log, LOG_INFO, "x");
	sg_log_str(&r, "Upper", "1");
	sg_log_str(&r, "da-sh", "1");
	sg_log_str(&r, "", "1");
	sg_log_str(&r, "_under", "1");
	sg_log_str(&r, "sp ace", "1");
	sg_log_str(&r, "k23456789012345678901234567890123", "1");
	sg_log_str(&r, "k2345678901234567890123456789012", "ok");
	sg_log_format_text(&r, out, sizeof(out));
	ck_assert_str_eq(out, "level=info event=x "
	    "k2345678901234567890123456789012=ok log_truncated=yes");
	sg_log_free(log);
}
END_TEST

START_TEST(test_long_values_cut)
{
	struct sg_log *log = test_log(SG_LOG_FORMAT_TEXT);
	struct sg_log_rec r;
	struct kv *kv = calloc(8, sizeof(*kv));
	char *big = malloc(3 * SG_LOG_BUF), *out = malloc(OUT);
	size_t i;

	memset(big, 'a', 3 * SG_LOG_BUF);
	sg_log_begin(&r, log, LOG_INFO, "x");
	sg_log_strn(&r, "one", big, 3 * SG_LOG_BUF);
	sg_log_str(&r, "after", "kept");
	sg_log_format_text(&r, out, OUT);
	ck_assert_int_eq(text_parse(out, kv, 8), 5);
	ck_assert_uint_eq(kv[2].len, SG_LOG_VAL_MAX);
	ck_assert_str_eq(kv[3].key, "after");
	ck_assert_str_eq(kv[4].key, "log_truncated");

	/* Values fill the record: the last is cut, the rest dropped. */
	sg_log_begin(&r, log, LOG_INFO, "x");
	for (i = 0; i < 6; i++)
		sg_log_strn(&r, "v", big, SG_LOG_VAL_MAX);
	sg_log_format_text(&r, out, OUT);
	ck_assert_int_eq(text_parse(out, kv, 8), 7);
	ck_assert_uint_eq(kv[2].len, SG_LOG_VAL_MAX);
	/* "x" and three values took 2 + 3 * 2049 bytes; one NUL left. */
	ck_assert_uint_eq(kv[5].len, SG_LOG_BUF - 2 - 3 * (SG_LOG_VAL_MAX +
	    1) - 1);
	ck_assert_str_eq(kv[6].key, "log_truncated");
	free(big);
	free(out);
	free(kv);
	sg_log_free(log);
}
END_TEST

/* The whole of an fd's file from the start, NUL-terminated. */
static char *
read_back(int fd, size_t *len)
{
	struct stat st;
	char *buf;

	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_ptr_nonnull(buf = malloc((size_t)st.st_size + 1));
	ck_assert_int_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	buf[st.st_size] = '\0';
	*len = (size_t)st.st_size;
	return (buf);
}

static int
temp_fd(void)
{
	char path[] = "/tmp/sg-check-log-XXXXXX";
	int fd;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	unlink(path);
	return (fd);
}

/* "2026-11-25T11:30:00.123Z" */
static int
is_ts(const char *s)
{
	const char *pat = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	for (i = 0; pat[i] != '\0'; i++)
		if (pat[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != pat[i])
			return (0);
	return (1);
}

START_TEST(test_writer_text)
{
	int fd = temp_fd();
	struct sg_log *log = sg_log_new_fd(SG_LOG_FORMAT_TEXT, LOG_INFO, fd);
	struct sg_log_rec r;
	char *buf, *nl;
	size_t len;

	ck_assert_int_eq(sg_log_get_format(log), SG_LOG_FORMAT_TEXT);
	sg_log_begin(&r, log, LOG_INFO, "one");
	sg_log_str(&r, "v", "a\nb");
	sg_log_end(&r);
	sg_log_begin(&r, log, LOG_DEBUG, "hidden");
	sg_log_str(&r, "v", "x");
	sg_log_end(&r);
	sg_log_msg(log, LOG_ERR, "two", "listener %s: %s", "c2s",
	    "\"in\" use");
	buf = read_back(fd, &len);
	ck_assert_msg(strncmp(buf, "ts=", 3) == 0 && is_ts(buf + 3), "%s",
	    buf);
	nl = strchr(buf, '\n');
	ck_assert_ptr_nonnull(nl);
	*nl = '\0';
	ck_assert_str_eq(buf + 27, " level=info event=one v=\"a\\nb\"");
	ck_assert_msg(strncmp(nl + 1, "ts=", 3) == 0 && is_ts(nl + 4), "%s",
	    nl + 1);
	ck_assert_str_eq(nl + 28, " level=error event=two msg=\"listener "
	    "c2s: \\\"in\\\" use\"\n");
	free(buf);
	sg_log_free(log);
	close(fd);
}
END_TEST

START_TEST(test_writer_json)
{
	int fd = temp_fd();
	struct sg_log *log = sg_log_new_fd(SG_LOG_FORMAT_JSON, LOG_INFO, fd);
	struct sg_log_rec r;
	char *buf;
	size_t len;

	sg_log_begin(&r, log, LOG_NOTICE, "reloaded");
	sg_log_u64(&r, "listeners", 2);
	sg_log_end(&r);
	buf = read_back(fd, &len);
	ck_assert_msg(strncmp(buf, "{\"ts\":\"", 7) == 0 && is_ts(buf + 7),
	    "%s", buf);
	ck_assert_str_eq(buf + 31, "\",\"level\":\"notice\",\"event\":"
	    "\"reloaded\",\"listeners\":2}\n");
	free(buf);
	sg_log_free(log);
	close(fd);
}
END_TEST

/* The largest record each format can make is written whole, one line. */
START_TEST(test_worst_case_written_whole)
{
	static const enum sg_log_format fmts[] = { SG_LOG_FORMAT_TEXT,
	    SG_LOG_FORMAT_JSON };
	static const char *const keys[] = { "k2345678901234567890123456789a",
	    "k2345678901234567890123456789b" };
	struct sg_log_rec r;
	struct sg_log *log;
	char *buf, *bad = malloc(SG_LOG_BUF), *out = malloc(OUT);
	size_t len, i, f, need;
	int fd;

	memset(bad, 0x01, SG_LOG_BUF);
	for (f = 0; f < 2; f++) {
		fd = temp_fd();
		log = sg_log_new_fd(fmts[f], LOG_INFO, fd);
		sg_log_begin(&r, log, LOG_INFO, "x");
		for (i = 0; i < SG_LOG_MAX_FIELDS; i++)
			sg_log_strn(&r, keys[i % 2], bad, SG_LOG_BUF);
		need = f == 0 ? sg_log_format_text(&r, out, OUT) :
		    sg_log_format_json(&r, out, OUT);
		ck_assert_uint_gt(need, 5 * SG_LOG_BUF / 2);
		sg_log_end(&r);
		buf = read_back(fd, &len);
		ck_assert_ptr_eq(strchr(buf, '\n'), buf + len - 1);
		/* out lacks ts: compare from the second byte on */
		ck_assert_msg(strstr(buf, out + 1) != NULL,
		    "format %zu: record not written whole", f);
		free(buf);
		sg_log_free(log);
		close(fd);
	}
	free(bad);
	free(out);
}
END_TEST

START_TEST(test_threshold)
{
	struct sg_log *log = sg_log_new_fd(SG_LOG_FORMAT_TEXT, LOG_NOTICE, 2);

	ck_assert(sg_log_enabled(log, LOG_ERR));
	ck_assert(sg_log_enabled(log, LOG_NOTICE));
	ck_assert(!sg_log_enabled(log, LOG_INFO));
	sg_log_set_level(log, LOG_DEBUG);
	ck_assert(sg_log_enabled(log, LOG_DEBUG));
	ck_assert(!sg_log_enabled(NULL, LOG_ERR));
	sg_log_free(log);
	sg_log_free(NULL);
}
END_TEST

START_TEST(test_msg_cut)
{
	int fd = temp_fd();
	struct sg_log *log = sg_log_new_fd(SG_LOG_FORMAT_TEXT, LOG_INFO, fd);
	struct kv *kv = calloc(4, sizeof(*kv));
	char *buf, *long_msg = malloc(3000);
	size_t len;

	memset(long_msg, 'm', 2999);
	long_msg[2999] = '\0';
	sg_log_msg(log, LOG_INFO, "long", "%s", long_msg);
	buf = read_back(fd, &len);
	ck_assert_uint_gt(len, 28);
	buf[len - 1] = '\0';
	ck_assert_int_eq(text_parse(buf + 28, kv, 4), 4);
	ck_assert_str_eq(kv[2].key, "msg");
	ck_assert_uint_eq(kv[2].len, SG_LOG_VAL_MAX);
	ck_assert_str_eq(kv[3].key, "log_truncated");
	free(buf);
	free(kv);
	free(long_msg);
	sg_log_free(log);
	close(fd);
}
END_TEST

/* JOURNAL_STREAM is "dev:ino" of the journal's socket, our stderr. */
START_TEST(test_auto_format)
{
	int fd = temp_fd();
	struct sg_log *log;
	struct stat st;
	char env[64], *saved = getenv("JOURNAL_STREAM");

	saved = saved != NULL ? strdup(saved) : NULL;
	ck_assert_int_eq(fstat(fd, &st), 0);
	unsetenv("JOURNAL_STREAM");
	log = sg_log_new_fd(SG_LOG_FORMAT_AUTO, LOG_INFO, fd);
	ck_assert_int_eq(sg_log_get_format(log), SG_LOG_FORMAT_TEXT);
	sg_log_free(log);

	snprintf(env, sizeof(env), "%llu:%llu",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	log = sg_log_new_fd(SG_LOG_FORMAT_AUTO, LOG_INFO, fd);
	ck_assert_int_eq(sg_log_get_format(log), SG_LOG_FORMAT_JOURNAL);
	sg_log_free(log);
	log = sg_log_new_fd(SG_LOG_FORMAT_JSON, LOG_INFO, fd);
	ck_assert_int_eq(sg_log_get_format(log), SG_LOG_FORMAT_JSON);
	sg_log_free(log);

	snprintf(env, sizeof(env), "%llu:%llu",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	log = sg_log_new_fd(SG_LOG_FORMAT_AUTO, LOG_INFO, fd);
	ck_assert_int_eq(sg_log_get_format(log), SG_LOG_FORMAT_TEXT);
	sg_log_free(log);

	setenv("JOURNAL_STREAM", "garbage", 1);
	log = sg_log_new_fd(SG_LOG_FORMAT_AUTO, LOG_INFO, fd);
	ck_assert_int_eq(sg_log_get_format(log), SG_LOG_FORMAT_TEXT);
	sg_log_free(log);

	if (saved != NULL)
		setenv("JOURNAL_STREAM", saved, 1);
	else
		unsetenv("JOURNAL_STREAM");
	free(saved);
	close(fd);
}
END_TEST

/*
 * Where no journal listens (libsystemd would drop entries silently), an
 * explicit journal format writes text lines.
 */
START_TEST(test_journal_fallback)
{
	int fd;
	struct sg_log *log;
	struct sg_log_rec r;
	char *buf;
	size_t len;

	if (access("/run/systemd/journal/socket", F_OK) == 0)
		return;	/* a real journal: nothing to see on fd */
	fd = temp_fd();
	log = sg_log_new_fd(SG_LOG_FORMAT_JOURNAL, LOG_INFO, fd);
	ck_assert_int_eq(sg_log_get_format(log), SG_LOG_FORMAT_TEXT);
	sg_log_begin(&r, log, LOG_INFO, "x");
	sg_log_end(&r);
	buf = read_back(fd, &len);
	ck_assert_msg(len > 27 && strcmp(buf + 27, " level=info event=x\n") ==
	    0, "%s", buf);
	free(buf);
	sg_log_free(log);
	close(fd);
}
END_TEST

Suite *
sg_suite_log(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_test(tc, test_text_line);
	tcase_add_test(tc, test_tag_on_every_record);
	tcase_add_test(tc, test_levels_and_durations);
	tcase_add_loop_test(tc, test_escapes, 0, sizeof(escs) /
	    sizeof(escs[0]));
	tcase_add_test(tc, test_text_round_trip);
	tcase_add_test(tc, test_json_object);
	tcase_add_test(tc, test_json_always_valid);
	tcase_add_test(tc, test_journal_fields);
	tcase_add_test(tc, test_too_many_fields);
	tcase_add_test(tc, test_bad_keys_dropped);
	tcase_add_test(tc, test_long_values_cut);
	tcase_add_test(tc, test_writer_text);
	tcase_add_test(tc, test_writer_json);
	tcase_add_test(tc, test_worst_case_written_whole);
	tcase_add_test(tc, test_threshold);
	tcase_add_test(tc, test_msg_cut);
	tcase_add_test(tc, test_auto_format);
	tcase_add_test(tc, test_journal_fallback);
	suite_add_tcase(s, tc);
	return (s);
}
