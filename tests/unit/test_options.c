/* Option, duration and size parsing. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/options.h"
#include "unit.h"

static int parse(struct options *o, int argc, char **argv)
{
	FILE *saved = stderr;
	int rc;

	/* usage errors print a line; keep the test output clean */
	stderr = fopen("/dev/null", "w");
	rc = options_parse(argc, argv, o);
	fclose(stderr);
	stderr = saved;
	return rc;
}

TEST(duration_units)
{
	uint64_t ns;

	CHECK(parse_duration("100ms", &ns) == 0 && ns == 100000000ULL);
	CHECK(parse_duration("2s", &ns) == 0 && ns == 2000000000ULL);
	CHECK(parse_duration("1.5m", &ns) == 0 && ns == 90000000000ULL);
	CHECK(parse_duration("250us", &ns) == 0 && ns == 250000ULL);
	CHECK(parse_duration("3", &ns) == 0 && ns == 3000000000ULL);
	CHECK(parse_duration("1h", &ns) == 0 && ns == 3600000000000ULL);
}

TEST(duration_rejects)
{
	uint64_t ns;

	CHECK(parse_duration("", &ns) == -1);
	CHECK(parse_duration("abc", &ns) == -1);
	CHECK(parse_duration("-1s", &ns) == -1);
	CHECK(parse_duration("10parsecs", &ns) == -1);
	CHECK(parse_duration("1e30s", &ns) == -1);
	CHECK(parse_duration("nan", &ns) == -1);
}

TEST(size_units)
{
	uint64_t b;

	CHECK(parse_size("4GiB", &b) == 0 && b == 4ULL << 30);
	CHECK(parse_size("512M", &b) == 0 && b == 512ULL << 20);
	CHECK(parse_size("1024k", &b) == 0 && b == 1024ULL << 10);
	CHECK(parse_size("4096", &b) == 0 && b == 4096);
	CHECK(parse_size("1.5G", &b) == 0 && b == 3ULL << 29);
	CHECK(parse_size("4 GiB", &b) == -1);
	CHECK(parse_size("GiB", &b) == -1);
}

TEST(pids_and_command)
{
	struct options o;
	char *a1[] = { "forktrace", "-p", "12,34", "--json", NULL };
	char *a2[] = { "forktrace", "--locks=uprobe", "--", "sleep", "1", NULL };
	char *a3[] = { "forktrace", "-a", "-d", "5s", "--fail-on=warning", NULL };

	CHECK(parse(&o, 4, a1) == 0);
	CHECK(o.target == TARGET_PIDS && o.npids == 2 && o.pids[0] == 12 && o.pids[1] == 34);
	CHECK(o.format == FORMAT_JSON);
	CHECK(parse(&o, 5, a2) == 0);
	CHECK(o.target == TARGET_COMMAND && o.locks == LOCKS_UPROBE);
	CHECK_STR(o.argv[0], "sleep");
	CHECK_STR(o.argv[1], "1");
	CHECK(parse(&o, 5, a3) == 0);
	CHECK(o.target == TARGET_ALL && o.duration_ns == 5000000000ULL);
	CHECK(o.fail_on_set && o.fail_on == SEV_WARNING);
}

TEST(usage_errors_are_status_2)
{
	struct options o;
	char *bad_pid[] = { "forktrace", "-p", "12,x", NULL };
	char *trailing[] = { "forktrace", "-p", "12,", NULL };
	char *none[] = { "forktrace", "--json", NULL };
	char *two[] = { "forktrace", "-a", "-p", "1", NULL };
	char *grace[] = { "forktrace", "--grace=abc", "-a", NULL };
	char *locks[] = { "forktrace", "--locks=maybe", "-a", NULL };
	char *unknown[] = { "forktrace", "--frobnicate", "-a", NULL };
	char *user[] = { "forktrace", "-u", "nobody", "-a", NULL };
	char *diag[] = { "forktrace", "diagnose", NULL };

	CHECK(parse(&o, 3, bad_pid) == 2);
	CHECK(parse(&o, 3, trailing) == 2);
	CHECK(parse(&o, 2, none) == 2);
	CHECK(parse(&o, 4, two) == 2);
	CHECK(parse(&o, 3, grace) == 2);
	CHECK(parse(&o, 3, locks) == 2);
	CHECK(parse(&o, 3, unknown) == 2);
	CHECK(parse(&o, 4, user) == 2);
	CHECK(parse(&o, 2, diag) == 2);
}

TEST(diagnose_and_check)
{
	struct options o;
	char *d[] = { "forktrace", "diagnose", "4321", "--json", NULL };
	char *c[] = { "forktrace", "check", NULL };

	CHECK(parse(&o, 4, d) == 0);
	CHECK(o.command == CMD_DIAGNOSE && o.diagnose_pid == 4321 && o.format == FORMAT_JSON);
	CHECK(parse(&o, 2, c) == 0 && o.command == CMD_CHECK);
}

/* options_parse() on argv (NULL-terminated); its stderr, if any, into said. */
static int parse_said(struct options *o, char **argv, char *said, size_t size)
{
	FILE *saved = stderr;
	int argc = 0, rc;
	size_t n;

	while (argv[argc])
		argc++;
	stderr = tmpfile();
	rc = options_parse(argc, argv, o);
	fflush(stderr);
	rewind(stderr);
	n = fread(said, 1, size - 1, stderr);
	said[n] = '\0';
	fclose(stderr);
	stderr = saved;
	return rc;
}

