/* The command line, parsed into one struct. */
#ifndef FT_OPTIONS_H
#define FT_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "out/event.h"
#include "out/output.h"

enum ft_command { CMD_TRACE, CMD_DIAGNOSE, CMD_CHECK, CMD_REPORT, CMD_HELP, CMD_VERSION };
enum target_mode { TARGET_PIDS, TARGET_COMMAND, TARGET_ALL };
enum lock_mode { LOCKS_SCAN, LOCKS_UPROBE, LOCKS_FUTEX, LOCKS_OFF };
enum stacks_mode { STACKS_HAZARDS, STACKS_ALL, STACKS_OFF };
/* the bounds of --stack-size and --stack-threads (the kernel side's) */
#define STACK_COPY_MIN 4096ULL
#define STACK_COPY_MAX (8 * STACK_COPY_MIN)
#define STACK_THREADS_MAX 64
#define SCAN_THREADS_DEFAULT_MAX 4 /* more read no faster: the memory bus is shared */
#define SCAN_QUEUE_DEFAULT 64
#define SCAN_QUEUE_MAX 4096

#define MAX_TARGET_PIDS 64

struct influx_options {
	const char *url;    /* NULL: no export */
	const char *db;	    /* 1.x: database */
	const char *user;   /* 1.x: user; password from INFLUX_PASSWORD */
	const char *org;    /* 2.x: org; token from INFLUX_TOKEN */
	const char *bucket; /* 2.x: bucket */
};

struct options {
	enum ft_command command;
	enum target_mode target;
	int pids[MAX_TARGET_PIDS];
	int npids;
	char **argv;	    /* COMMAND and its arguments (TARGET_COMMAND) */
	const char *run_as; /* -u USER */
	enum lock_mode locks;
	enum out_format format;
	enum verbosity verbosity;
	const char *output_path; /* -o */
	enum stacks_mode stacks; /* --stacks */
	uint64_t stack_size;	 /* --stack-size: bytes, whole pages */
	int stack_threads;	 /* --stack-threads */
	int scan_threads;	 /* --scan-threads */
	int scan_queue;		 /* --scan-queue */
	bool no_python;		 /* --python=off: CPython is not read */
	bool debug;		 /* --debug: libbpf's own log */
	uint64_t grace_ns;
	uint64_t scan_limit;
	uint64_t duration_ns; /* -d; 0: until done */
	bool fail_on_set;
	enum severity fail_on;
	struct influx_options influx;
	int diagnose_pid;
	const char *report_input; /* report: the recording, "-" for stdin */
	const char *report_path;  /* --report=FILE: the run's page */
};

/*
 * Parse argv into opts. Returns 0 on success, or 2 after printing one line
 * on stderr for a usage error. Pointers in opts point into argv.
 */
int options_parse(int argc, char **argv, struct options *opts);
void options_usage(FILE *f);
const char *lock_mode_name(enum lock_mode mode);

/* "100ms", "2s", "1.5m", "250us", "1h"; a bare number is seconds. -1 on error. */
int parse_duration(const char *s, uint64_t *ns);
/* "4GiB", "512M", "1024k", "4096"; powers of 1024. -1 on error. */
int parse_size(const char *s, uint64_t *bytes);

#endif /* FT_OPTIONS_H */
