/* forktrace: which locks and threads each forked child was born without. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/check.h"
#include "cli/configs.h"
#include "cli/diagnose.h"
#include "cli/options.h"
#include "cli/report_cmd.h"
#include "cli/trace.h"
#include "out/output.h"
#include "version.h"

static int run_diagnose(const struct options *o)
{
	struct output_config cfg;
	struct output *out;
	int status, err;

	output_config_from(o, &cfg);
	out = output__new(&cfg);

	if (!out)
		return 1;
	status = diagnose_run(o, out);
	/* its events, and the explanation written beside them */
	err = output__error(out);
	errno = 0;
	if (!err && (fflush(output__stream(out)) == EOF || ferror(output__stream(out))))
		err = errno ? errno : EIO;
	if (err && err != EPIPE) {
		fprintf(stderr, "forktrace: cannot write the diagnosis to %s: %s\n",
			output__name(out), strerror(err));
		status = 1;
	}
	output__free(out);
	return status;
}

/* Descriptors 0-2 that were closed are opened on /dev/null before anything
 * else opens one, so that no descriptor of ours (an epoll, a BPF map)
 * becomes "stdout". True when stdout was closed. */
static bool stdio_reopen(void)
{
	bool stdout_closed = false;

	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (fd == 1)
			stdout_closed = true;
		/* the lowest free descriptor: fd itself */
		if (open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			exit(1);
	}
	return stdout_closed;
}

/* What could not be written to stdout fails the command too (check, help). */
static int stdout_status(int status)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return status;
	if (errno == EPIPE)
		return status;
	fprintf(stderr, "forktrace: cannot write to stdout: %s\n", strerror(errno ? errno : EIO));
	return 1;
}

int main(int argc, char **argv)
{
	bool stdout_closed = stdio_reopen();
	struct options opts;
	int err = options_parse(argc, argv, &opts);

	if (err)
		return err;
	if (stdout_closed && !opts.output_path && opts.command != CMD_HELP &&
	    opts.command != CMD_VERSION) {
		fprintf(stderr, "forktrace: cannot write the events: stdout is closed —"
				" redirect it or give -o FILE\n");
		return 1;
	}
	switch (opts.command) {
	case CMD_HELP: options_usage(stdout); return stdout_status(0);
	case CMD_VERSION:
		printf("forktrace %s%s\n", FT_VERSION, FT_GIT_SUFFIX);
		return stdout_status(0);
	case CMD_CHECK: return stdout_status(check_run(&opts));
	case CMD_DIAGNOSE: return run_diagnose(&opts);
	case CMD_REPORT: return report_run(&opts);
	case CMD_TRACE: break;
	}
	return trace_run(&opts);
}
