/* The process model fed with synthetic kernel records: the grace rule,
 * orphaned threads, fork_in_thread and exit_with_threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/dispatch.h"
#include "forktrace.h"
#include "model/model.h"
#include "out/event.h"
#include "out/json.h"
#include "unit.h"

#define MS 1000000ULL

/* A model whose events are collected as they are emitted, each written as
 * one JSON line. Parent pid 100 with threads 100 (main), 101 "worker-a",
 * 102 "worker-b", learned from records. Records go through the dispatcher,
 * as in a trace. */
struct fixture {
	struct model_config cfg;
	struct model *m;
	struct dispatch d;
	FILE *events;
	char *text;
	size_t len;
	int nevents;
};

static void collect(void *ctx, struct event *ev)
{
	struct fixture *f = ctx;

	/* a time of 0 means "now" to the writers: fix it so lines compare */
	if (!ev->time_ns)
		ev->time_ns = 1;
	out_json_write(f->events, ev);
	f->nevents++;
}

static void setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->cfg.grace_ns = 100 * MS;
	f->cfg.trace_all = true;
	f->cfg.lock_mode = "off";
	f->events = open_memstream(&f->text, &f->len);
	f->m = model__new(&f->cfg, collect, f, 0);
	f->d.model = f->m;
}

static const char *finish(struct fixture *f)
{
	model__free(f->m);
	fclose(f->events);
	return f->text;
}

static void record(struct fixture *f, void *r, size_t size)
{
	dispatch_record(&f->d, r, size);
}

static void hdr(struct rec_hdr *h, int type, int pid, int tid, uint64_t ts, const char *comm)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->pid = pid;
	h->tid = tid;
	h->ts = ts;
	snprintf(h->comm, sizeof(h->comm), "%s", comm);
	snprintf(h->tcomm, sizeof(h->tcomm), "%s", comm);
}

static void thread_new(struct fixture *f, int pid, int tid, const char *name)
{
	struct rec_thread r;

	memset(&r, 0, sizeof(r));
	hdr(&r.h, REC_THREAD_NEW, pid, tid, 1, "app");
	snprintf(r.name, sizeof(r.name), "%s", name);
	record(f, &r, sizeof(r));
	r.h.type = REC_THREAD_RENAME;
	record(f, &r, sizeof(r));
}

static void three_threads(struct fixture *f)
{
	thread_new(f, 100, 100, "app");
	thread_new(f, 100, 101, "worker-a");
	thread_new(f, 100, 102, "worker-b");
}

static void fork_rec(struct fixture *f, int tid, int child, uint64_t ts, bool main_thread)
{
	struct rec_fork r;

	memset(&r, 0, sizeof(r));
	hdr(&r.h, REC_FORK, 100, tid, ts, "app");
	r.h.flags = main_thread ? FORK_FROM_MAIN : 0;
	r.child_pid = child;
	r.threads = 3;
	record(f, &r, sizeof(r));
}

static void exec_rec(struct fixture *f, int pid, uint64_t ts)
{
	struct rec_exec r;

	memset(&r, 0, sizeof(r));
	hdr(&r.h, REC_EXEC, pid, pid, ts, "true");
	strcpy(r.filename, "/bin/true");
	record(f, &r, sizeof(r));
}

static void exit_rec(struct fixture *f, int pid, uint64_t ts, int raw)
{
	struct rec_exit r;

	memset(&r, 0, sizeof(r));
	hdr(&r.h, REC_EXIT, pid, pid, ts, "app");
	r.exit_code = raw;
	record(f, &r, sizeof(r));
}

TEST(model_orphaned_threads_warn_after_grace)
{
	struct fixture f;
	const char *out;

	setup(&f);
	three_threads(&f);
	fork_rec(&f, 100, 200, 1000 * MS, true);
	model__tick(f.m, 1050 * MS); /* within the grace period: nothing yet */
	CHECK(model__next_deadline(f.m) == 1100 * MS);
	model__tick(f.m, 1100 * MS);
	CHECK(model__next_deadline(f.m) == 0);
	out = finish(&f);
	CHECK(strstr(out, "\"event\":\"orphaned_threads\",\"severity\":\"warning\",\"pid\":100,"
			  "\"comm\":\"app\",\"child_pid\":200,\"threads\":[{\"tid\":101,\"comm\":"
			  "\"worker-a\"},{\"tid\":102,\"comm\":\"worker-b\"}]") != NULL);
	CHECK(strstr(out, "fork_in_thread") == NULL);
	free(f.text);
}

