/* What a run saw, counted as its events pass, and the human summary of it
 * printed when tracing ends. */
#ifndef FT_SUMMARY_H
#define FT_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "out/event.h"
#include "out/influx.h"

#define SUMMARY_PROCS 32

struct summary {
	uint64_t by_kind[EV__COUNT];
	uint64_t hazards_by_kind[EV__COUNT];
	uint64_t by_severity[SEV_ERROR + 1];
	uint64_t lost; /* kernel records the lost_events said were dropped */
	struct {
		int pid;
		char comm[EV_COMM_LEN];
		int hazards;
	} procs[SUMMARY_PROCS]; /* the first processes with hazards, in order */
	int nprocs;
	uint64_t other_proc_hazards; /* hazards of the processes past procs[] */
	uint64_t scans_gone, scans_busy; /* forks not scanned, and why */
};

/* Counts one event. Zero-initialise the summary first. */
void summary_add(struct summary *s, const struct event *ev);
/* True when an event of severity sev or worse was counted. */
bool summary_saw(const struct summary *s, enum severity sev);
/* "forktrace summary: ..." and the hazards by kind and by process, and the
 * forks not scanned when there were any. */
void summary_print(const struct summary *s, FILE *f, bool color);
/* "influx: N points delivered, N retried, N dropped". */
void summary_print_influx(const struct influx_stats *st, FILE *f);

#endif /* FT_SUMMARY_H */
