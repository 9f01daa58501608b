/* The command line → struct options. Usage errors are exit status 2. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "cli/options.h"

#define DEFAULT_GRACE_NS (100ULL * 1000 * 1000)
#define DEFAULT_SCAN_LIMIT (4ULL << 30)
#define DEFAULT_STACK_COPY (16ULL << 10) /* deep Python stacks need it (STACKS.md) */

enum long_only {
	OPT_JSON = 256,
	OPT_FORMAT,
	OPT_LOCKS,
	OPT_STACKS,
	OPT_GRACE,
	OPT_SCAN_LIMIT,
	OPT_INFLUX,
	OPT_INFLUX_DB,
	OPT_INFLUX_USER,
	OPT_INFLUX_ORG,
	OPT_INFLUX_BUCKET,
	OPT_FAIL_ON,
	OPT_DEBUG,
	OPT_PYTHON,
	OPT_REPORT,
	OPT_STACK_SIZE,
	OPT_STACK_THREADS,
	OPT_SCAN_THREADS,
	OPT_SCAN_QUEUE,
};

static const struct option long_opts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "locks", required_argument, NULL, OPT_LOCKS },
	{ "stacks", required_argument, NULL, OPT_STACKS },
	{ "stack-size", required_argument, NULL, OPT_STACK_SIZE },
	{ "stack-threads", required_argument, NULL, OPT_STACK_THREADS },
	{ "grace", required_argument, NULL, OPT_GRACE },
	{ "scan-limit", required_argument, NULL, OPT_SCAN_LIMIT },
	{ "scan-threads", required_argument, NULL, OPT_SCAN_THREADS },
	{ "scan-queue", required_argument, NULL, OPT_SCAN_QUEUE },
	{ "influx", required_argument, NULL, OPT_INFLUX },
	{ "influx-db", required_argument, NULL, OPT_INFLUX_DB },
	{ "influx-user", required_argument, NULL, OPT_INFLUX_USER },
	{ "influx-org", required_argument, NULL, OPT_INFLUX_ORG },
	{ "influx-bucket", required_argument, NULL, OPT_INFLUX_BUCKET },
	{ "fail-on", required_argument, NULL, OPT_FAIL_ON },
	{ "debug", no_argument, NULL, OPT_DEBUG },
	{ "python", required_argument, NULL, OPT_PYTHON },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

void options_usage(FILE *f)
{
	fputs("Usage:\n"
	      "  sudo forktrace -p PID[,PID...] [OPTIONS]      trace running processes and their descendants\n"
	      "  sudo forktrace [OPTIONS] -- COMMAND [ARG...]  start COMMAND and trace it\n"
	      "  sudo forktrace -a [OPTIONS]                   trace every process on the host\n"
	      "  sudo forktrace diagnose PID [--json]          explain why a hung process is stuck\n"
	      "  forktrace check                               say what this host supports\n"
	      "  forktrace report EVENTS.jsonl [-o FILE.html]  draw a --json recording as one HTML page\n"
	      "\n"
	      "Options:\n"
	      "  --json                   JSON Lines on stdout, one event per line\n"
	      "  --format=human|json|influx\n"
	      "  -o FILE                  write the output to FILE\n"
	      "  -v, -q                   also show info events / show only errors\n"
	      "  --locks=scan|uprobe|futex|off   how locks are seen (default scan)\n"
	      "  --stacks=hazards|all|off        where stacks are read (default hazards: warnings and errors)\n"
	      "  --stack-size=SIZE        the forking thread's stack copied at a fork (4KiB-32KiB, default 16KiB)\n"
	      "  --stack-threads=N        the other threads unwound per fork, at most (1-64, default 64)\n"
	      "  --grace=DURATION         time a child may take to exec (default 100ms)\n"
	      "  --scan-limit=SIZE        memory read per fork in scan mode (default 4GiB)\n"
	      "  --scan-threads=N         threads that read forked children (1 to the CPUs, default\n"
	      "                           the CPUs, at most 4)\n"
	      "  --scan-queue=N           forks scanned or waiting at once (1-4096, default 64)\n"
	      "  --influx=URL             export events to InfluxDB (--influx-db, --influx-user,\n"
	      "                           --influx-org, --influx-bucket; INFLUX_TOKEN, INFLUX_PASSWORD)\n"
	      "  --fail-on=warning|error  exit 3 if such an event was seen\n"
	      "  -d DURATION              stop after DURATION\n"
	      "  -u USER                  run COMMAND as USER\n"
	      "  --python=on|off          read CPython's thread names and frames (default on)\n"
	      "  --report=FILE            also write the run's HTML picture to FILE when tracing ends\n"
	      "  --debug                  show libbpf's own log\n"
	      "  -h, -V                   help, version\n",
	      f);
}

