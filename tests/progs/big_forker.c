/*
 * A threaded parent with a big touched heap forks children whose scans take
 * long: for the scan pool's queue and for scans cut short.
 *
 *   big_forker loop  MIB LIFE_MS   for -a: forks once the first byte arrives on
 *                                  $FT_CONTROL_FD, then again and again until
 *                                  its EOF; each child sleeps LIFE_MS and
 *                                  _exit(0)s, and is waited for before the next
 *   big_forker gated MIB N         N forks back to back; each child waits for
 *                                  SIGUSR1 (sigwaitinfo, not a futex) from the
 *                                  test, then _exit(0)s; all are waited for
 *   big_forker exec  MIB DELAY_MS  one fork; the child sleeps DELAY_MS, then
 *                                  exec's /bin/true (while it is being scanned)
 *   big_forker exit  MIB DELAY_MS  the same, but the child _exit(0)s
 *
 * The parent has one idle worker ("ft-idle", blocked in read()) and MIB MiB of
 * heap written with 0x5a (nothing there reads as a lock). Nothing is held.
 * Reports: pid, ready=1 (heap touched), child (each fork), child_action_ns
 * (exec/exit: CLOCK_REALTIME just before the exec or _exit), forked,
 * child_status (the last child waited for).
 */
#include "ftlib.c"
#include <poll.h>
#include <signal.h>
#include <time.h>

static long long realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Has the control pipe reached EOF (the test's cue to stop)? */
static int control_closed(void)
{
	struct pollfd p = { .fd = atoi(getenv("FT_CONTROL_FD")), .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: big_forker loop|gated|exec|exit MIB ARG\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *const names[] = { "ft-idle" };
	const char *mode;
	size_t mib;
	long arg, forked = 0;
	pid_t kids[64];
	sigset_t usr1;
	char *heap;

	if (argc != 4)
		usage();
	mode = argv[1];
	mib = strtoul(argv[2], NULL, 10);
	arg = atol(argv[3]);
	if (strcmp(mode, "loop") && strcmp(mode, "gated") && strcmp(mode, "exec") &&
	    strcmp(mode, "exit"))
		usage();
	if (!strcmp(mode, "gated") && (arg < 1 || arg > 64))
		usage();
	report("pid=%d", getpid());
	workers_start(1, names);
	heap = malloc(mib << 20);
	if (!heap)
		die("malloc");
	memset(heap, 0x5a, mib << 20);
	report("ready=1");

	if (!strcmp(mode, "loop")) {
		if (!wait_control())
			return 1;
		do {
			pid_t c = fork();

			if (c < 0)
				die("fork");
			if (c == 0) {
				sleep_ms(arg);
				_exit(heap[0] == 0x5a ? 0 : 1);
			}
			forked++;
			report("child=%d", c);
			wait_child(c, "child_status");
		} while (!control_closed());
	} else if (!strcmp(mode, "gated")) {
		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		pthread_sigmask(SIG_BLOCK, &usr1, NULL);
		for (forked = 0; forked < arg; forked++) {
			kids[forked] = fork();
			if (kids[forked] < 0)
				die("fork");
			if (kids[forked] == 0) {
				while (sigwaitinfo(&usr1, NULL) < 0)
					;
				_exit(0);
			}
		}
		for (long i = 0; i < forked; i++)
			report("child=%d", kids[i]);
		for (long i = 0; i < forked; i++)
			wait_child(kids[i], "child_status");
	} else {
		pid_t c = fork();

		if (c < 0)
			die("fork");
		if (c == 0) {
			sleep_ms(arg);
			report("child_action_ns=%lld", realtime_ns());
			if (!strcmp(mode, "exec")) {
				execl("/bin/true", "/bin/true", (char *)NULL);
				_exit(127);
			}
			_exit(0);
		}
		forked = 1;
		report("child=%d", c);
		wait_child(c, "child_status");
	}
	report("forked=%ld", forked);
	workers_stop();
	return 0;
}
