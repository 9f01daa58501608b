/* The process model fed with synthetic kernel records: the grace rule,
 * orphaned threads, fork_in_thread and exit_with_threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "forktrace.h"
#include "model/model.h"
#include "cli/options.h"
#include "out/output.h"
#include "unit.h"

#define MS 1000000ULL

struct fixture {
	struct options opts;
	struct output *out;
	struct model *m;
	char path[64];
	char *text;
};

/* A model whose JSON output goes to a temporary file. Parent pid 100 with
 * threads 100 (main), 101 "worker-a", 102 "worker-b", learned from records. */
static void setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	strcpy(f->path, "/tmp/ft-unit-XXXXXX");
	close(mkstemp(f->path));
	f->opts.format = FORMAT_JSON;
	f->opts.output_path = f->path;
	f->opts.grace_ns = 100 * MS;
	f->opts.target = TARGET_ALL;
	f->opts.locks = LOCKS_OFF;
	f->out = output__new(&(struct output_config){ .format = FORMAT_JSON, .path = f->path });
	f->m = model__new(&f->opts, f->out, 0);
}

static const char *finish(struct fixture *f)
{
	FILE *fp;
	long n;

	model__free(f->m);
	output__free(f->out);
	fp = fopen(f->path, "r");
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	f->text = calloc(1, n + 1);
	if (fread(f->text, 1, n, fp) != (size_t)n)
		n = 0;
	fclose(fp);
	unlink(f->path);
	return f->text;
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
	model__record(f->m, &r, sizeof(r));
	r.h.type = REC_THREAD_RENAME;
	model__record(f->m, &r, sizeof(r));
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
	model__record(f->m, &r, sizeof(r));
}

static void exec_rec(struct fixture *f, int pid, uint64_t ts)
{
	struct rec_exec r;

	memset(&r, 0, sizeof(r));
	hdr(&r.h, REC_EXEC, pid, pid, ts, "true");
	strcpy(r.filename, "/bin/true");
	model__record(f->m, &r, sizeof(r));
}

static void exit_rec(struct fixture *f, int pid, uint64_t ts, int raw)
{
	struct rec_exit r;

	memset(&r, 0, sizeof(r));
	hdr(&r.h, REC_EXIT, pid, pid, ts, "app");
	r.exit_code = raw;
	model__record(f->m, &r, sizeof(r));
}

TEST(model_orphaned_threads_warn_after_grace)
{
	struct fixture f;
	const char *out;

	setup(&f);
	three_threads(&f);
	fork_rec(&f, 100, 200, 1000 * MS, true);
	model__tick(f.m, 1050 * MS);       /* within the grace period: nothing yet */
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
	CHECK(strstr(out, "{\"tid\":100,\"comm\":\"app\"},{\"tid\":102,\"comm\":\"worker-b\"}") != NULL);
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
	model__record(f.m, &r, sizeof(r));
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
	f.opts.target = TARGET_ALL;
	thread_new(&f, 200, 201, "t1");
	thread_new(&f, 200, 202, "t2");
	memset(&t, 0, sizeof(t));
	hdr(&t.h, REC_THREAD_EXIT, 200, 200, 1500 * MS, "true");
	t.h.flags = TEXIT_GROUP_EXIT | TEXIT_INITIATOR;
	model__record(f.m, &t, sizeof(t));
	t.h.tid = 201;
	t.h.flags = TEXIT_GROUP_EXIT;
	model__record(f.m, &t, sizeof(t));
	t.h.tid = 202;
	model__record(f.m, &t, sizeof(t));
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
