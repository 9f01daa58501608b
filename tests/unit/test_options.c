/* Option, duration and size parsing. */
#include <stdint.h>
#include <stdio.h>
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
