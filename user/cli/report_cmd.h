/* forktrace report, and the page of a live run (--report=FILE). */
#ifndef FT_REPORT_CMD_H
#define FT_REPORT_CMD_H

#include <stdio.h>
#include "cli/options.h"

/* forktrace report EVENTS.jsonl|- [-o FILE]: the exit status (0, 1, 2). */
int report_run(const struct options *o);

struct report_file;

/* --report=FILE: the page's file, created when tracing starts so that a bad
 * path fails at once. NULL (no --report) or the file; *failed after one line
 * on stderr. */
struct report_file *report_live_open(const struct options *o, int *failed);
/* Writes the page from the run's recording (rewound here) and puts it in
 * place; frees rf. 0, or 1 after one line on stderr. */
int report_live_finish(struct report_file *rf, FILE *recording, const struct options *o);

#endif /* FT_REPORT_CMD_H */
