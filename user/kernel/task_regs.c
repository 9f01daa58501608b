/* A thread's saved registers through an iter/task program (see task_regs.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "forktrace.h"
#include "kernel/task_regs.h"
#include "task_regs.skel.h"

struct task_regs {
	struct task_regs_bpf *skel;
};

struct task_regs *task_regs__open(char *err, size_t errlen)
{
	struct task_regs *t = calloc(1, sizeof(*t));

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->skel = task_regs_bpf__open_and_load();
	if (!t->skel) {
		snprintf(err, errlen, "cannot load the thread-registers program: %s",
			 strerror(errno));
		free(t);
		return NULL;
	}
	return t;
}

void task_regs__free(struct task_regs *t)
{
	if (!t)
		return;
	task_regs_bpf__destroy(t->skel);
	free(t);
}

int task_regs__read(struct task_regs *t, int tid, uint64_t *regs)
{
	DECLARE_LIBBPF_OPTS(bpf_iter_attach_opts, opts);
	union bpf_iter_link_info info;
	struct thread_regs r;
	struct bpf_link *link;
	ssize_t n = 0, got;
	int fd, ret = -1;

	if (!t || tid <= 0)
		return -1;
	memset(&info, 0, sizeof(info));
	info.task.tid = tid;
	opts.link_info = &info;
	opts.link_info_len = sizeof(info);
	link = bpf_program__attach_iter(t->skel->progs.thread_regs, &opts);
	if (!link)
		return -1;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd >= 0) {
		while (n < (ssize_t)sizeof(r) &&
		       (got = read(fd, (char *)&r + n, sizeof(r) - n)) > 0)
			n += got;
		close(fd);
	}
	bpf_link__destroy(link);
	if (n != (ssize_t)sizeof(r) || (int)r.tid != tid)
		return -1;
	if (r.flags & TREGS_RUNNING)
		return 1;
	for (int i = 0; i < FT_NREGS; i++)
		regs[i] = r.regs[i];
	ret = 0;
	return ret;
}
