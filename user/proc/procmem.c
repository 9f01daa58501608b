/* Reading another process's memory without changing it (see procmem.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "proc/maps.h"
#include "proc/procmem.h"

#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)
#define PM_FILE (1ULL << 61)	 /* page cache or shared anon, not a private copy */
#define PM_BATCH 8192		 /* pagemap entries per read: 32 MiB of address space */
#define PM_LOOKS (64 * PM_BATCH) /* untouched pages looked at per call: 2 GiB */

/* ---------------------------------------------------------------- maps */

/* procmem's compact view of a mapping. */
static void to_procmem_map(const struct proc_map *pm, struct procmem_map *m)
{
	size_t len;

	memset(m, 0, sizeof(*m));
	m->start = pm->start;
	m->end = pm->end;
	m->offset = pm->offset;
	m->readable = pm->readable;
	m->writable = pm->writable;
	m->shared = pm->shared;
	len = strnlen(pm->path, sizeof(m->path) - 1);
	memcpy(m->path, pm->path, len);
	m->path[len] = 0;
}

int procmem_parse_maps_line(const char *line, struct procmem_map *m)
{
	struct proc_map pm;

	if (proc_maps_parse_line(line, &pm))
		return -1;
	to_procmem_map(&pm, m);
	return 0;
}

static int maps_push(struct procmem_maps *maps, int *cap, const struct procmem_map *m)
{
	if (maps->n == *cap) {
		int ncap = *cap ? *cap * 2 : 256;
		struct procmem_map *nv = realloc(maps->v, (size_t)ncap * sizeof(*nv));

		if (!nv)
			return -1;
		maps->v = nv;
		*cap = ncap;
	}
	maps->v[maps->n++] = *m;
	return 0;
}

int procmem_maps_read(int pid, struct procmem_maps *maps, char *err, size_t errlen)
{
	struct proc_maps it;
	struct proc_map pm;
	struct procmem_map m;
	int cap = 0, ret = -1, saved, more;

	maps->v = NULL;
	maps->n = 0;
	if (proc_maps_open(&it, pid)) {
		saved = errno;
		snprintf(err, errlen, "cannot open /proc/%d/maps: %s", pid, strerror(saved));
		errno = saved;
		return -1;
	}
	while ((more = proc_maps_next(&it, &pm)) > 0) {
		to_procmem_map(&pm, &m);
		if (maps_push(maps, &cap, &m)) {
			snprintf(err, errlen, "cannot read /proc/%d/maps: out of memory", pid);
			errno = ENOMEM;
			goto cleanup;
		}
	}
	if (more < 0) {
		snprintf(err, errlen, "cannot read /proc/%d/maps: %s", pid, strerror(errno));
		goto cleanup;
	}
	ret = 0;
cleanup:
	saved = errno;
	proc_maps_close(&it);
	if (ret)
		procmem_maps_free(maps);
	errno = saved;
	return ret;
}

void procmem_maps_free(struct procmem_maps *maps)
{
	free(maps->v);
	maps->v = NULL;
	maps->n = 0;
}

const struct procmem_map *procmem_map_of(const struct procmem_maps *maps, uint64_t addr)
{
	int lo = 0, hi = maps ? maps->n - 1 : -1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		const struct procmem_map *m = &maps->v[mid];

		if (addr < m->start)
			hi = mid - 1;
		else if (addr >= m->end)
			lo = mid + 1;
		else
			return m;
	}
	return NULL;
}

bool procmem_maps_contains(const struct procmem_maps *maps, uint64_t addr)
{
	return procmem_map_of(maps, addr) != NULL;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool procmem_map_scannable(const struct procmem_map *m)
{
	if (!m->writable)
		return false;
	/* shared anonymous memory is shown as "/dev/zero (deleted)"; POSIX shm lives in /dev/shm */
	if (starts_with(m->path, "/dev/") && !starts_with(m->path, "/dev/zero") &&
	    !starts_with(m->path, "/dev/shm/"))
		return false;
	if (starts_with(m->path, "[vvar") || starts_with(m->path, "[vsyscall]"))
		return false;
	return true;
}

/* ---------------------------------------------------------------- the process */

static int open_or_say(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), saved;

	if (fd < 0) {
		saved = errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(saved));
		errno = saved;
	}
	return fd;
}

