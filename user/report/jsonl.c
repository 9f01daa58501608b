/* A strict JSON checker for one line, and the escaping that embeds it in HTML. */
#include <string.h>
#include "out/utf8.h"
#include "report/jsonl.h"

struct cursor {
	const unsigned char *p, *end;
	size_t bad_utf8;
};

static bool value(struct cursor *c, int depth);

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static bool is_hex(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static bool string(struct cursor *c)
{
	c->p++; /* the opening quote */
	while (c->p < c->end) {
		unsigned char ch = *c->p;
		int n;

		if (ch == '"') {
			c->p++;
			return true;
		}
		if (ch < 0x20)
			return false;
		if (ch == '\\') {
			if (c->end - c->p < 2)
				return false;
			ch = c->p[1];
			if (ch == 'u') {
				if (c->end - c->p < 6)
					return false;
				for (int i = 2; i < 6; i++)
					if (!is_hex(c->p[i]))
						return false;
				c->p += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", ch) || !ch)
				return false;
			c->p += 2;
			continue;
		}
		if (ch < 0x80) {
			c->p++;
			continue;
		}
		n = utf8_seq_len(c->p);
		if (n == 0 || n > c->end - c->p) {
			c->bad_utf8++;
			n = 1;
		}
		c->p += n;
	}
	return false;
}

static bool digits(struct cursor *c)
{
	const unsigned char *start = c->p;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
		c->p++;
	return c->p > start;
}

static bool number(struct cursor *c)
{
	if (*c->p == '-')
		c->p++;
	if (c->p < c->end && *c->p == '0')
		c->p++;
	else if (!digits(c))
		return false;
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		if (!digits(c))
			return false;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (!digits(c))
			return false;
	}
	return true;
}

static bool literal(struct cursor *c, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n))
		return false;
	c->p += n;
	return true;
}

/* An object or an array: members separated by commas, between open and close. */
static bool container(struct cursor *c, int depth, bool object)
{
	char close = object ? '}' : ']';

	if (depth >= JSONL_MAX_DEPTH)
		return false;
	c->p++;
	skip_ws(c);
	if (c->p < c->end && *c->p == close) {
		c->p++;
		return true;
	}
	for (;;) {
		if (object) {
			if (c->p >= c->end || *c->p != '"' || !string(c))
				return false;
			skip_ws(c);
			if (c->p >= c->end || *c->p != ':')
				return false;
			c->p++;
		}
		if (!value(c, depth + 1))
			return false;
		if (c->p >= c->end)
			return false;
		if (*c->p == close) {
			c->p++;
			return true;
		}
		if (*c->p != ',')
			return false;
		c->p++;
		skip_ws(c);
	}
}

/* A value and the whitespace after it. */
static bool value(struct cursor *c, int depth)
{
	bool ok;

	skip_ws(c);
	if (c->p >= c->end)
		return false;
	switch (*c->p) {
	case '{': ok = container(c, depth, true); break;
	case '[': ok = container(c, depth, false); break;
	case '"': ok = string(c); break;
	case 't': ok = literal(c, "true"); break;
	case 'f': ok = literal(c, "false"); break;
	case 'n': ok = literal(c, "null"); break;
	default: ok = number(c); break;
	}
	skip_ws(c);
	return ok;
}

bool jsonl_is_object(const char *s, size_t len, size_t *bad_utf8)
{
	struct cursor c = { (const unsigned char *)s, (const unsigned char *)s + len, 0 };

	skip_ws(&c);
	if (c.p >= c.end || *c.p != '{' || !value(&c, 0) || c.p != c.end)
		return false;
	*bad_utf8 = c.bad_utf8;
	return true;
}

void jsonl_embed(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		int n;

		switch (*p) {
		case '<':
			fputs("\\u003c", f);
			p++;
			continue;
		case '>':
			fputs("\\u003e", f);
			p++;
			continue;
		case '&':
			fputs("\\u0026", f);
			p++;
			continue;
		}
		if (*p < 0x80) {
			fputc(*p++, f);
			continue;
		}
		n = utf8_seq_len(p);
		if (n == 0 || n > end - p) {
			fputs("\xef\xbf\xbd", f); /* U+FFFD */
			p++;
		} else if (n == 3 && p[0] == 0xe2 && p[1] == 0x80 &&
			   (p[2] == 0xa8 || p[2] == 0xa9)) {
			fputs(p[2] == 0xa8 ? "\\u2028" : "\\u2029", f);
			p += 3;
		} else {
			fwrite(p, 1, n, f);
			p += n;
		}
	}
}
