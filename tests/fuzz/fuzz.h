/*
 * Shared by the libFuzzer targets (clang -fsanitize=fuzzer): each target
 * feeds its input to parsers of untrusted text or memory and checks the
 * properties they promise; a crash, a sanitizer report or a broken property
 * aborts the run.
 */
#ifndef FT_FUZZ_H
#define FT_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                    \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, \
				#cond);                                                     \
			abort();                                                            \
		}                                                                           \
	} while (0)

/* The input as a NUL-terminated string (cut at its first NUL); free() it. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	return s;
}

#endif