/* A usage error: status 2 and one line "forktrace: ... — what to do" naming want. */
static bool refused(char **argv, const char *want)
{
	struct options o;
	char said[1024];
	char *nl;

	if (parse_said(&o, argv, said, sizeof(said)) != 2)
		return false;
	nl = strchr(said, '\n');
	return !strncmp(said, "forktrace: ", 11) && strstr(said, " — ") && strstr(said, want) &&
	       nl && !nl[1];
}

TEST(influx_options_are_checked_at_parse)
{
	char *no_db[] = { "forktrace", "--influx=http://h:8086", "-a", NULL };
	char *no_scheme[] = { "forktrace", "--influx=localhost:8086", "--influx-db=d", "-a", NULL };
	char *query[] = { "forktrace", "--influx=http://h:8086/write?db=x", "--influx-db=d", "-a",
			  NULL };
	char *empty[] = { "forktrace", "--influx=", "--influx-db=d", "-a", NULL };
	char *both[] = { "forktrace",
			 "--influx=http://h:8086",
			 "--influx-db=d",
			 "--influx-org=o",
			 "--influx-bucket=b",
			 "-a",
			 NULL };
	char *v2_user[] = {
		"forktrace", "--influx=http://h:8086", "--influx-user=u", "--influx-bucket=b", "-a",
		NULL
	};
	char *no_bucket[] = { "forktrace", "--influx=http://h:8086", "--influx-org=o", "-a", NULL };
	char *no_url[] = { "forktrace", "--influx-db=d", "-a", NULL };

	CHECK(refused(no_db, "--influx-db=NAME"));
	CHECK(refused(no_scheme, "http://"));
	CHECK(refused(query, "base URL"));
	CHECK(refused(empty, "--influx=http://HOST:8086"));
	CHECK(refused(both, "one or the other"));
	CHECK(refused(v2_user, "INFLUX_TOKEN"));
	CHECK(refused(no_bucket, "--influx-bucket"));
	CHECK(refused(no_url, "--influx=URL"));
}

TEST(influx_options_complete_are_accepted)
{
	struct options o;
	char said[256];
	char *v1[] = {
		"forktrace", "--influx=HTTP://h:8086/", "--influx-db=d", "--influx-user=u", "-a",
		NULL
	};
	char *v2[] = {
		"forktrace", "--influx=https://h", "--influx-org=o", "--influx-bucket=b", "-a", NULL
	};
	char *v3[] = { "forktrace", "--influx=http://h:8181", "--influx-bucket=db3", "-a", NULL };

	CHECK(parse_said(&o, v1, said, sizeof(said)) == 0 && !said[0]);
	CHECK_STR(o.influx.url, "HTTP://h:8086/");
	CHECK_STR(o.influx.db, "d");
	CHECK_STR(o.influx.user, "u");
	CHECK(parse_said(&o, v2, said, sizeof(said)) == 0 && !said[0]);
	CHECK_STR(o.influx.org, "o");
	CHECK_STR(o.influx.bucket, "b");
	CHECK(parse_said(&o, v3, said, sizeof(said)) == 0 && !said[0]);
	CHECK(!o.influx.org);
}

TEST(stack_size_and_threads)
{
	char *ok[] = { "forktrace", "--stack-size=32KiB", "--stack-threads=8", "-p", "1", NULL };
	char *dflt[] = { "forktrace", "-p", "1", NULL };
	char *odd[] = { "forktrace", "--stack-size=6KiB", "-p", "1", NULL };
	char *big[] = { "forktrace", "--stack-size=64KiB", "-p", "1", NULL };
	char *none[] = { "forktrace", "--stack-threads=0", "-p", "1", NULL };
	char *many[] = { "forktrace", "--stack-threads=65", "-p", "1", NULL };
	char *junk[] = { "forktrace", "--stack-threads=8x", "-p", "1", NULL };
	struct options o;

	CHECK(parse(&o, 5, ok) == 0 && o.stack_size == 32768 && o.stack_threads == 8);
	CHECK(parse(&o, 3, dflt) == 0 && o.stack_size == 16384 && o.stack_threads == 64);
	CHECK(parse(&o, 4, odd) == 2);
	CHECK(parse(&o, 4, big) == 2);
	CHECK(parse(&o, 4, none) == 2);
	CHECK(parse(&o, 4, many) == 2);
	CHECK(parse(&o, 4, junk) == 2);
}

TEST(scan_threads_and_queue)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char more[48], *too_many[] = { "forktrace", more, "-p", "1", NULL };
	char *ok[] = { "forktrace", "--scan-threads=1", "--scan-queue=1", "-p", "1", NULL };
	char *dflt[] = { "forktrace", "-p", "1", NULL };
	char *none[] = { "forktrace", "--scan-threads=0", "-p", "1", NULL };
	char *empty[] = { "forktrace", "--scan-queue=0", "-p", "1", NULL };
	char *huge[] = { "forktrace", "--scan-queue=4097", "-p", "1", NULL };
	char *junk[] = { "forktrace", "--scan-queue=8x", "-p", "1", NULL };
	struct options o;

	snprintf(more, sizeof(more), "--scan-threads=%ld", cpus + 1);
	CHECK(parse(&o, 5, ok) == 0 && o.scan_threads == 1 && o.scan_queue == 1);
	/* the CPUs, at most 4; a queue of 64 */
	CHECK(parse(&o, 3, dflt) == 0 && o.scan_threads == (cpus < 4 ? cpus : 4) &&
	      o.scan_queue == 64);
	CHECK(parse(&o, 4, too_many) == 2);
	CHECK(parse(&o, 4, none) == 2);
	CHECK(parse(&o, 4, empty) == 2);
	CHECK(parse(&o, 4, huge) == 2);
	CHECK(parse(&o, 4, junk) == 2);
}
