/* The /proc readers: stat, children, status, maps, syscall, epoll's fdinfo and wchan lines. */
#include <stdbool.h>
#include "fuzz.h"
#include "proc/epoll.h"
#include "proc/maps.h"
#include "proc/proctree.h"
#include "proc/syscall.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);
	struct proctree_stat st;
	struct proc_map m;
	struct proc_syscall sc;
	int pids[16], n, fd;
	uint64_t id;

	if (proctree_parse_stat(s, &st) == 0)
		FUZZ_CHECK(memchr(st.comm, 0, sizeof(st.comm)) != NULL);
	n = proctree_parse_children(s, pids, 16);
	FUZZ_CHECK(n >= 0);
	for (int i = 0; i < n && i < 16; i++)
		FUZZ_CHECK(pids[i] > 0);
	(void)proctree_parse_tgid(s);
	if (proc_maps_parse_line(s, &m) == 0) {
		FUZZ_CHECK(memchr(m.path, 0, sizeof(m.path)) != NULL);
		FUZZ_CHECK(memchr(m.range, 0, sizeof(m.range)) != NULL);
	}
	(void)proc_syscall_parse(s, &sc);
	(void)epoll_parse_wait(s, &fd);
	(void)epoll_fdinfo_id(s, &id);
	free(s);
	return 0;
}