const char *lock_mode_name(enum lock_mode mode)
{
	switch (mode) {
	case LOCKS_SCAN: return "scan";
	case LOCKS_UPROBE: return "uprobe";
	case LOCKS_FUTEX: return "futex";
	case LOCKS_OFF: return "off";
	}
	return "unknown";
}

/* Splits "NUMBER[SUFFIX]"; the number may be fractional. */
static int split_number(const char *s, double *num, const char **suffix)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	*num = strtod(s, &end);
	if (errno || end == s || !isfinite(*num) || *num < 0)
		return -1;
	*suffix = end;
	return 0;
}

struct unit {
	const char *suffix;
	double mult;
};

/* "NUMBER[SUFFIX]" with SUFFIX from units; the result must fit in 1e18. */
static int parse_scaled(const char *s, const struct unit *units, size_t n, uint64_t *out)
{
	const char *suffix;
	double num;

	if (split_number(s, &num, &suffix))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(suffix, units[i].suffix) == 0) {
			double v = num * units[i].mult;

			if (v > 1e18)
				return -1;
			*out = (uint64_t)v;
			return 0;
		}
	}
	return -1;
}

int parse_duration(const char *s, uint64_t *ns)
{
	static const struct unit units[] = {
		{ "", 1e9 },  { "ns", 1 },   { "us", 1e3 },   { "ms", 1e6 },
		{ "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
	};

	return parse_scaled(s, units, sizeof(units) / sizeof(units[0]), ns);
}

int parse_size(const char *s, uint64_t *bytes)
{
	static const struct unit units[] = {
		{ "", 1 },
		{ "B", 1 },
		{ "k", 1024.0 },
		{ "K", 1024.0 },
		{ "KiB", 1024.0 },
		{ "KB", 1024.0 },
		{ "M", 1048576.0 },
		{ "MiB", 1048576.0 },
		{ "MB", 1048576.0 },
		{ "G", 1073741824.0 },
		{ "GiB", 1073741824.0 },
		{ "GB", 1073741824.0 },
		{ "T", 1099511627776.0 },
		{ "TiB", 1099511627776.0 },
		{ "TB", 1099511627776.0 },
	};

	return parse_scaled(s, units, sizeof(units) / sizeof(units[0]), bytes);
}

/* A whole number in [lo, hi]: 0, or -1. */
static int parse_count(const char *s, long lo, long hi, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < lo || n > hi)
		return -1;
	*out = (int)n;
	return 0;
}

static int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "forktrace: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " — see 'forktrace --help'\n");
	return 2;
}

