/* UTF-8 validation (see utf8.h). */
#include "out/utf8.h"

int utf8_seq_len(const unsigned char *p)
{
	int need;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 1;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		need = 2;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		need = 3;
	else
		return 0;
	for (int k = 1; k <= need; k++)
		if ((p[k] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
	/* overlong forms, UTF-16 surrogates, beyond U+10FFFF */
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
		return 0;
	return need + 1;
}
