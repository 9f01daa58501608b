/* Reading /proc/PID/maps (see maps.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "proc/maps.h"

/* A hex number of at most max digits ending at a character of `ends`;
 * advances *s past that character. */
static int parse_hex(const char **s, const char *ends, int max, uint64_t *v)
{
	const char *p = *s;
	uint64_t x = 0;
	int digits = 0;

	for (; *p && !strchr(ends, *p); p++, digits++) {
		int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			return -1;
		if (digits >= max)
			return -1;
		x = x << 4 | (uint64_t)d;
	}
	if (!digits || !*p)
		return -1;
	*v = x;
	*s = p + 1;
	return 0;
}

/* The inode: decimal, ending the line or followed by spaces (skipped). */
static int parse_inode(const char **s, uint64_t *v)
{
	const char *p = *s;
	uint64_t x = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	if (*p && *p != ' ' && *p != '\n')
		return -1;
	while (*p == ' ')
		p++;
	*v = x;
	*s = p;
	return 0;
}

/* "rwxp": four flags and a space. */
static int parse_perms(const char **s, struct proc_map *m)
{
	const char *p = *s;

	if (strnlen(p, 5) < 5 || p[4] != ' ' || !strchr("r-", p[0]) || !strchr("w-", p[1]) ||
	    !strchr("x-", p[2]) || !strchr("ps", p[3]))
		return -1;
	m->readable = p[0] == 'r';
	m->writable = p[1] == 'w';
	m->executable = p[2] == 'x';
	m->shared = p[3] == 's';
	*s = p + 5;
	return 0;
}

/* The rest of the line, kept as is (spaces and all) up to the newline. */
static void copy_path(const char *p, struct proc_map *m)
{
	size_t len = strcspn(p, "\n"), suffix = strlen(PROC_MAP_DELETED);

	m->deleted = len >= suffix && memcmp(p + len - suffix, PROC_MAP_DELETED, suffix) == 0;
	if (len >= sizeof(m->path))
		len = sizeof(m->path) - 1;
	memcpy(m->path, p, len);
	m->path[len] = 0;
}

int proc_maps_parse_line(const char *line, struct proc_map *m)
{
	const char *p = line;
	uint64_t major, minor;

	memset(m, 0, sizeof(*m));
	if (parse_hex(&p, "-", 16, &m->start) || parse_hex(&p, " ", 16, &m->end) ||
	    m->end <= m->start)
		return -1;
	if (parse_perms(&p, m) || parse_hex(&p, " ", 16, &m->offset))
		return -1;
	if (parse_hex(&p, ":", 8, &major) || parse_hex(&p, " ", 8, &minor) ||
	    parse_inode(&p, &m->inode))
		return -1;
	m->dev_major = (unsigned)major;
	m->dev_minor = (unsigned)minor;
	copy_path(p, m);
	/* map_files names are unpadded, unlike the maps line's "00400000" */
	snprintf(m->range, sizeof(m->range), "%" PRIx64 "-%" PRIx64, m->start, m->end);
	return 0;
}

int proc_maps_open(struct proc_maps *it, int pid)
{
	char path[64];

	memset(it, 0, sizeof(*it));
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	it->f = fopen(path, "re");
	return it->f ? 0 : -1;
}

int proc_maps_next(struct proc_maps *it, struct proc_map *m)
{
	errno = 0;
	while (getline(&it->line, &it->cap, it->f) > 0) {
		/* a line we cannot parse is skipped, never trusted */
		if (proc_maps_parse_line(it->line, m) == 0)
			return 1;
	}
	if (!ferror(it->f))
		return 0;
	if (!errno)
		errno = EIO;
	return -1;
}

void proc_maps_close(struct proc_maps *it)
{
	if (it->f)
		fclose(it->f);
	free(it->line);
	memset(it, 0, sizeof(*it));
}

bool proc_maps_any(int pid)
{
	struct proc_maps it;
	struct proc_map *m = malloc(sizeof(*m));
	bool any;

	if (!m)
		return true; /* cannot tell: not gone */
	any = proc_maps_open(&it, pid) == 0 && proc_maps_next(&it, m) > 0;
	proc_maps_close(&it);
	free(m);
	return any;
}