/* A usage error whose message already says what to do. */
static int usage_fix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_fix(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "forktrace: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

static bool given(const char *s)
{
	return s && s[0];
}

/* A byte that would end or split an HTTP header line. */
static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* --influx=URL and the API it implies: all the exporter needs, nothing of the other API. */
static int check_influx(const struct influx_options *x)
{
	bool v2 = given(x->org) || given(x->bucket);
	const char *url = x->url;

	if (!url) {
		if (x->db || x->user || x->org || x->bucket)
			return usage_error("%s",
					   "--influx-db/-user/-org/-bucket need --influx=URL");
		return 0;
	}
	if (!given(url))
		return usage_fix("bad --influx '': no URL — give --influx=http://HOST:8086");
	if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
		return usage_fix(
			"bad --influx '%s': not an http:// or https:// URL — give the server's base URL, e.g. --influx=http://localhost:8086",
			url);
	if (strpbrk(url, "?#"))
		return usage_fix(
			"bad --influx '%s': the URL has a query — give the server's base URL only, e.g. --influx=http://localhost:8086, and the database with --influx-db",
			url);
	if (v2 && given(x->db))
		return usage_fix(
			"--influx-db is for InfluxDB 1.x, --influx-org/--influx-bucket for 2.x and 3.x — give one or the other");
	if (v2 && given(x->user))
		return usage_fix(
			"InfluxDB 2.x/3.x authenticate with a token, not --influx-user — drop --influx-user and export INFLUX_TOKEN");
	/* neither is echoed: a token is a secret, a user name may hold escapes */
	if (v2 && getenv("INFLUX_TOKEN") && has_control(getenv("INFLUX_TOKEN")))
		return usage_fix(
			"INFLUX_TOKEN holds a control character (a line break?) — export the token alone, e.g. INFLUX_TOKEN=\"$(tr -d '\\r\\n' < FILE)\"");
	if (x->user && has_control(x->user))
		return usage_fix(
			"bad --influx-user: it holds a control character — give the user name alone");
	if (v2 && !given(x->bucket))
		return usage_fix("InfluxDB 2.x/3.x need a bucket — add --influx-bucket=NAME");
	if (!v2 && !given(x->db))
		return usage_fix(
			"InfluxDB needs a database — add --influx-db=NAME (1.x), or --influx-org and --influx-bucket (2.x/3.x)");
	return 0;
}

/* "123,456" → pids; every entry a positive number. */
static int parse_pids(const char *s, struct options *o)
{
	const char *p = s;

	while (*p) {
		char *end;
		long v;

		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || end == p || v <= 0 || v > 0x7fffffff || (*end && *end != ','))
			return -1;
		if (o->npids == MAX_TARGET_PIDS)
			return -E2BIG;
		o->pids[o->npids++] = (int)v;
		p = *end ? end + 1 : end;
		if (*end == ',' && !*p)
			return -1;
	}
	return o->npids ? 0 : -1;
}

static int parse_choice(const char *arg, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(arg, names[i]) == 0)
			return i;
	return -1;
}

