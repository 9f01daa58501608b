/* forktrace: which locks and threads each forked child was born without. */
#include <stdio.h>
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
	int status;

	output_config_from(o, &cfg);
	out = output__new(&cfg);

	if (!out)
		return 1;
	status = diagnose_run(o, out);
	output__free(out);
	return status;
}

int main(int argc, char **argv)
{
	struct options opts;
	int err = options_parse(argc, argv, &opts);

	if (err)
		return err;
	switch (opts.command) {
	case CMD_HELP: options_usage(stdout); return 0;
	case CMD_VERSION: printf("forktrace %s%s\n", FT_VERSION, FT_GIT_SUFFIX); return 0;
	case CMD_CHECK: return check_run(&opts);
	case CMD_DIAGNOSE: return run_diagnose(&opts);
	case CMD_REPORT: return report_run(&opts);
	case CMD_TRACE: break;
	}
	return trace_run(&opts);
}
