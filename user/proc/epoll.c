/* Epoll instances from /proc: the one a thread waits on, and whether a parent holds it too. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include "proc/procfs.h"
#include "proc/epoll.h"
#include "proc/syscall.h"

/* fdinfo beyond this (~3,000 registrations) is not read: the id is of the part before it */
#define FDINFO_MAX (256 << 10)
#define EVENTPOLL_LINK "anon_inode:[eventpoll]"

int epoll_wait_fd(const struct proc_syscall *s, int *fd)
{
	if (s->state != PROC_SYSCALL_IN)
		return 0;
	if (s->nr != EPOLL_NR_WAIT && s->nr != EPOLL_NR_PWAIT && s->nr != EPOLL_NR_PWAIT2)
		return 0;
	/* the kernel takes an int: only the low 32 bits of the register count */
	if ((unsigned int)s->args[0] > INT_MAX)
		return 0;
	*fd = (int)(unsigned int)s->args[0];
	return 1;
}

int epoll_parse_wait(const char *line, int *fd)
{
	struct proc_syscall s;

	if (proc_syscall_parse(line, &s))
		return -1;
	return epoll_wait_fd(&s, fd);
}

int epoll_waiting_fd(int pid, int tid, int *fd)
{
	struct proc_syscall s;

	if (proc_syscall_read(pid, tid, &s))
		return -1;
	return epoll_wait_fd(&s, fd);
}

int epoll_is_instance(int pid, int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -1;
	target[n] = 0;
	return strcmp(target, EVENTPOLL_LINK) == 0;
}

static uint64_t fnv1a(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int epoll_fdinfo_id(const char *fdinfo, uint64_t *id)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *line = fdinfo;
	bool have_ino = false;
	int tfds = 0;

	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (len >= 4 && strncmp(line, "ino:", 4) == 0 && !have_ino) {
			h = fnv1a(h, line, len + 1);
			have_ino = true;
		} else if (len >= 4 && strncmp(line, "tfd:", 4) == 0) {
			/* the newline too: line boundaries are part of the list */
			h = fnv1a(h, line, len + 1);
			if (tfds < INT_MAX)
				tfds++;
		}
		line += len + (nl ? 1 : 0);
	}
	if (!have_ino)
		return -1;
	*id = h;
	return tfds;
}

int epoll_instance_id(int pid, int fd, uint64_t *id)
{
	char path[64], *text;
	int r;

	r = epoll_is_instance(pid, fd);
	if (r <= 0) {
		if (r == 0)
			errno = ENOTTY;
		return -1;
	}
	text = malloc(FDINFO_MAX);
	if (!text)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	r = procfs_read_text(path, text, FDINFO_MAX);
	if (r >= 0) {
		r = epoll_fdinfo_id(text, id);
		if (r < 0)
			errno = EINVAL;
	}
	free(text);
	if (r < 0)
		return -1;
	return r > 0;
}

/* One open file? 1, 0, or -1 (errno ENOSYS/EPERM: kcmp cannot say; EBADF: no such fd). */
static int same_file(int pid1, int fd1, int pid2, int fd2)
{
	long r = syscall(SYS_kcmp, pid1, pid2, KCMP_FILE, fd1, fd2);

	return r < 0 ? -1 : r == 0;
}

/* The fallback when kcmp cannot say: equal ids of non-empty instances. */
static int same_id(int child_pid, int fd, int parent_pid, int pfd)
{
	uint64_t a, b;
	int r = epoll_instance_id(child_pid, fd, &a);

	if (r <= 0)
		return r;
	if (epoll_instance_id(parent_pid, pfd, &b) <= 0)
		return 0;
	return a == b;
}

/* Is pfd of the parent the child's instance? 1, 0, or -1 when the child's fd is gone. */
static int compare(int child_pid, int fd, int parent_pid, int pfd)
{
	int r;

	if (epoll_is_instance(parent_pid, pfd) != 1)
		return 0;
	r = same_file(child_pid, fd, parent_pid, pfd);
	if (r >= 0)
		return r;
	if (errno == EBADF)
		return epoll_is_instance(child_pid, fd) == 1 ? 0 : -1;
	return same_id(child_pid, fd, parent_pid, pfd);
}

int epoll_shared_with(int child_pid, int fd, int parent_pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int r;

	r = epoll_is_instance(child_pid, fd);
	if (r <= 0) {
		if (r == 0)
			errno = ENOTTY;
		return -1;
	}
	/* the usual case first: the parent still has it under the same number */
	r = compare(child_pid, fd, parent_pid, fd);
	if (r != 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/fd", parent_pid);
	d = opendir(path);
	if (!d) {
		if (errno == ENOENT)
			errno = ESRCH;
		return -1;
	}
	while ((de = readdir(d))) {
		char *end;
		long pfd = strtol(de->d_name, &end, 10);

		if (end == de->d_name || *end || pfd < 0 || pfd > INT_MAX || pfd == fd)
			continue;
		r = compare(child_pid, fd, parent_pid, (int)pfd);
		if (r != 0)
			break;
	}
	closedir(d);
	return r;
}
