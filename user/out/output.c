/*
 * Where events go: the chosen writer, the InfluxDB exporter, the summary
 * and the --fail-on verdict. Every event passes through output__emit().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "out/human.h"
#include "out/influx.h"
#include "out/lineproto.h"
#include "out/output.h"

#define SUMMARY_PROCS 32

struct proc_tally {
	int pid;
	char comm[EV_COMM_LEN];
	int hazards;
};

struct output {
	FILE *f;
	bool close_f;
	bool color;
	enum out_format format;
	enum verbosity verbosity;
	bool fail_on_set;
	enum severity fail_on;
	bool failed;
	struct influx *influx;
	struct lineproto_stamps stamps;
	char host[256];
	/* the summary */
	uint64_t by_kind[EV__COUNT];
	uint64_t hazards_by_kind[EV__COUNT];
	uint64_t lost;
	struct proc_tally procs[SUMMARY_PROCS];
	int nprocs;
	uint64_t other_proc_hazards;
};

uint64_t now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool want_color(FILE *f)
{
	const char *no = getenv("NO_COLOR");
	const char *term = getenv("TERM");

	if (no && *no)
		return false;
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return isatty(fileno(f));
}

struct output *output__new(const struct options *opts)
{
	struct output *out = calloc(1, sizeof(*out));
	char err[512];

	if (!out) {
		fprintf(stderr, "forktrace: cannot allocate memory\n");
		return NULL;
	}
	out->f = stdout;
	if (opts->output_path) {
		out->f = fopen(opts->output_path, "we");
		if (!out->f) {
			fprintf(stderr, "forktrace: cannot open %s: %s — check the path and permissions\n",
				opts->output_path, strerror(errno));
			free(out);
			return NULL;
		}
		out->close_f = true;
	}
	out->format = opts->format;
	out->verbosity = opts->verbosity;
	out->fail_on_set = opts->fail_on_set;
	out->fail_on = opts->fail_on;
	out->color = out->format == FORMAT_HUMAN && want_color(out->f);
	if (gethostname(out->host, sizeof(out->host) - 1))
		strcpy(out->host, "unknown");
	if (opts->influx.url) {
		out->influx = influx__new(&opts->influx, err, sizeof(err));
		if (!out->influx) {
			fprintf(stderr, "%s\n", err);
			output__free(out);
			return NULL;
		}
	}
	return out;
}

static bool is_hazard(const struct event *ev)
{
	return ev->severity != SEV_INFO && ev->kind != EV_LOST_EVENTS && ev->kind != EV_SCAN;
}

static void tally(struct output *out, const struct event *ev)
{
	out->by_kind[ev->kind]++;
	if (ev->kind == EV_LOST_EVENTS)
		out->lost += ev->lost.count;
	if (!is_hazard(ev))
		return;
	out->hazards_by_kind[ev->kind]++;
	for (int i = 0; i < out->nprocs; i++) {
		if (out->procs[i].pid == ev->pid) {
			out->procs[i].hazards++;
			return;
		}
	}
	if (out->nprocs == SUMMARY_PROCS) {
		out->other_proc_hazards++;
		return;
	}
	out->procs[out->nprocs].pid = ev->pid;
	memcpy(out->procs[out->nprocs].comm, ev->comm, EV_COMM_LEN);
	out->procs[out->nprocs++].hazards = 1;
}

static bool human_shows(const struct output *out, const struct event *ev)
{
	switch (out->verbosity) {
	case VERB_QUIET: return ev->severity == SEV_ERROR;
	case VERB_VERBOSE: return true;
	case VERB_NORMAL: break;
	}
	/* lifecycle info is noise by default; info about a hazard is not */
	return ev->severity != SEV_INFO || ev->kind == EV_ATTACH || ev->kind == EV_DETACH ||
	       ev->kind == EV_ORPHANED_THREADS || ev->kind == EV_HELD_LOCK;
}

