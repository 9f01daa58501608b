/*
 * A tiny unit-test harness: TEST(name) defines and registers a test;
 * CHECK(cond) and CHECK_STR(a, b) record a failure and return; SKIP(reason)
 * says why the test cannot run here and returns.
 * The runner prints "PASS name" or "FAIL name: reason" per test.
 */
#ifndef FT_UNIT_H
#define FT_UNIT_H

#include <stdio.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*fn)(char *why, size_t len);
	struct unit_test *next;
};

void unit_register(struct unit_test *t);

#define TEST(name)                                                     \
	static void name(char *why, size_t why_len);                   \
	static struct unit_test name##_reg = { #name, name, NULL };    \
	__attribute__((constructor)) static void name##_register(void) \
	{                                                              \
		unit_register(&name##_reg);                            \
	}                                                              \
	static void name(char *why, size_t why_len)

#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond)) {                                                          \
			snprintf(why, why_len, "%s:%d: %s", __FILE__, __LINE__, #cond); \
			return;                                                         \
		}                                                                       \
	} while (0)

#define SKIP(reason)                                       \
	do {                                               \
		snprintf(why, why_len, "SKIP %s", reason); \
		return;                                    \
	} while (0)

#define CHECK_STR(got, want)                                                               \
	do {                                                                               \
		const char *g_ = (got), *w_ = (want);                                      \
		if (strcmp(g_, w_) != 0) {                                                 \
			snprintf(why, why_len, "%s:%d: got \"%s\", want \"%s\"", __FILE__, \
				 __LINE__, g_, w_);                                        \
			return;                                                            \
		}                                                                          \
	} while (0)

#endif /* FT_UNIT_H */
