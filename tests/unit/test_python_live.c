/*
 * python/ on every interpreter installed here: each runs
 * tests/progs/py_names.py (threads named in ASCII, latin-1, UCS-2 and
 * emoji, one renamed after start, one asleep in sleep_here), which reports
 * its tids, names and the sleeper's line; py_attach and py_read_threads
 * must give exactly those names and, for the sleeper, sleep_here at that
 * file:line as the innermost Python frame. Needs root (/proc/PID/mem of a
 * child is readable to its parent anyway, but the test runs as the suite
 * does); a missing interpreter is a SKIP.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "python/python.h"
#include "unit.h"

#define PROG "tests/progs/py_names.py"
#define MAX_REPORTED 16

struct reported {
	int n;
	struct {
		int tid;
		char name[64];
	} t[MAX_REPORTED];
	int sleeper_tid, sleeper_line;
	char file[512];
	bool ready;
};

static void read_report(const char *path, struct reported *r)
{
	char line[640];
	FILE *f = fopen(path, "r");

	memset(r, 0, sizeof(*r));
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (strncmp(line, "thread=", 7) == 0 && r->n < MAX_REPORTED) {
			char *sp = strchr(line, ' ');

			if (!sp)
				continue;
			r->t[r->n].tid = atoi(line + 7);
			snprintf(r->t[r->n].name, sizeof(r->t[r->n].name), "%s", sp + 1);
			r->n++;
		} else if (strncmp(line, "sleeper=", 8) == 0) {
			sscanf(line + 8, "%d sleep_here %d", &r->sleeper_tid, &r->sleeper_line);
		} else if (strncmp(line, "file=", 5) == 0) {
			snprintf(r->file, sizeof(r->file), "%.500s", line + 5);
		} else if (strcmp(line, "ready=1") == 0) {
			r->ready = true;
		}
	}
	fclose(f);
}

static pid_t spawn(const char *py, const char *report)
{
	pid_t pid = fork();

	if (pid == 0) {
		setenv("FT_REPORT", report, 1);
		execl(py, py, PROG, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static const struct py_thread *by_tid(const struct py_thread *v, int n, int tid)
{
	for (int i = 0; i < n; i++)
		if (v[i].tid == tid)
			return &v[i];
	return NULL;
}

/* The checks on one running program: a reason on failure, "" when right. */
static void check_process(pid_t pid, const struct reported *r, const char *want_version, char *why,
			  size_t why_len)
{
	struct py_read_opts o = { .frames = true, .max_depth = 32 };
	struct py_read_stats st;
	struct py_thread *v = NULL;
	struct py_process *p;
	const struct py_thread *t;
	char err[256];
	int n = 0;

	p = py_attach(pid, err, sizeof(err));
	if (!p) {
		snprintf(why, why_len, "py_attach: \"%s\"", err);
		return;
	}
	if (strncmp(py_version(p), want_version, strlen(want_version)) != 0) {
		snprintf(why, why_len, "version %s, want %s", py_version(p), want_version);
		goto out;
	}
	n = py_read_threads(p, pid, NULL, 0, &o, &v, &st);
	if (n != r->n) {
		snprintf(why, why_len, "%d threads read, %d reported (invalid %d)", n, r->n,
			 st.invalid);
		goto out;
	}
	for (int i = 0; i < r->n; i++) {
		t = by_tid(v, n, r->t[i].tid);
		if (!t || strcmp(t->name, r->t[i].name) != 0) {
			snprintf(why, why_len, "tid %d: name \"%s\", want \"%s\"", r->t[i].tid,
				 t ? t->name : "(missing)", r->t[i].name);
			goto out;
		}
	}
	t = by_tid(v, n, r->sleeper_tid);
	if (!t || !t->stack || t->stack->count < 1) {
		snprintf(why, why_len, "the sleeper has no frames");
		goto out;
	}
	if (strcmp(t->stack->frames[0].func, "sleep_here") != 0 ||
	    strcmp(t->stack->frames[0].file, r->file) != 0 ||
	    t->stack->frames[0].line != r->sleeper_line) {
		snprintf(why, why_len, "sleeper in %s %s:%d, want sleep_here %s:%d",
			 t->stack->frames[0].func, t->stack->frames[0].file,
			 t->stack->frames[0].line, r->file, r->sleeper_line);
		goto out;
	}
	py_threads_free(v, n);
	v = NULL;
	/* only the threads asked for */
	n = py_read_threads(p, pid, &r->sleeper_tid, 1, &o, &v, &st);
	if (n != 1 || v[0].tid != r->sleeper_tid || strcmp(v[0].name, "sleeper") != 0) {
		snprintf(why, why_len, "asked for the sleeper only: %d threads", n);
		goto out;
	}
out:
	py_threads_free(v, n);
	py_detach(p);
}

/* "@X.Y.Z/bin/..." names a pyenv interpreter: under $PYENV_ROOT/versions
 * ($HOME/.pyenv when unset), where pyenv keeps them. */
static const char *interpreter_path(const char *py, char *buf, size_t size)
{
	const char *root = getenv("PYENV_ROOT"), *home = getenv("HOME");

	if (py[0] != '@')
		return py;
	if (root && root[0])
		snprintf(buf, size, "%s/versions/%s", root, py + 1);
	else
		snprintf(buf, size, "%s/.pyenv/versions/%s", home ? home : "/root", py + 1);
	return buf;
}

static void live(const char *py, const char *version, char *why, size_t why_len)
{
	char report[] = "/tmp/ft-py-names-XXXXXX", path[512];
	struct reported r;
	pid_t pid;
	int fd, status;

	py = interpreter_path(py, path, sizeof(path));
	if (geteuid() != 0)
		SKIP("needs root");
	if (access(py, X_OK) != 0) {
		snprintf(why, why_len, "SKIP %s is not installed", py);
		return;
	}
	fd = mkstemp(report);
	if (fd < 0)
		SKIP("cannot create a report file");
	close(fd);
	pid = spawn(py, report);
	CHECK(pid > 0);
	for (int i = 0; i < 1500; i++) { /* 15 s: a cold interpreter on a busy host */
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		read_report(report, &r);
		if (r.ready || waitpid(pid, &status, WNOHANG) == pid)
			break;
		nanosleep(&ts, NULL);
	}
	if (!r.ready)
		snprintf(why, why_len, "%s %s did not report ready", py, PROG);
	else
		check_process(pid, &r, version, why, why_len);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	unlink(report);
}

#define LIVE(name, path, version)                  \
	TEST(name)                                 \
	{                                          \
		live(path, version, why, why_len); \
	}

LIVE(python_live_debian_311, "/usr/bin/python3.11", "3.11")
LIVE(python_live_36, "@3.6.15/bin/python3.6", "3.6.15")
LIVE(python_live_37, "@3.7.16/bin/python3.7", "3.7.16")
LIVE(python_live_38, "@3.8.18/bin/python3.8", "3.8.18")
LIVE(python_live_39, "@3.9.18/bin/python3.9", "3.9.18")
LIVE(python_live_310, "@3.10.13/bin/python3.10", "3.10.13")
LIVE(python_live_311, "@3.11.7/bin/python3.11", "3.11.7")
LIVE(python_live_312, "@3.12.1/bin/python3.12", "3.12.1")
LIVE(python_live_313, "@3.13.0/bin/python3.13", "3.13.0")
