/*
 * Escaping of untrusted names, one property each: the JSON string decodes
 * back to the very bytes (invalid UTF-8 as \udcXX), the line-protocol
 * parts decode back from the wire text, and neither output holds a control
 * byte or invalid UTF-8.
 */
#include <stdbool.h>
#include "fuzz.h"
#include "out/json.h"
#include "out/lineproto.h"
#include "out/utf8.h"

static bool clean_utf8(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		int k = utf8_seq_len(p + i);

		if (k == 0 || (k == 1 && (p[i] < 0x20 || p[i] == 0x7f)))
			return false;
		i += k;
	}
	return true;
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put_utf8(char **o, unsigned cp)
{
	char *q = *o;

	if (cp < 0x80) {
		*q++ = (char)cp;
	} else if (cp < 0x800) {
		*q++ = (char)(0xc0 | cp >> 6);
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*q++ = (char)(0xe0 | cp >> 12);
		*q++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	}
	*o = q;
}

/* A JSON string (with its quotes) back to bytes; \udcXX is the byte XX. */
static char *json_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;

	FUZZ_CHECK(out && n >= 2 && s[0] == '"' && s[n - 1] == '"');
	for (size_t i = 1; i < n - 1; i++) {
		unsigned cp = 0;

		FUZZ_CHECK(s[i] != '"');
		if (s[i] != '\\') {
			*o++ = s[i];
			continue;
		}
		switch (s[++i]) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			FUZZ_CHECK(i + 4 < n - 1);
			for (int k = 1; k <= 4; k++) {
				FUZZ_CHECK(hex(s[i + k]) >= 0);
				cp = cp << 4 | (unsigned)hex(s[i + k]);
			}
			i += 4;
			if (cp >= 0xdc80 && cp <= 0xdcff)
				*o++ = (char)(cp & 0xff);
			else
				put_utf8(&o, cp);
			break;
		default: FUZZ_CHECK(!"an unknown JSON escape");
		}
	}
	*o = 0;
	return out;
}

/* Line-protocol wire text back to bytes: \xNN, \n \r \t, and a backslash before any other byte. */
static char *lp_decode(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	FUZZ_CHECK(out);
	for (const char *p = s; *p; p++) {
		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		p++;
		FUZZ_CHECK(*p);
		if (*p == 'x' && hex(p[1]) >= 0 && hex(p[2]) >= 0) {
			*o++ = (char)(hex(p[1]) << 4 | hex(p[2]));
			p += 2;
		} else {
			*o++ = *p == 'n' ? '\n' : *p == 'r' ? '\r' : *p == 't' ? '\t' : *p;
		}
	}
	*o = 0;
	return out;
}

/* No unescaped byte from stop in the wire text. */
static bool escaped_all(const char *s, const char *stop)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\\') {
			p++;
			continue;
		}
		if (strchr(stop, *p))
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), *back;
	size_t n = strlen(s), cap = 4 * n + 16;
	char *buf = malloc(cap);
	struct strbuf sb;

	FUZZ_CHECK(buf);
	sb_init(&sb);
	json_string(&sb, s);
	FUZZ_CHECK(!sb.oom);
	FUZZ_CHECK(clean_utf8(sb.s, sb.len));
	back = json_decode(sb.s, sb.len);
	FUZZ_CHECK(strcmp(back, s) == 0);
	free(back);
	sb_free(&sb);

	FUZZ_CHECK(lineproto_escape_string(s, buf, cap) >= 0);
	FUZZ_CHECK(clean_utf8(buf, strlen(buf)) && escaped_all(buf, "\""));
	back = lp_decode(buf);
	FUZZ_CHECK(strcmp(back, s) == 0);
	free(back);
	FUZZ_CHECK(lineproto_escape_key(s, buf, cap) >= 0);
	FUZZ_CHECK(clean_utf8(buf, strlen(buf)) && escaped_all(buf, ",= "));
	back = lp_decode(buf);
	FUZZ_CHECK(strcmp(back, s) == 0);
	free(back);
	FUZZ_CHECK(lineproto_escape_measurement(s, buf, cap) >= 0);
	FUZZ_CHECK(clean_utf8(buf, strlen(buf)) && escaped_all(buf, ", "));
	/* a buffer too small says so, and is still a string */
	if (n > 2)
		FUZZ_CHECK(lineproto_escape_string(s, buf, 2) == -1 && strlen(buf) < 2);
	free(buf);
	free(s);
	return 0;
}