TEST(model_exec_in_time_downgrades_to_info)
{
	struct fixture f;
	const char *out;

	setup(&f);
	three_threads(&f);
	fork_rec(&f, 101, 200, 1000 * MS, false);
	exec_rec(&f, 200, 1020 * MS);
	model__tick(f.m, 2000 * MS);
	out = finish(&f);
	CHECK(strstr(out, "\"event\":\"orphaned_threads\",\"severity\":\"info\"") != NULL);
	CHECK(strstr(out, "\"event\":\"fork_in_thread\",\"severity\":\"info\",\"pid\":100,"
			  "\"comm\":\"app\",\"tid\":101,\"child_pid\":200}") != NULL);
	CHECK(strstr(out, "\"filename\":\"/bin/true\",\"since_fork_ns\":20000000}") != NULL);
	/* the forking thread is not orphaned; the main thread is */
	CHECK(strstr(out, "{\"tid\":100,\"comm\":\"app\"},{\"tid\":102,\"comm\":\"worker-b\"}") !=
	      NULL);
	CHECK(strstr(out, "warning") == NULL);
	free(f.text);
}

TEST(model_exit_without_exec_warns_at_once)
{
	struct fixture f;
	const char *out;

	setup(&f);
	three_threads(&f);
	fork_rec(&f, 100, 200, 1000 * MS, true);
	exit_rec(&f, 200, 1001 * MS, 3 << 8);
	out = finish(&f);
	CHECK(strstr(out, "\"event\":\"orphaned_threads\",\"severity\":\"warning\"") != NULL);
	CHECK(strstr(out, "\"event\":\"exit\",\"severity\":\"info\",\"pid\":200,\"comm\":\"app\","
			  "\"exit_code\":3,\"signal\":0}") != NULL);
	free(f.text);
}

TEST(model_single_threaded_fork_is_quiet)
{
	struct fixture f;
	struct rec_fork r;
	const char *out;

	setup(&f);
	thread_new(&f, 100, 100, "app");
	memset(&r, 0, sizeof(r));
	hdr(&r.h, REC_FORK, 100, 100, 5, "app");
	r.h.flags = FORK_FROM_MAIN;
	r.child_pid = 300;
	r.threads = 1;
	record(&f, &r, sizeof(r));
	model__tick(f.m, 10000 * MS);
	out = finish(&f);
	CHECK(strstr(out, "\"threads\":1,\"main_thread\":true") != NULL);
	CHECK(strstr(out, "warning") == NULL && strstr(out, "orphaned") == NULL);
	free(f.text);
}

TEST(model_exit_with_threads_lists_killed_threads)
{
	struct fixture f;
	struct rec_thread t;
	const char *out;

	setup(&f);
	three_threads(&f);
	fork_rec(&f, 100, 200, 1000 * MS, true);
	exec_rec(&f, 200, 1001 * MS);
	/* the forked child 200 starts two threads and calls exit_group(7) */
	thread_new(&f, 200, 201, "t1");
	thread_new(&f, 200, 202, "t2");
	memset(&t, 0, sizeof(t));
	hdr(&t.h, REC_THREAD_EXIT, 200, 200, 1500 * MS, "true");
	t.h.flags = TEXIT_GROUP_EXIT | TEXIT_INITIATOR;
	record(&f, &t, sizeof(t));
	t.h.tid = 201;
	t.h.flags = TEXIT_GROUP_EXIT;
	record(&f, &t, sizeof(t));
	t.h.tid = 202;
	record(&f, &t, sizeof(t));
	exit_rec(&f, 200, 1501 * MS, 7 << 8);
	out = finish(&f);
	/* it exec'd: info, not warning */
	CHECK(strstr(out, "\"event\":\"exit_with_threads\",\"severity\":\"info\",\"pid\":200,"
			  "\"comm\":\"true\",\"threads\":[{\"tid\":201,\"comm\":\"t1\"},"
			  "{\"tid\":202,\"comm\":\"t2\"}],\"exit_code\":7}") != NULL);
	free(f.text);
}

