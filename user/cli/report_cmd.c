/* forktrace report: a recording in, the page out; the same page at the end of a live run. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "cli/report_cmd.h"
#include "out/strbuf.h"
#include "report/report.h"

/* Says what the page left out: the recording may be cut or not forktrace's at all. */
static int tell(const char *input, const struct report_stats *st)
{
	if (st->lines && !st->events) {
		fprintf(stderr,
			"forktrace: report: no line of %s is a JSON object — give the output of forktrace --json\n",
			input);
		return 1;
	}
	if (st->malformed)
		fprintf(stderr,
			"forktrace: report: %llu of %llu lines of %s are not JSON objects and were left out (the first is line %llu); the page says so\n",
			st->malformed, st->lines, input, st->first_malformed);
	return 0;
}

int report_run(const struct options *o)
{
	const char *input = o->report_input;
	bool to_stdout = !o->output_path || strcmp(o->output_path, "-") == 0;
	bool from_stdin = strcmp(input, "-") == 0;
	const char *name = from_stdin ? "stdin" : input;
	struct report_file *rf = NULL;
	struct report_stats st;
	FILE *in, *out = stdout;
	char err[512];
	int status;

	if (to_stdout && isatty(STDOUT_FILENO)) {
		fprintf(stderr,
			"forktrace: report: not writing a page of HTML to a terminal — give -o FILE.html\n");
		return 2;
	}
	in = from_stdin ? stdin : fopen(input, "re");
	if (!in) {
		fprintf(stderr,
			"forktrace: report: cannot open %s: %s — give a forktrace --json recording\n",
			input, strerror(errno));
		return 1;
	}
	if (!to_stdout) {
		rf = report_file__open(o->output_path, err, sizeof(err));
		if (!rf) {
			fprintf(stderr, "forktrace: report: %s\n", err);
			status = 1;
			goto cleanup;
		}
		out = report_file__stream(rf);
	}
	if (report_write(in, out, strrchr(name, '/') ? strrchr(name, '/') + 1 : name, &st)) {
		fprintf(stderr, "forktrace: report: cannot read %s: %s\n", input, strerror(errno));
		status = 1;
		goto cleanup;
	}
	status = tell(name, &st);
	if (status)
		goto cleanup;
	if (rf) {
		status = report_file__commit(rf, err, sizeof(err)) ? 1 : 0;
		rf = NULL;
		if (status)
			fprintf(stderr, "forktrace: report: %s\n", err);
	} else if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "forktrace: report: cannot write the page to stdout\n");
		status = 1;
	}
cleanup:
	report_file__abort(rf);
	if (!from_stdin)
		fclose(in);
	return status;
}

struct report_file *report_live_open(const struct options *o, int *failed)
{
	struct report_file *rf;
	char err[512];

	*failed = 0;
	if (!o->report_path)
		return NULL;
	rf = report_file__open(o->report_path, err, sizeof(err));
	if (!rf) {
		fprintf(stderr, "forktrace: --report: %s\n", err);
		*failed = 1;
	}
	return rf;
}

/* The page's title: what was traced, as it was asked for. */
static void run_title(const struct options *o, struct strbuf *sb)
{
	sb_puts(sb, "forktrace");
	if (o->target == TARGET_ALL)
		sb_puts(sb, " -a");
	for (int i = 0; o->target == TARGET_PIDS && i < o->npids; i++)
		sb_printf(sb, "%s%d", i ? "," : " -p ", o->pids[i]);
	if (o->target == TARGET_COMMAND) {
		sb_puts(sb, " --");
		for (char **a = o->argv; *a; a++)
			sb_printf(sb, " %s", *a);
	}
}

int report_live_finish(struct report_file *rf, FILE *recording, const struct options *o)
{
	struct report_stats st;
	struct strbuf title;
	char err[512];
	int status = 0;

	if (!rf)
		return 0;
	if (!recording || fflush(recording) || fseek(recording, 0, SEEK_SET)) {
		fprintf(stderr,
			"forktrace: --report: the run's events were not kept — %s not written\n",
			o->report_path);
		report_file__abort(rf);
		return 1;
	}
	sb_init(&title);
	run_title(o, &title);
	if (report_write(recording, report_file__stream(rf), title.oom ? "forktrace" : title.s,
			 &st)) {
		fprintf(stderr, "forktrace: --report: cannot read back the run's events: %s\n",
			strerror(errno));
		report_file__abort(rf);
		status = 1;
	} else if (report_file__commit(rf, err, sizeof(err))) {
		fprintf(stderr, "forktrace: --report: %s\n", err);
		status = 1;
	}
	sb_free(&title);
	return status;
}
