/* `forktrace check`: what this host supports and what is missing. */
#ifndef FT_CHECK_H
#define FT_CHECK_H

#include "cli/options.h"

/*
 * Prints one line per capability, or with --json one JSON object (each
 * check's name, ok and detail, and an overall ok); 0 when tracing can
 * work, 1 if not.
 */
int check_run(const struct options *opts);

#endif
