/* Reading /proc/PID/task/TID/syscall (see syscall.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "proc/procfs.h"
#include "proc/syscall.h"

/* One "0x..." field and the space after it. */
static int parse_arg(const char **s, uint64_t *v)
{
	char *end;

	if (strncmp(*s, "0x", 2) != 0)
		return -1;
	errno = 0;
	*v = strtoull(*s, &end, 16);
	if (errno || end == *s + 2 || (*end != ' ' && *end != '\n' && *end != 0))
		return -1;
	*s = *end == ' ' ? end + 1 : end;
	return 0;
}

int proc_syscall_parse(const char *line, struct proc_syscall *s)
{
	char *end;

	memset(s, 0, sizeof(*s));
	if (strncmp(line, "running", 7) == 0)
		return 0;
	errno = 0;
	s->nr = strtol(line, &end, 10);
	if (errno || end == line || (*end != ' ' && *end != '\n'))
		return -1;
	line = end + 1;
	if (s->nr == -1) {
		s->state = PROC_SYSCALL_NONE;
	} else {
		for (int i = 0; i < 6; i++)
			if (parse_arg(&line, &s->args[i]))
				return -1;
		s->state = PROC_SYSCALL_IN;
	}
	/* the user sp and pc follow; an older kernel may not show them */
	if (*end == ' ' && parse_arg(&line, &s->sp) == 0 && parse_arg(&line, &s->pc) == 0)
		s->has_sp = true;
	else
		s->sp = s->pc = 0;
	return 0;
}

int proc_syscall_read(int pid, int tid, struct proc_syscall *s)
{
	char path[64], line[512];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	if (procfs_read_text(path, line, sizeof(line)) < 0)
		return -1;
	if (proc_syscall_parse(line, s)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}
