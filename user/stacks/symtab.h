/*
 * A module's function symbols sorted by address, so that naming an address
 * is a binary search (libdwfl's own lookup is a linear scan: 150-250 us per
 * libc address). Pure: built from whatever the caller adds, tested alone.
 */
#ifndef FT_STACKS_SYMTAB_H
#define FT_STACKS_SYMTAB_H

#include <stddef.h>
#include <stdint.h>

struct symtab_entry {
	uint64_t addr, size; /* size 0: unknown, it ends where the next one starts */
	uint32_t name;	     /* offset in the table's names */
};

struct symtab {
	struct symtab_entry *v;
	int n, cap;
	char *names;
	size_t nlen, ncap;
};

/* Adds one symbol (name copied, cut at 1023 bytes). 0, or -1 out of memory. */
int symtab_add(struct symtab *t, uint64_t addr, uint64_t size, const char *name);
/* Sorts and drops duplicates (one name per address: the first sized one). */
void symtab_finish(struct symtab *t);
/* The symbol that covers addr, or NULL; *off is addr's offset in it. Only
 * after symtab_finish. */
const char *symtab_find(const struct symtab *t, uint64_t addr, uint64_t *off);
void symtab_free(struct symtab *t);

#endif