static int parse_one(int c, const char *arg, struct options *o)
{
	static const char *const formats[] = { "human", "json", "influx" };
	static const char *const locks[] = { "scan", "uprobe", "futex", "off" };
	static const char *const stacks[] = { "hazards", "all", "off" };
	static const char *const onoff[] = { "on", "off" };
	static const char *const fails[] = { "info", "warning", "error" };
	int v;

	switch (c) {
	case 'p':
		if ((v = parse_pids(arg, o)) == -E2BIG)
			return usage_fix("-p takes at most %d pids — give the parents: their"
					 " descendants are traced too",
					 MAX_TARGET_PIDS);
		if (v)
			return usage_fix(
				"bad -p '%.40s%s': want PID[,PID...] — see 'forktrace --help'", arg,
				strlen(arg) > 40 ? "..." : "");
		return 0;
	case 'a': o->target = TARGET_ALL; return 0;
	case 'o': o->output_path = arg; return 0;
	case 'v': o->verbosity = VERB_VERBOSE; return 0;
	case 'q': o->verbosity = VERB_QUIET; return 0;
	case 'u': o->run_as = arg; return 0;
	case 'h': o->command = CMD_HELP; return 0;
	case 'V': o->command = CMD_VERSION; return 0;
	case 'd':
		if (parse_duration(arg, &o->duration_ns) || !o->duration_ns)
			return usage_error("bad -d '%s': want a duration such as 10s or 500ms",
					   arg);
		return 0;
	case OPT_JSON: o->format = FORMAT_JSON; return 0;
	case OPT_FORMAT:
		if ((v = parse_choice(arg, formats, 3)) < 0)
			return usage_error("bad --format '%s': want human, json or influx", arg);
		o->format = v;
		return 0;
	case OPT_LOCKS:
		if ((v = parse_choice(arg, locks, 4)) < 0)
			return usage_error("bad --locks '%s': want scan, uprobe, futex or off",
					   arg);
		o->locks = v;
		return 0;
	case OPT_STACKS:
		if ((v = parse_choice(arg, stacks, 3)) < 0)
			return usage_error("bad --stacks '%s': want hazards, all or off", arg);
		o->stacks = v;
		return 0;
	case OPT_STACK_SIZE: {
		uint64_t size;

		/* whole pages, as the kernel side copies them */
		if (parse_size(arg, &size) || size < STACK_COPY_MIN || size > STACK_COPY_MAX ||
		    size % STACK_COPY_MIN)
			return usage_error("bad --stack-size '%s': want 4KiB to 32KiB in whole 4KiB"
					   " pages, such as 16KiB",
					   arg);
		o->stack_size = size;
		return 0;
	}
	case OPT_STACK_THREADS:
		if (parse_count(arg, 1, STACK_THREADS_MAX, &o->stack_threads))
			return usage_error("bad --stack-threads '%s': want 1 to 64", arg);
		return 0;
	case OPT_SCAN_THREADS:
		if (parse_count(arg, 1, online_cpus(), &o->scan_threads))
			return usage_fix("bad --scan-threads '%s': want 1 to %d (the CPUs) —"
					 " see 'forktrace --help'",
					 arg, online_cpus());
		return 0;
	case OPT_SCAN_QUEUE:
		if (parse_count(arg, 1, SCAN_QUEUE_MAX, &o->scan_queue))
			return usage_fix("bad --scan-queue '%s': want 1 to %d — see 'forktrace --help'",
					 arg, SCAN_QUEUE_MAX);
		return 0;
	case OPT_GRACE:
		if (parse_duration(arg, &o->grace_ns))
			return usage_error("bad --grace '%s': want a duration such as 100ms", arg);
		return 0;
	case OPT_SCAN_LIMIT:
		if (parse_size(arg, &o->scan_limit))
			return usage_error("bad --scan-limit '%s': want a size such as 4GiB", arg);
		return 0;
	case OPT_INFLUX: o->influx.url = arg; return 0;
	case OPT_INFLUX_DB: o->influx.db = arg; return 0;
	case OPT_INFLUX_USER: o->influx.user = arg; return 0;
	case OPT_INFLUX_ORG: o->influx.org = arg; return 0;
	case OPT_INFLUX_BUCKET: o->influx.bucket = arg; return 0;
	case OPT_FAIL_ON:
		if ((v = parse_choice(arg, fails, 3)) < 1)
			return usage_error("bad --fail-on '%s': want warning or error", arg);
		o->fail_on_set = true;
		o->fail_on = v;
		return 0;
	case OPT_DEBUG: o->debug = true; return 0;
	case OPT_PYTHON:
		if ((v = parse_choice(arg, onoff, 2)) < 0)
			return usage_error("bad --python '%s': want on or off", arg);
		o->no_python = v == 1;
		return 0;
	case OPT_REPORT:
		if (!*arg)
			return usage_error("%s", "--report needs a file name: --report=FILE.html");
		o->report_path = arg;
		return 0;
	}
	return 2;
}

/* report EVENTS.jsonl|- [-o FILE] */
static int parse_report(int argc, char **argv, struct options *o)
{
	o->command = CMD_REPORT;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc && argv[i + 1][0]) {
			o->output_path = argv[++i];
		} else if (strncmp(argv[i], "-o", 2) == 0 && argv[i][2]) {
			o->output_path = argv[i] + 2;
		} else if ((argv[i][0] != '-' || strcmp(argv[i], "-") == 0) && !o->report_input &&
			   argv[i][0]) {
			o->report_input = argv[i];
		} else {
			return usage_error(
				"report: unexpected '%s': want report EVENTS.jsonl [-o FILE.html]",
				argv[i]);
		}
	}
	if (!o->report_input)
		return usage_error(
			"%s",
			"report: missing EVENTS.jsonl (a forktrace --json recording, or - for stdin)");
	return 0;
}

