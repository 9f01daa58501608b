/*
 * The fan-out: every event passes through output__emit() and goes to the
 * chosen writer, the InfluxDB exporter and the run's summary.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "out/human.h"
#include "out/influx.h"
#include "out/json.h"
#include "out/lineproto.h"
#include "out/output.h"
#include "out/summary.h"
#include "util/clock.h"

struct output {
	FILE *f;
	const char *path; /* NULL: stdout */
	bool close_f;
	struct human_opts human;
	enum out_format format;
	enum verbosity verbosity;
	bool fail_on_set;
	enum severity fail_on;
	struct influx *influx;
	struct lineproto_stamps stamps;
	char host[256];
	struct summary summary;
	FILE *record;
	int write_errno; /* the first write that failed; 0: none */
};

struct output *output__new(const struct output_config *cfg)
{
	struct output *out = calloc(1, sizeof(*out));
	char err[512];

	if (!out) {
		fprintf(stderr, "forktrace: cannot allocate memory\n");
		return NULL;
	}
	out->f = stdout;
	if (cfg->path) {
		out->f = fopen(cfg->path, "we");
		if (!out->f) {
			fprintf(stderr,
				"forktrace: cannot open %s: %s — check the path and permissions\n",
				cfg->path, strerror(errno));
			free(out);
			return NULL;
		}
		out->close_f = true;
		out->path = cfg->path;
	}
	out->format = cfg->format;
	out->verbosity = cfg->verbosity;
	out->fail_on_set = cfg->fail_on_set;
	out->fail_on = cfg->fail_on;
	out->human.color = out->format == FORMAT_HUMAN && human_wants_color(out->f);
	out->human.all_frames = out->verbosity == VERB_VERBOSE;
	lineproto_host_tag(out->host, sizeof(out->host));
	if (cfg->record && !(out->record = tmpfile())) {
		fprintf(stderr, "forktrace: cannot create a temporary file for --report: %s\n",
			strerror(errno));
		output__free(out);
		return NULL;
	}
	if (cfg->influx.url) {
		out->influx = influx__new(&cfg->influx, err, sizeof(err));
		if (!out->influx) {
			fprintf(stderr, "%s\n", err);
			output__free(out);
			return NULL;
		}
	}
	return out;
}

static bool human_shows(const struct output *out, const struct event *ev)
{
	switch (out->verbosity) {
	case VERB_QUIET: return ev->severity == SEV_ERROR;
	case VERB_VERBOSE: return true;
	case VERB_NORMAL: break;
	}
	/* lifecycle info is noise by default; info about a hazard is not, but a
	 * Python Lock held by nobody known (most are idle threads' own waiters)
	 * and a candidate nothing corroborates matter only once a child blocks
	 * on them */
	if (ev->kind == EV_HELD_LOCK)
		return !(ev->held_lock.found_by == FOUND_BY_PYTHON && !ev->held_lock.holder_tid) &&
		       ev->held_lock.corroborated != TRI_FALSE;
	return ev->severity != SEV_INFO || ev->kind == EV_ATTACH || ev->kind == EV_DETACH ||
	       ev->kind == EV_ORPHANED_THREADS;
}

/* Flushes the writer's stream and keeps the first error: what cannot be
 * written is said once at the end, never lost silently. */
static void note_write(struct output *out)
{
	errno = 0;
	if ((fflush(out->f) == EOF || ferror(out->f)) && !out->write_errno)
		out->write_errno = errno ? errno : EIO;
}

void output__emit(struct output *out, struct event *ev)
{
	char line[LINEPROTO_MAX_LINE];
	int n;

	if (!ev->time_ns)
		ev->time_ns = realtime_ns();
	/* events of one series at one instant (a fork's held locks) would
	 * overwrite each other in InfluxDB: each gets its own nanosecond, the
	 * same in every sink */
	ev->time_ns = lineproto_unique_time(&out->stamps, ev);
	summary_add(&out->summary, ev);

	switch (out->format) {
	case FORMAT_JSON: out_json_write(out->f, ev); break;
	case FORMAT_INFLUX:
		n = lineproto_format(ev, out->host, line, sizeof(line));
		if (n > 0)
			fwrite(line, 1, n, out->f);
		break;
	case FORMAT_HUMAN:
		if (human_shows(out, ev))
			out_human_write(out->f, ev, &out->human);
		break;
	}
	/* a live tool: each event is visible as it happens */
	note_write(out);
	if (out->influx)
		influx__push(out->influx, ev);
	if (out->record)
		out_json_write(out->record, ev);
}

void output__scan_tally(struct output *out, uint64_t gone, uint64_t busy)
{
	out->summary.scans_gone = gone;
	out->summary.scans_busy = busy;
}

void output__finish(struct output *out)
{
	struct influx_stats st;

	if (out->format == FORMAT_HUMAN && !out->write_errno)
		summary_print(&out->summary, out->f, out->human.color);
	if (out->influx) {
		/* flushes what is buffered, within the exporter's deadline */
		influx__close_stats(out->influx, &st);
		out->influx = NULL;
		/* the export tally goes to stderr in machine formats, stdout stays parseable */
		summary_print_influx(&st, out->format == FORMAT_HUMAN ? out->f : stderr);
	}
	note_write(out);
}

int output__error(const struct output *out)
{
	return out->write_errno;
}

const char *output__name(const struct output *out)
{
	return out->path ? out->path : "stdout";
}

bool output__failed(const struct output *out)
{
	return out->fail_on_set && summary_saw(&out->summary, out->fail_on);
}

void output__free(struct output *out)
{
	if (!out)
		return;
	if (out->influx)
		influx__close(out->influx);
	if (out->close_f)
		fclose(out->f);
	if (out->record)
		fclose(out->record);
	free(out);
}

FILE *output__recording(struct output *out)
{
	return out->record;
}

FILE *output__stream(struct output *out)
{
	return out->f;
}
