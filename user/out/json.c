/* JSON string escaping: valid UTF-8 as it is, each other byte as \udcXX. */
#include <string.h>
#include "out/json.h"
#include "out/utf8.h"

void json_string(struct strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	sb_putc(sb, '"');
	while (*p) {
		int n = utf8_seq_len(p);

		/* a byte that is not UTF-8 becomes a lone low surrogate U+DC80-U+DCFF,
		 * as Python's surrogateescape does: it cannot be confused with
		 * the character U+0080-U+00FF, and decodes back to the byte */
		if (n == 0) {
			sb_printf(sb, "\\udc%02x", *p++);
			continue;
		}
		if (n > 1) {
			for (int i = 0; i < n; i++)
				sb_putc(sb, (char)p[i]);
			p += n;
			continue;
		}
		switch (*p) {
		case '"': sb_puts(sb, "\\\""); break;
		case '\\': sb_puts(sb, "\\\\"); break;
		case '\n': sb_puts(sb, "\\n"); break;
		case '\r': sb_puts(sb, "\\r"); break;
		case '\t': sb_puts(sb, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				sb_printf(sb, "\\u%04x", *p);
			else
				sb_putc(sb, (char)*p);
		}
		p++;
	}
	sb_putc(sb, '"');
}
