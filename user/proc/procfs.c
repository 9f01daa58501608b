/* /proc readers. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "proc/procfs.h"

int procfs_read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	return (int)len;
}

int procfs_thread_comm(int pid, int tid, char *buf, size_t size)
{
	char path[64];
	int n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	n = procfs_read_text(path, buf, size);
	if (n < 0)
		return -1;
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int procfs_tids(int pid, int **tids)
{
	char path[64];
	struct dirent *de;
	int n = 0, cap = 16, *v;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -1;
	v = malloc(cap * sizeof(*v));
	if (!v) {
		closedir(d);
		return -1;
	}
	while ((de = readdir(d))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);

		if (*end || tid <= 0)
			continue;
		if (n == cap) {
			int *nv = realloc(v, 2 * cap * sizeof(*v));

			if (!nv)
				break;
			v = nv;
			cap *= 2;
		}
		v[n++] = (int)tid;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_int);
	*tids = v;
	return n;
}

int procfs_ppid(int pid)
{
	char path[64], buf[4096], *p;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (procfs_read_text(path, buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, "\nPPid:");
	return p ? atoi(p + 6) : -1;
}

int procfs_caught_signals(int pid, int tid, uint64_t *mask)
{
	char path[64], buf[4096], *p;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	if (procfs_read_text(path, buf, sizeof(buf)) < 0 || !(p = strstr(buf, "\nSigCgt:")))
		return -1;
	*mask = strtoull(p + 8, NULL, 16);
	return 0;
}

bool procfs_exists(int pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	return stat(path, &st) == 0;
}

bool procfs_has_thread(int pid, int tid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/task/%d", pid, tid);
	return stat(path, &st) == 0;
}

int procfs_ns_tid(int pid, int tid)
{
	char path[64], buf[4096], *p;
	int last = tid;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	if (procfs_read_text(path, buf, sizeof(buf)) < 0)
		return tid;
	p = strstr(buf, "\nNSpid:");
	if (!p)
		return tid; /* a kernel without NSpid: one namespace */
	p += 7;
	while (*p && *p != '\n') {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		last = (int)v;
		p = end;
	}
	return last;
}

int procfs_arg_start(int pid, uint64_t *v)
{
	char path[64], buf[1024], *p;
	int field = 2; /* the space before each field counts it */

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (procfs_read_text(path, buf, sizeof(buf)) < 0 || !(p = strrchr(buf, ')')))
		return -1;
	/* fields after the comm, from the 3rd (state); arg_start is the 48th */
	for (p++; *p && field < 48; p++)
		if (*p == ' ' && p[1] != ' ')
			field++;
	if (field != 48 || !*p)
		return -1;
	*v = strtoull(p, NULL, 10);
	return 0;
}