int procmem_open_mem(int pid, struct procmem *pm, char *err, size_t errlen)
{
	char path[64];

	pm->pid = pid;
	pm->pagemap_fd = -1;
	pm->page_size = sysconf(_SC_PAGESIZE);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	pm->mem_fd = open_or_say(path, err, errlen);
	return pm->mem_fd < 0 ? -1 : 0;
}

int procmem_open(int pid, struct procmem *pm, char *err, size_t errlen)
{
	char path[64];
	int saved;

	if (procmem_open_mem(pid, pm, err, errlen))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pm->pagemap_fd = open_or_say(path, err, errlen);
	if (pm->pagemap_fd < 0) {
		saved = errno;
		procmem_close(pm);
		errno = saved;
		return -1;
	}
	return 0;
}

void procmem_close(struct procmem *pm)
{
	if (pm->mem_fd >= 0)
		close(pm->mem_fd);
	if (pm->pagemap_fd >= 0)
		close(pm->pagemap_fd);
	pm->mem_fd = pm->pagemap_fd = -1;
}

ssize_t procmem_read(const struct procmem *pm, uint64_t addr, void *buf, size_t len)
{
	ssize_t n;

	/* addresses above 2^63 are negative offsets to pread: not user memory on x86_64 */
	if (addr > (uint64_t)INT64_MAX - len)
		return errno = EIO, -1;
	do
		n = pread(pm->mem_fd, buf, len, (off_t)addr);
	while (n < 0 && errno == EINTR);
	return n;
}

/* ---------------------------------------------------------------- extents */

int procmem_cursor_open(const struct procmem *pm, const struct procmem_map *m,
			struct procmem_cursor *c)
{
	char path[96];
	struct stat st;

	memset(c, 0, sizeof(*c));
	c->map = m;
	c->pos = m->start;
	c->stop = m->end;
	c->file_fd = -1;
	if (!m->shared)
		return 0;
	/* The file behind the mapping, as the process sees it. Needs CAP_SYS_ADMIN. */
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pm->pid, m->start,
		 m->end);
	/* only files hold plain memory: even opening a device can have effects (a watchdog) */
	if (stat(path, &st))
		return errno == ENOENT ? 1 : -1;
	if (!S_ISREG(st.st_mode))
		return 1;
	c->file_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (c->file_fd < 0)
		return errno == ENOENT ? 1 : -1;
	if (fstat(c->file_fd, &st) || !S_ISREG(st.st_mode)) {
		procmem_cursor_close(c);
		return 1; /* replaced since the stat */
	}
	return 0;
}

void procmem_cursor_bound(struct procmem_cursor *c, uint64_t from, uint64_t to)
{
	const struct procmem_map *m = c->map;

	c->pos = from < m->start ? m->start : from > m->end ? m->end : from;
	c->stop = to > m->end ? m->end : to < c->pos ? c->pos : to;
}

void procmem_cursor_close(struct procmem_cursor *c)
{
	if (c->file_fd >= 0)
		close(c->file_fd);
	c->file_fd = -1;
	free(c->pm_buf);
	c->pm_buf = NULL;
}