/* diagnose PID [--json], check and report take their own few words. */
static int parse_subcommand(int argc, char **argv, struct options *o)
{
	const char *name = argv[0];

	if (strcmp(name, "report") == 0)
		return parse_report(argc, argv, o);

	if (strcmp(name, "check") == 0) {
		o->command = CMD_CHECK;
		for (int i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--json") == 0)
				o->format = FORMAT_JSON;
			else
				return usage_error("check: unexpected '%s'", argv[i]);
		}
		return 0;
	}
	o->command = CMD_DIAGNOSE;
	for (int i = 1; i < argc; i++) {
		char *end;
		long v;

		if (strcmp(argv[i], "--json") == 0) {
			o->format = FORMAT_JSON;
			continue;
		}
		if (strncmp(argv[i], "-o", 2) == 0 && i + 1 < argc && !argv[i][2]) {
			o->output_path = argv[++i];
			continue;
		}
		v = strtol(argv[i], &end, 10);
		if (*end || v <= 0 || v > 0x7fffffff || o->diagnose_pid)
			return usage_error("diagnose: unexpected '%s': want diagnose PID [--json]",
					   argv[i]);
		o->diagnose_pid = (int)v;
	}
	if (!o->diagnose_pid)
		return usage_error("%s: missing PID", "diagnose");
	return 0;
}

static void set_defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->command = CMD_TRACE;
	o->target = TARGET_PIDS;
	o->locks = LOCKS_SCAN;
	o->format = FORMAT_HUMAN;
	o->verbosity = VERB_NORMAL;
	o->grace_ns = DEFAULT_GRACE_NS;
	o->scan_limit = DEFAULT_SCAN_LIMIT;
	o->stack_size = DEFAULT_STACK_COPY;
	o->stack_threads = STACK_THREADS_MAX;
	o->scan_threads = online_cpus() < SCAN_THREADS_DEFAULT_MAX ? online_cpus()
								   : SCAN_THREADS_DEFAULT_MAX;
	o->scan_queue = SCAN_QUEUE_DEFAULT;
}

int options_parse(int argc, char **argv, struct options *o)
{
	bool all = false;
	int c, err;

	set_defaults(o);
	if (argc > 1 && (strcmp(argv[1], "diagnose") == 0 || strcmp(argv[1], "check") == 0 ||
			 strcmp(argv[1], "report") == 0))
		return parse_subcommand(argc - 1, argv + 1, o);

	opterr = 0;
	optind = 0; /* 0, not 1: glibc then also forgets a cluster it was inside */
	while ((c = getopt_long(argc, argv, "+p:ao:vqd:u:hV", long_opts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			if (optopt && optopt < 256)
				return usage_error(c == ':' ? "option -%s needs a value" :
							      "unknown option -%s",
						   (char[]){ (char)optopt, 0 });
			return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
		if (c == 'a')
			all = true;
		if ((err = parse_one(c, optarg, o)))
			return err;
	}
	if (o->command == CMD_HELP || o->command == CMD_VERSION)
		return 0;

	/* COMMAND follows "--" (getopt consumed it) or the first non-option */
	if (optind < argc) {
		o->argv = &argv[optind];
		o->target = TARGET_COMMAND;
	}
	if ((o->npids > 0) + all + (o->argv != NULL) != 1)
		return usage_error("%s",
				   "say what to trace: exactly one of -p PID, -a, or -- COMMAND");
	if (all)
		o->target = TARGET_ALL;
	if (o->locks == LOCKS_UPROBE && o->target == TARGET_ALL)
		return usage_error(
			"%s",
			"--locks=uprobe probes each traced process: use -p or -- COMMAND, not -a");
	if (o->run_as && o->target != TARGET_COMMAND)
		return usage_error("%s", "-u USER only applies to -- COMMAND");
	return check_influx(&o->influx);
}
