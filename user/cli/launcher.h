/* Starting `-- COMMAND`: held before exec until the tracer is attached, so
 * that not even its first fork is missed. */
#ifndef FT_LAUNCHER_H
#define FT_LAUNCHER_H

#include <sys/types.h>
#include "cli/options.h"

struct launch {
	pid_t pid;
	int release_fd; /* closing it lets the child exec */
	int error_fd;	/* the child writes errno here if exec fails; EOF on success */
};

/* Forks the held child (as the invoking user under sudo, or -u USER).
 * Returns 0, or 1 after one line on stderr. */
int launcher_start(const struct options *opts, struct launch *l);
/* Lets the child exec. Returns 0 once it exec'd, or 1 after one line on
 * stderr if it could not (the child is then reaped). */
int launcher_release(struct launch *l, const char *command);
/* Kills and reaps a child that was never released. */
void launcher_abort(struct launch *l);

#endif
