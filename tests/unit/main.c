/* Runs every registered unit test; one PASS/FAIL line each. */
#include "unit.h"

static struct unit_test *head, **tail = &head;

void unit_register(struct unit_test *t)
{
	*tail = t;
	tail = &t->next;
}

int main(void)
{
	int failed = 0;

	for (struct unit_test *t = head; t; t = t->next) {
		char why[512] = "";

		t->fn(why, sizeof(why));
		if (strncmp(why, "SKIP ", 5) == 0) {
			printf("SKIP %s: %s\n", t->name, why + 5);
		} else if (why[0]) {
			printf("FAIL %s: %s\n", t->name, why);
			failed++;
		} else {
			printf("PASS %s\n", t->name);
		}
	}
	return failed ? 1 : 0;
}
