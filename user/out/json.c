/* JSON string escaping. */
#include <string.h>
#include "out/json.h"
#include "out/utf8.h"

void json_string(struct strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	sb_putc(sb, '"');
	while (*p) {
		int n = utf8_seq_len(p);

		if (n == 0) {
			sb_printf(sb, "\\u%04x", *p++);
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
