/* The tracing command: -p, -a and -- COMMAND. */
#ifndef FT_TRACE_H
#define FT_TRACE_H

#include "cli/options.h"

/* Runs a tracing session to its end; returns the process exit status. */
int trace_run(const struct options *opts);

#endif