TEST(model_killed_by_signal)
{
	struct fixture f;
	const char *out;

	setup(&f);
	thread_new(&f, 100, 100, "app");
	exit_rec(&f, 100, 5, 9);
	out = finish(&f);
	CHECK(strstr(out, "\"exit_code\":0,\"signal\":9}") != NULL);
	free(f.text);
}

TEST(dispatch_counts_unknown_and_short_records)
{
	struct fixture f;
	struct rec_fork r;
	const char *out;

	setup(&f);
	memset(&r, 0, sizeof(r));
	hdr(&r.h, 99, 100, 100, 5, "app"); /* a type no one knows */
	record(&f, &r, sizeof(r));
	hdr(&r.h, REC_FORK, 100, 100, 5, "app");
	record(&f, &r, sizeof(r) - 1); /* shorter than a fork record */
	record(&f, &r, 2);	       /* shorter than any header */
	CHECK(f.d.unknown == 3);
	out = finish(&f);
	CHECK(f.nevents == 0 && (!out || !*out));
	free(f.text);
}

/* exit_group() in a forked child while its second thread runs: the kernel
 * may report the process's end before that thread's own exit, or never
 * report that thread at all. The group exit itself decides. */
TEST(model_exit_group_kills_threads_whose_exit_is_not_seen)
{
	struct fixture f;
	struct rec_thread t;
	const char *out;

	setup(&f);
	three_threads(&f);
	fork_rec(&f, 100, 200, 1000 * MS, true);
	thread_new(&f, 200, 201, "spinner");
	memset(&t, 0, sizeof(t));
	hdr(&t.h, REC_THREAD_EXIT, 200, 200, 1500 * MS, "app");
	t.h.flags = TEXIT_GROUP_EXIT | TEXIT_INITIATOR;
	record(&f, &t, sizeof(t));
	exit_rec(&f, 200, 1501 * MS, 0);
	t.h.tid = 201; /* too late: the process is gone */
	t.h.flags = TEXIT_GROUP_EXIT;
	record(&f, &t, sizeof(t));
	out = finish(&f);
	CHECK(strstr(out, "\"event\":\"exit_with_threads\",\"severity\":\"warning\",\"pid\":200,"
			  "\"comm\":\"app\",\"threads\":[{\"tid\":201,\"comm\":\"spinner\"}],"
			  "\"exit_code\":0}") != NULL);
	free(f.text);
}

TEST(model_fatal_signal_kills_every_thread)
{
	struct fixture f;
	const char *out;

	setup(&f);
	three_threads(&f);
	exit_rec(&f, 100, 5, 9); /* no thread exit seen but this one */
	out = finish(&f);
	CHECK(strstr(out, "\"event\":\"exit_with_threads\",\"severity\":\"info\",\"pid\":100,"
			  "\"comm\":\"app\",\"threads\":[{\"tid\":101,\"comm\":\"worker-a\"},"
			  "{\"tid\":102,\"comm\":\"worker-b\"}],\"exit_code\":0}") != NULL);
	free(f.text);
}

static void count_gone(void *ctx, int pid, bool root)
{
	(void)pid;
	(void)root;
	++*(int *)ctx;
}

/* After a loss: a process /proc shows gone at two looks in a row is forgotten; one that runs stays. */
TEST(model_reap_gone_forgets_only_what_is_gone)
{
	struct fixture f;
	int gone = 0, first, second, live;
	int me = getpid(), ghost = 2147483000; /* beyond any pid_max: never a process */

	setup(&f);
	thread_new(&f, me, me, "app");
	thread_new(&f, ghost, ghost, "ghost");
	live = model__live(f.m);
	first = model__reap_gone(f.m, count_gone, &gone);
	second = model__reap_gone(f.m, count_gone, &gone);
	CHECK(model__live(f.m) == live - 1);
	finish(&f);
	free(f.text);
	CHECK(live == 2);
	CHECK(first == 1);
	CHECK(second == 0);
	CHECK(gone == 1);
}
