/* Where events go: the chosen writer (human, JSON, line protocol) and the
 * InfluxDB exporter; at the end, the summary and the --fail-on verdict. */
#ifndef FT_OUTPUT_H
#define FT_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include "out/event.h"
#include "out/influx.h"

enum out_format { FORMAT_HUMAN, FORMAT_JSON, FORMAT_INFLUX };
enum verbosity { VERB_QUIET, VERB_NORMAL, VERB_VERBOSE };

struct output_config {
	enum out_format format;
	enum verbosity verbosity; /* shapes the human output only */
	const char *path;	  /* NULL: stdout */
	bool fail_on_set;
	enum severity fail_on;	     /* with fail_on_set: the severity that fails the run */
	struct influx_config influx; /* influx.url NULL: no export */
	bool record;		     /* also keep every event as a JSON line (--report) */
};

struct output;

/* Opens cfg->path (or stdout) and the exporter; cfg's strings must outlive
 * the output. NULL after one line on stderr. */
struct output *output__new(const struct output_config *cfg);
/* Writes one event to every sink. ev->time_ns 0 means "now"; on return it
 * holds the time every sink was given. */
void output__emit(struct output *out, struct event *ev);
/* Flushes sinks; prints the human summary (human format only). */
/* Forks the scan did not read (for the summary): the child was gone first,
 * every scanner was busy. */
void output__scan_tally(struct output *out, uint64_t gone, uint64_t busy);
void output__finish(struct output *out);
/* The errno of the first write to the stream that failed, 0 if none: the
 * caller stops and says so (EPIPE: the reader went away). */
int output__error(const struct output *out);
/* The stream's name for messages: the -o path or "stdout". */
const char *output__name(const struct output *out);
/* True when --fail-on was given and an event that bad was emitted. */
bool output__failed(const struct output *out);
void output__free(struct output *out);
/* With cfg->record: every event emitted so far as JSON Lines, in an unlinked
 * temporary file (the caller rewinds it); else NULL. */
FILE *output__recording(struct output *out);
/* The stream the chosen writer writes to (stdout or the -o file). */
FILE *output__stream(struct output *out);

#endif /* FT_OUTPUT_H */
