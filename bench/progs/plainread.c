/*
 * The reference for the fork-time scan's speed: one thread reads another
 * process's writable private memory with nothing else to do. Every writable
 * private mapping of /proc/PID/maps is read from /proc/PID/mem with 4 MiB
 * preads (the scan's chunk size), in order; a range that does not read
 * (a guard page, an unmapped hole) is stepped over a page at a time.
 * Reports bytes (read), ns (the read pass, maps parsing included), mappings.
 *
 * usage: plainread REPORT_FILE PID
 */
#include "bench.h"
#include <inttypes.h>

#define CHUNK (4u << 20)
#define PAGE 4096u

int main(int argc, char **argv)
{
	bench_init(argc, argv, 1, "PID");
	char path[64], line[512], *buf = malloc(CHUNK);
	uint64_t bytes = 0, t0 = now_ns();
	long mappings = 0;
	FILE *maps;
	int mem;

	if (!buf)
		die("malloc");
	snprintf(path, sizeof path, "/proc/%s/maps", argv[2]);
	maps = fopen(path, "re");
	if (!maps)
		die(path);
	snprintf(path, sizeof path, "/proc/%s/mem", argv[2]);
	mem = open(path, O_RDONLY | O_CLOEXEC);
	if (mem < 0)
		die(path);
	while (fgets(line, sizeof line, maps)) {
		uint64_t lo, hi;
		char perms[8];

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &lo, &hi, perms) != 3)
			continue;
		if (perms[1] != 'w' || perms[3] != 'p')
			continue;
		mappings++;
		for (uint64_t at = lo; at < hi;) {
			size_t want = hi - at < CHUNK ? (size_t)(hi - at) : CHUNK;
			ssize_t n = pread(mem, buf, want, (off_t)at);

			if (n <= 0) {
				at += PAGE; /* unreadable here: the next page */
				continue;
			}
			bytes += (uint64_t)n;
			at += (uint64_t)n;
		}
	}
	uint64_t t1 = now_ns();
	report("bytes=%" PRIu64, bytes);
	report("ns=%" PRIu64, t1 - t0);
	report("mappings=%ld", mappings);
	fclose(maps);
	close(mem);
	return 0;
}