/* The pagemap entry of page addr, reading a batch when it is not cached. */
static int pagemap_entry(const struct procmem *pm, struct procmem_cursor *c, uint64_t addr,
			 uint64_t *entry)
{
	uint64_t ps = (uint64_t)pm->page_size;

	if (addr < c->pm_start || addr >= c->pm_end) {
		uint64_t pages = (c->stop - addr + ps - 1) / ps;
		ssize_t n;

		if (pages > PM_BATCH)
			pages = PM_BATCH;
		if (!c->pm_buf && !(c->pm_buf = malloc(PM_BATCH * sizeof(uint64_t))))
			return -1;
		do
			n = pread(pm->pagemap_fd, c->pm_buf, pages * 8, (off_t)(addr / ps * 8));
		while (n < 0 && errno == EINTR);
		if (n < 8) {
			if (n >= 0)
				errno = ESRCH; /* a pagemap without entries: the mm is gone */
			return -1;
		}
		c->pm_start = addr;
		c->pm_end = addr + (uint64_t)(n / 8) * ps;
	}
	*entry = c->pm_buf[(addr - c->pm_start) / ps];
	return 0;
}

/* A page the process wrote to (or that holds data it wrote, swapped out). */
static bool page_touched(uint64_t e)
{
	/* a present file page in a private mapping is the file's content: never written */
	return (e & PM_SWAPPED) || ((e & PM_PRESENT) && !(e & PM_FILE));
}

static int next_private(const struct procmem *pm, struct procmem_cursor *c, uint64_t *start,
			uint64_t *end)
{
	uint64_t ps = (uint64_t)pm->page_size, e, pos = c->pos;
	unsigned looks = 0;

	for (; pos < c->stop; pos += ps) {
		if (pagemap_entry(pm, c, pos, &e))
			return -1;
		if (page_touched(e))
			break;
		if (++looks == PM_LOOKS) {
			/* an empty extent lets the caller check its time limit */
			*start = *end = c->pos = pos + ps;
			return 1;
		}
	}
	if (pos >= c->stop) {
		c->pos = pos;
		return 0;
	}
	*start = pos;
	for (pos += ps; pos < c->stop; pos += ps) {
		if (pagemap_entry(pm, c, pos, &e))
			return -1;
		if (!page_touched(e))
			break;
	}
	*end = c->pos = pos;
	return 1;
}

static int next_shared(struct procmem_cursor *c, uint64_t *start, uint64_t *end)
{
	const struct procmem_map *m = c->map;
	off_t off = (off_t)(m->offset + (c->pos - m->start)), data, hole;

	if (c->pos >= c->stop)
		return 0;
	if (c->no_seek_data)
		goto all;
	data = lseek(c->file_fd, off, SEEK_DATA);
	if (data < 0 && errno == ENXIO)
		return c->pos = c->stop, 0; /* only holes (or end of file) from here */
	if (data < 0)
		goto unsupported;
	hole = lseek(c->file_fd, data, SEEK_HOLE);
	if (hole < 0)
		goto unsupported;
	*start = m->start + ((uint64_t)data - m->offset);
	*end = m->start + ((uint64_t)hole - m->offset);
	if (*start >= c->stop)
		return c->pos = c->stop, 0;
	if (*end > c->stop || *end <= *start)
		*end = c->stop;
	c->pos = *end;
	return 1;
unsupported:
	c->no_seek_data = true;
all:
	*start = c->pos;
	*end = c->pos = c->stop;
	return 1;
}

int procmem_cursor_next(const struct procmem *pm, struct procmem_cursor *c, uint64_t *start,
			uint64_t *end)
{
	return c->file_fd >= 0 ? next_shared(c, start, end) : next_private(pm, c, start, end);
}

ssize_t procmem_cursor_read(const struct procmem *pm, const struct procmem_cursor *c, uint64_t addr,
			    void *buf, size_t len)
{
	ssize_t n;

	if (c->file_fd < 0)
		return procmem_read(pm, addr, buf, len);
	do
		n = pread(c->file_fd, buf, len, (off_t)(c->map->offset + (addr - c->map->start)));
	while (n < 0 && errno == EINTR);
	/* some files (SysV shm) cannot be read(): fall back to the process's view */
	if (n < 0 && (errno == EINVAL || errno == ESPIPE))
		return procmem_read(pm, addr, buf, len);
	if (n == 0) {
		/* past the end of the file: the process would fault there; nothing to see */
		memset(buf, 0, len);
		return (ssize_t)len;
	}
	return n;
}
