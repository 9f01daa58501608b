/*
 * Reaching the very file a process maps, from outside it: through its root
 * (containers see their own file system) when that path still names the
 * same inode, else through /proc/PID/map_files (a deleted or replaced file).
 */
#ifndef FT_PROC_MAPFILE_H
#define FT_PROC_MAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Writes to out a path for the file PID maps as PATH (without " (deleted)"),
 * inode INO, one of its mappings being RANGE ("start-end"):
 * /proc/PID/root/PATH, or /proc/PID/map_files/RANGE when the former is not
 * that inode (or the file was deleted) and the latter exists.
 */
void proc_mapfile_path(int pid, const char *path, uint64_t ino, bool deleted, const char *range,
		       char *out, size_t len);

#endif /* FT_PROC_MAPFILE_H */
