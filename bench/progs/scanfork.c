/*
 * Scan cost: a parent with 2 threads (the main one and an idle worker) and MIB MiB of
 * touched, writable heap forks once. The child blocks reading a pipe, touching nothing,
 * so forktrace (--locks=scan) can read its memory; the benchmark compares the child's
 * /proc/PID/smaps_rollup with and without forktrace.
 * The parent reports child=PID, then waits until the file RELEASE exists (at most
 * 120 s), lets the child go, waits for it and exits.
 *
 * usage: scanfork REPORT_FILE MIB RELEASE
 */
#include "bench.h"
#include <sys/wait.h>

int main(int argc, char **argv)
{
	bench_init(argc, argv, 2, "MIB RELEASE");
	size_t size = (size_t)atol(argv[2]) << 20;
	const char *release = argv[3];
	int hold[2];

	if (pipe2(hold, O_CLOEXEC))
		die("pipe");
	idle_start(1);
	char *heap = malloc(size);
	if (!heap)
		die("malloc");
	memset(heap, 0x5a, size);

	uint64_t t0 = now_ns();
	pid_t c = fork();
	if (c < 0)
		die("fork");
	if (c == 0) {
		char ch;

		close(hold[1]);
		while (read(hold[0], &ch, 1) < 0 && errno == EINTR)
			;
		_exit(heap[size / 2] == 0x5a ? 0 : 1);
	}
	uint64_t t1 = now_ns();
	close(hold[0]);
	report("pid=%d", getpid());
	report("fork_ns=%llu", (unsigned long long)(t1 - t0));
	report("child=%d", c);

	for (int i = 0; i < 12000 && access(release, F_OK); i++)
		usleep(10000);
	close(hold[1]);
	int st;
	while (waitpid(c, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	report("child_status=%d", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	idle_stop();
	free(heap);
	return 0;
}
