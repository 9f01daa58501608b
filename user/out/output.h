/* Where events go: the chosen writer (human, JSON, line protocol), the
 * InfluxDB exporter, the end-of-run summary and the --fail-on verdict. */
#ifndef FT_OUTPUT_H
#define FT_OUTPUT_H

#include <stdio.h>
#include "out/event.h"
#include "cli/options.h"

struct output;

/* Opens -o FILE (or stdout) and the exporter. NULL after one line on stderr. */
struct output *output__new(const struct options *opts);
/* Writes one event to every sink. ev->time_ns 0 means "now". */
void output__emit(struct output *out, struct event *ev);
/* Flushes sinks; prints the human summary (human format only). */
void output__finish(struct output *out);
/* True when --fail-on was given and an event that bad was emitted. */
bool output__failed(const struct output *out);
void output__free(struct output *out);
/* The stream the chosen writer writes to (stdout or -o FILE). */
FILE *output__stream(struct output *out);

/* Writers: one per format, each a pure function of the event. */
void out_json_write(FILE *f, const struct event *ev);
void out_human_write(FILE *f, const struct event *ev, bool color);
/* Current CLOCK_REALTIME in ns. */
uint64_t now_realtime_ns(void);

#endif /* FT_OUTPUT_H */
