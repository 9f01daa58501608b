/*
 * Shared helpers of the benchmark programs (header-only, included once per program).
 *
 * A benchmark program may run as forktrace's `-- COMMAND`, which shares forktrace's
 * stdout: so it never writes to stdout. It appends `key=value` lines to the report
 * file named by its first argument (each line written whole, with one write), and
 * puts diagnostics on stderr.
 */
#ifndef BENCH_H
#define BENCH_H
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *report_path;

static void die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(111);
}

static void report(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n, fd;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	fd = open(report_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		die(report_path);
	if (write(fd, line, n) != n)
		die("write report");
	close(fd);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of n values (sorts them in place). */
static inline double median_of(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void bench_init(int argc, char **argv, int nargs, const char *usage)
{
	if (argc < 2 + nargs) {
		fprintf(stderr, "usage: %s REPORT_FILE %s\n", argv[0], usage);
		exit(2);
	}
	report_path = argv[1];
}

/*
 * The lock loops' timing: call batch() (BATCH_PAIRS pairs each) until
 * until_ns; windows[] gets ns/pair for each ~5 ms window, so a run's figure
 * can be the median window (one preemption does not count). Returns pairs.
 */
#define BATCH_PAIRS 256
#define WINDOW_NS 5000000ULL

static inline long run_windows(void (*batch)(void), uint64_t until_ns, double *windows,
			       size_t max_windows, size_t *nwin)
{
	long pairs = 0, wpairs = 0;
	uint64_t wstart = now_ns(), t;

	*nwin = 0;
	do {
		batch();
		pairs += BATCH_PAIRS;
		wpairs += BATCH_PAIRS;
		t = now_ns();
		if (t - wstart >= WINDOW_NS) {
			if (*nwin < max_windows)
				windows[(*nwin)++] = (double)(t - wstart) / wpairs;
			wstart = t;
			wpairs = 0;
		}
	} while (t < until_ns);
	return pairs;
}

/* ---- idle threads: what makes a parent threaded (each blocks in read()) */

#define IDLE_MAX 64
static int idle_pipe[2];
static pthread_t idle_threads[IDLE_MAX];
static int idle_count;

static void *idle_main(void *arg)
{
	char c;

	(void)arg;
	while (read(idle_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* Starts n (at most IDLE_MAX) threads that wait until idle_stop(). */
static inline void idle_start(int n)
{
	if (pipe2(idle_pipe, O_CLOEXEC))
		die("pipe");
	for (idle_count = 0; idle_count < n && idle_count < IDLE_MAX; idle_count++)
		if ((errno = pthread_create(&idle_threads[idle_count], NULL, idle_main, NULL)))
			die("pthread_create");
}

/* The idle threads see EOF and end. */
static inline void idle_stop(void)
{
	close(idle_pipe[1]);
	for (int i = 0; i < idle_count; i++)
		pthread_join(idle_threads[i], NULL);
}

#endif
