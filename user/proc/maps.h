/*
 * The one reader of /proc/PID/maps. Every line is untrusted text (a path
 * is whatever name the process gave a file): fields are checked, numbers
 * bounded, the path truncated to fit, and a line that does not parse is
 * skipped, never guessed at.
 */
#ifndef FT_PROC_MAPS_H
#define FT_PROC_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROC_MAP_PATH_LEN 4096	      /* PATH_MAX */
#define PROC_MAP_DELETED " (deleted)" /* the kernel's mark on a removed file */

/* One mapping, one line "start-end perms offset major:minor inode   path". */
struct proc_map {
	uint64_t start, end; /* [start, end) */
	uint64_t offset;     /* file offset of start */
	bool readable, writable, executable;
	bool shared; /* 's'; 'p' is private (copy-on-write) */
	unsigned dev_major, dev_minor;
	uint64_t inode; /* 0: not a file */
	/* as the kernel shows it: "" (anonymous), "[heap]", a path with spaces,
	 * PROC_MAP_DELETED included; truncated to PROC_MAP_PATH_LEN - 1 */
	char path[PROC_MAP_PATH_LEN];
	bool deleted;	/* path ends in PROC_MAP_DELETED */
	char range[40]; /* "start-end" as named in /proc/PID/map_files */
};

/* Parses one line (with or without its '\n'): 0, or -1 when malformed. */
int proc_maps_parse_line(const char *line, struct proc_map *m);

/* An open /proc/PID/maps, read a line at a time. */
struct proc_maps {
	FILE *f;
	char *line;
	size_t cap;
};

/* 0, or -1 with errno set (ENOENT: no such process). */
int proc_maps_open(struct proc_maps *it, int pid);
/* The next mapping in address order: 1 with *m filled, 0 at the end, -1 on
 * a read error (errno set). Malformed lines are skipped. */
int proc_maps_next(struct proc_maps *it, struct proc_map *m);
void proc_maps_close(struct proc_maps *it); /* safe on a failed open */

/* Does PID still have an address space? (A zombie's maps are empty.) */
bool proc_maps_any(int pid);

#endif /* FT_PROC_MAPS_H */