void output__emit(struct output *out, struct event *ev)
{
	char line[LINEPROTO_MAX_LINE];
	int n;

	if (!ev->time_ns)
		ev->time_ns = now_realtime_ns();
	/* events of one series at one instant (a fork's held locks) would
	 * overwrite each other in InfluxDB: each gets its own nanosecond */
	ev->time_ns = lineproto_unique_time(&out->stamps, ev);
	tally(out, ev);
	if (out->fail_on_set && ev->severity >= out->fail_on)
		out->failed = true;

	switch (out->format) {
	case FORMAT_JSON:
		out_json_write(out->f, ev);
		break;
	case FORMAT_INFLUX:
		n = lineproto_format(ev, out->host, line, sizeof(line));
		if (n > 0)
			fwrite(line, 1, n, out->f);
		break;
	case FORMAT_HUMAN:
		if (human_shows(out, ev))
			out_human_write(out->f, ev, out->color);
		break;
	}
	/* a live tool: each event is visible as it happens */
	fflush(out->f);
	if (out->influx)
		influx__push(out->influx, ev);
}

static void print_summary(struct output *out)
{
	FILE *f = out->f;
	uint64_t hazards = 0;
	char comm[EV_COMM_LEN * 4 + 1];

	for (int k = 0; k < EV__COUNT; k++)
		hazards += out->hazards_by_kind[k];
	fprintf(f, "\n%sforktrace summary%s: %llu fork%s, %llu exec%s, %llu hazard%s, %llu lost record%s\n",
		out->color ? "\033[1m" : "", out->color ? "\033[0m" : "",
		(unsigned long long)out->by_kind[EV_FORK], out->by_kind[EV_FORK] == 1 ? "" : "s",
		(unsigned long long)out->by_kind[EV_EXEC], out->by_kind[EV_EXEC] == 1 ? "" : "s",
		(unsigned long long)hazards, hazards == 1 ? "" : "s",
		(unsigned long long)out->lost, out->lost == 1 ? "" : "s");
	for (int k = 0; k < EV__COUNT; k++)
		if (out->hazards_by_kind[k])
			fprintf(f, "  %-18s %llu\n", event_kind_name(k),
				(unsigned long long)out->hazards_by_kind[k]);
	if (out->nprocs)
		fprintf(f, "  by process:\n");
	for (int i = 0; i < out->nprocs; i++) {
		sanitize(out->procs[i].comm, comm, sizeof(comm));
		fprintf(f, "    %-16s pid %-8d %d\n", comm, out->procs[i].pid, out->procs[i].hazards);
	}
	if (out->other_proc_hazards)
		fprintf(f, "    (other processes)       %llu\n", (unsigned long long)out->other_proc_hazards);
}

static void print_influx_summary(struct output *out, const struct influx_stats *st0)
{
	const struct influx_stats st = *st0;
	/* the export tally goes to stderr in machine formats, stdout stays parseable */
	FILE *f = out->format == FORMAT_HUMAN ? out->f : stderr;

	fprintf(f, "influx: %llu point%s delivered, %llu retried, %llu dropped\n",
		(unsigned long long)st.delivered, st.delivered == 1 ? "" : "s",
		(unsigned long long)st.retried, (unsigned long long)st.dropped);
}

void output__finish(struct output *out)
{
	struct influx_stats st;

	if (out->format == FORMAT_HUMAN)
		print_summary(out);
	if (out->influx) {
		/* flushes what is buffered, within the exporter's deadline */
		influx__close_stats(out->influx, &st);
		out->influx = NULL;
		print_influx_summary(out, &st);
	}
	fflush(out->f);
}

bool output__failed(const struct output *out)
{
	return out->failed;
}

void output__free(struct output *out)
{
	if (!out)
		return;
	if (out->influx)
		influx__close(out->influx);
	if (out->close_f)
		fclose(out->f);
	free(out);
}

FILE *output__stream(struct output *out)
{
	return out->f;
}
