/*
 * Reading another process's memory without changing it.
 *
 * Measured on the target hosts (HOST-FACTS.md): pread() of /proc/PID/mem
 * in 1-4 MiB chunks reads ~3 GiB/s and leaves copy-on-write pages shared;
 * process_vm_readv() un-shares every COW page it reads, so it is never used
 * here. Never-touched private pages are skipped with /proc/PID/pagemap
 * (reading them would fault in zero pages and page tables). Shared mappings
 * have no page-table entries in a fresh child, so they are read through
 * their backing file (/proc/PID/map_files), skipping its holes: the child's
 * page tables and RSS stay exactly as they were.
 *
 * Everything read from /proc is untrusted text or data.
 */
#ifndef FT_PROCMEM_H
#define FT_PROCMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCMEM_PATH_LEN 256

/* One line of /proc/PID/maps. */
struct procmem_map {
	uint64_t start, end; /* [start, end) */
	uint64_t offset;     /* file offset of start */
	bool readable, writable, shared;
	char path[PROCMEM_PATH_LEN]; /* "" for anonymous; truncated if longer */
};

/* Every mapping of a process, in address order (as the kernel lists them). */
struct procmem_maps {
	struct procmem_map *v;
	int n;
};

/*
 * One maps line (proc_maps_parse_line) in this compact form: the path kept
 * as is (spaces, " (deleted)"), truncated to PROCMEM_PATH_LEN - 1.
 * Returns 0, or -1 when the line is malformed.
 */
int procmem_parse_maps_line(const char *line, struct procmem_map *m);

/* Reads /proc/PID/maps (proc/maps.h) whole. 0, or -1 with errno set and err filled. */
int procmem_maps_read(int pid, struct procmem_maps *maps, char *err, size_t errlen);
void procmem_maps_free(struct procmem_maps *maps);
/* The mapping addr is in (of any protection), or NULL; maps must be sorted. */
const struct procmem_map *procmem_map_of(const struct procmem_maps *maps, uint64_t addr);
/* Is addr inside any mapping (of any protection)? maps must be sorted. */
bool procmem_maps_contains(const struct procmem_maps *maps, uint64_t addr);

/*
 * Can this mapping hold a process's locks? Writable private or shared
 * memory, but not device memory (reading a device mapping can have side
 * effects or fail) nor the kernel's [vvar]/[vsyscall] pages.
 */
bool procmem_map_scannable(const struct procmem_map *m);

/* A process whose memory is being read. */
struct procmem {
	int pid;
	int mem_fd;	/* /proc/PID/mem */
	int pagemap_fd; /* /proc/PID/pagemap */
	long page_size;
};

/*
 * Opens a process's memory. Both files pin the mm that exists now: if the
 * process exits or execs, later reads return 0 instead of reading a new
 * image. 0, or -1 with errno set and err filled.
 */
int procmem_open(int pid, struct procmem *pm, char *err, size_t errlen);
/* Opens only /proc/PID/mem, for procmem_read of a few words (no cursor).
 * 0, or -1 with errno set and err filled. */
int procmem_open_mem(int pid, struct procmem *pm, char *err, size_t errlen);
void procmem_close(struct procmem *pm);

/* One pread of /proc/PID/mem: bytes read, 0 when the process is gone, -1 on error. */
ssize_t procmem_read(const struct procmem *pm, uint64_t addr, void *buf, size_t len);

/*
 * Walks the parts of one mapping that can hold data: for a private mapping
 * its present or swapped pages (per pagemap), for a shared one the data
 * extents of its backing file (SEEK_DATA/SEEK_HOLE). Everything outside an
 * extent reads as zeros.
 */
struct procmem_cursor {
	const struct procmem_map *map;
	uint64_t pos;	   /* next address to look at */
	uint64_t stop;	   /* where the walk ends (the mapping's end, or a bound) */
	int file_fd;	   /* shared: the backing file, -1 otherwise */
	bool no_seek_data; /* the file system cannot tell holes: all data */
	uint64_t *pm_buf;  /* private: pagemap entries cached for [pm_start, pm_end) */
	uint64_t pm_start, pm_end;
};

/* 0, 1 when the mapping cannot be read at all (gone, a device), -1 on error. */
int procmem_cursor_open(const struct procmem *pm, const struct procmem_map *m,
			struct procmem_cursor *c);
/*
 * Next extent [*start, *end) at or after c->pos: 1 found, 0 none left, -1
 * error (errno ESRCH: the process is gone). After a long untouched stretch
 * the extent can be empty (start == end), so the caller can check its limits.
 */
int procmem_cursor_next(const struct procmem *pm, struct procmem_cursor *c, uint64_t *start,
			uint64_t *end);
/* Reads inside an extent: bytes read, 0 when the process is gone, -1 on error. */
ssize_t procmem_cursor_read(const struct procmem *pm, const struct procmem_cursor *c, uint64_t addr,
			    void *buf, size_t len);
/* Walks only [from, to) of the mapping (clipped to it). */
void procmem_cursor_bound(struct procmem_cursor *c, uint64_t from, uint64_t to);
void procmem_cursor_close(struct procmem_cursor *c);

#endif /* FT_PROCMEM_H */
