/*
 * Shared by the C/C++ trigger programs (#include "ftlib.c"); not a program itself.
 *
 * Triggers never write to stdout: under `forktrace -- COMMAND` it is forktrace's.
 * They report what they know about themselves as key=value lines appended to the
 * file named by $FT_REPORT, each line with a single write(2) so that lines from
 * several threads and processes never mix.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define FT_UNUSED __attribute__((unused)) /* not every trigger uses every helper */

static FT_UNUSED void die(const char *what)
{
	perror(what);
	exit(99);
}

static FT_UNUSED pid_t ft_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Is thread tid of this process blocked in system call nr right now? */
static FT_UNUSED int ft_in_syscall(int tid, long nr)
{
	char path[64], buf[64] = "";
	int fd, n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = (int)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && strtol(buf, NULL, 10) == nr && buf[0] != 'r';
}

/* report("child=%d", pid) */
static FT_UNUSED void report(const char *fmt, ...)
{
	const char *path = getenv("FT_REPORT");
	char line[512];
	va_list ap;
	int n, fd;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || !path)
		return;
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		die("open $FT_REPORT");
	if (write(fd, line, n) != n)
		die("write $FT_REPORT");
	close(fd);
}

/* "KEY=TID,COMM" for the calling thread, its name as the kernel has it. */
static FT_UNUSED void report_thread(const char *key)
{
	char comm[17] = "";

	prctl(PR_GET_NAME, comm);
	report("%s=%d,%s", key, ft_tid(), comm);
}

/* Wait for a child and report "KEY=exit status" (or 128+signal). */
static FT_UNUSED int wait_child(pid_t child, const char *key)
{
	int status;

	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	report("%s=%d", key, status);
	return status;
}

/* The next order on the control pipe $FT_CONTROL_FD: a byte, or 0 at EOF. */
static FT_UNUSED char wait_control(void)
{
	const char *fd = getenv("FT_CONTROL_FD");
	char c;
	ssize_t n;

	if (!fd) {
		fprintf(stderr, "FT_CONTROL_FD is not set\n");
		exit(99);
	}
	while ((n = read(atoi(fd), &c, 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? c : 0;
}

/*
 * Worker threads: each names itself, reports "thread=TID,COMM", and then blocks
 * (holding no lock) until workers_stop(). workers_start() returns once every
 * worker is named, reported and running.
 */
#define MAX_WORKERS 8
static pthread_t worker_th[MAX_WORKERS];
static char worker_name[MAX_WORKERS][16];
static int nworkers;
static int stop_pipe[2] = { -1, -1 };
static pthread_barrier_t workers_running;

static void *worker_main(void *arg)
{
	char c;

	pthread_setname_np(pthread_self(), (const char *)arg);
	report_thread("thread");
	pthread_barrier_wait(&workers_running);
	while (read(stop_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static FT_UNUSED void workers_start(int n, const char *const names[])
{
	int i;

	if (pipe2(stop_pipe, O_CLOEXEC))
		die("pipe2");
	pthread_barrier_init(&workers_running, NULL, n + 1);
	for (i = 0; i < n; i++) {
		snprintf(worker_name[i], sizeof worker_name[i], "%s", names[i]);
		if (pthread_create(&worker_th[i], NULL, worker_main, worker_name[i]))
			die("pthread_create");
	}
	nworkers = n;
	pthread_barrier_wait(&workers_running);
}

static FT_UNUSED void workers_stop(void)
{
	int i;

	close(stop_pipe[1]);
	for (i = 0; i < nworkers; i++)
		pthread_join(worker_th[i], NULL);
}
