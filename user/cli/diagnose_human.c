/* diagnose's human explanation (see diagnose_human.h). */
#include <stdio.h>
#include "cli/diagnose_human.h"
#include "out/human.h"

#define SAFE_COMM (EV_COMM_LEN * 4 + 1) /* sanitize() turns a byte into up to 4 */

static const char *lock_kind_text(enum lock_type type)
{
	switch (type) {
	case LOCK_MUTEX: return "a pthread mutex";
	case LOCK_RWLOCK_WRITE: return "a write-locked pthread rwlock";
	case LOCK_RWLOCK_READ: return "a pthread rwlock";
	case LOCK_SEMAPHORE: return "a POSIX semaphore (CPython's threading.Lock is one)";
	case LOCK_PY_LOCK: return "a threading.Lock";
	case LOCK_PY_RLOCK: return "a threading.RLock";
	case LOCK_PY_IO: return "the internal lock of an io object";
	case LOCK_GIL: return "the GIL";
	case LOCK_UNKNOWN: break;
	}
	return "a futex of no lock layout forktrace knows (a condition variable, an event, a custom lock)";
}

static void explain_owner(FILE *f, const struct futex_lock_info *info)
{
	char comm[SAFE_COMM];

	if (!info->owner_tid) {
		fprintf(f, "    the lock records no owner thread\n");
		return;
	}
	if (!info->owner_exists) {
		fprintf(f,
			"    its owner, thread %d, does not exist in this process: it was not copied by\n"
			"    fork() (or it exited holding the lock). Nothing can release it: deadlocked.\n",
			info->owner_tid);
		return;
	}
	sanitize(info->owner_comm, comm, sizeof(comm));
	fprintf(f,
		"    its owner, thread %d (%s), is alive: the wait ends when it releases the lock\n",
		info->owner_tid, comm);
}

static void explain_wakers(FILE *f, const struct futex_wait *w, const struct futex_lock_info *info)
{
	if (w->has_timeout)
		fprintf(f, "    the wait has a timeout: it returns by itself\n");
	else if (!info->private_futex)
		fprintf(f, "    the futex is shared: another process could wake it\n");
	else if (info->nthreads > 1)
		fprintf(f, "    %d other thread%s of this process could wake it\n",
			info->nthreads - 1, info->nthreads == 2 ? "" : "s");
	else
		fprintf(f, "    it is the process's only thread and the futex is process-private:\n"
			   "    only a signal handler could wake it\n");
}

void diagnose_human_header(FILE *f, int pid, const char *comm, int ppid, int nthreads,
			   const char *python, const char *why)
{
	char safe[SAFE_COMM], text[512];

	sanitize(comm, safe, sizeof(safe));
	fprintf(f, "process %d (%s), parent %d, %d thread%s:\n", pid, safe, ppid, nthreads,
		nthreads == 1 ? "" : "s");
	if (python) {
		sanitize(python, text, sizeof(text));
		fprintf(f, "  runs CPython %s: threads go by their Python names\n", text);
	} else if (why && why[0]) {
		sanitize(why, text, sizeof(text));
		fprintf(f, "  not read as Python: %s\n", text);
	}
	fflush(f);
}

void diagnose_human_thread(FILE *f, const struct futex_wait *w, const char *comm, const char *name,
			   const struct futex_lock_info *info)
{
	char safe[SAFE_COMM], pyname[128], lock[32];

	sanitize(comm, safe, sizeof(safe));
	format_lock_addr(info->lock, lock, sizeof(lock));
	if (name && name[0]) {
		sanitize(name, pyname, sizeof(pyname));
		fprintf(f, "  thread \"%s\" %d (%s) waits on %s, %s\n", pyname, w->tid, safe, lock,
			lock_kind_text(info->type));
	} else {
		fprintf(f, "  thread %d (%s) waits on %s, %s\n", w->tid, safe, lock,
			lock_kind_text(info->type));
	}
	if (info->type == LOCK_MUTEX || info->type == LOCK_RWLOCK_WRITE)
		explain_owner(f, info);
	/* with its owner gone, waking the thread would not help: it would wait again */
	if (!info->owner_tid || info->owner_exists)
		explain_wakers(f, w, info);
	fflush(f);
}

void diagnose_human_stack(FILE *f, const struct stack *st)
{
	char func[256], file[512];

	for (int i = 0; i < st->count; i++) {
		const struct frame *fr = &st->frames[i];
		const char *at = i			  ? "called from" :
				 fr->lang == FRAME_PYTHON ? "in Python at" :
							    "in";

		sanitize(fr->func ? fr->func : "?", func, sizeof(func));
		if (fr->file) {
			sanitize(fr->file, file, sizeof(file));
			fprintf(f, "    %s %s:%d in %s\n", at, file, fr->line, func);
			continue;
		}
		/* a native frame without source: its function, or where it is in its module */
		sanitize(fr->module ? fr->module : "?", file, sizeof(file));
		if (fr->func)
			fprintf(f, "    %s %s (%s)\n", at, func, file);
		else
			fprintf(f, "    %s %s+0x%llx\n", at, file, (unsigned long long)fr->offset);
	}
	if (st->omitted)
		fprintf(f, "    (%d more frames)\n", st->omitted);
	fflush(f);
}

void diagnose_human_verdict(FILE *f, int blocked, int errors, int warnings)
{
	if (!blocked)
		fprintf(f, "  no thread is blocked in a futex wait\n");
	if (errors)
		fprintf(f, "deadlock confirmed: %d thread%s can never proceed\n", errors,
			errors == 1 ? "" : "s");
	else if (warnings)
		fprintf(f, "possible deadlock: nothing but a signal can wake %d thread%s\n",
			warnings, warnings == 1 ? "" : "s");
	else
		fprintf(f, "no deadlock found\n");
	fflush(f);
}
