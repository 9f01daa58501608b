/* A path to a mapped file (mapfile.h). */
#include <stdio.h>
#include <sys/stat.h>
#include "proc/mapfile.h"

void proc_mapfile_path(int pid, const char *path, uint64_t ino, bool deleted, const char *range,
		       char *out, size_t len)
{
	struct stat st;

	snprintf(out, len, "/proc/%d/root%s", pid, path);
	if (!deleted && stat(out, &st) == 0 && (uint64_t)st.st_ino == ino)
		return;
	snprintf(out, len, "/proc/%d/map_files/%s", pid, range);
	if (stat(out, &st) != 0)
		snprintf(out, len, "/proc/%d/root%s", pid, path);
}
