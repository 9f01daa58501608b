/* The report's line checker and the escaping that keeps a recording inside its <script> element. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "cli/options.h"
#include "report/jsonl.h"
#include "report/report.h"
#include "unit.h"

static bool is_object(const char *s)
{
	size_t bad = 0;

	return jsonl_is_object(s, strlen(s), &bad);
}

static char *embedded(const char *s)
{
	static char buf[512];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	jsonl_embed(f, s, strlen(s));
	fclose(f);
	return buf;
}

TEST(report_accepts_json_objects)
{
	CHECK(is_object("{}"));
	CHECK(is_object(" {\"a\":1} "));
	CHECK(is_object("{\"a\":[1,-2.5e+3,true,false,null,\"x\\u00e9\\n\"],\"b\":{\"c\":{}}}"));
	CHECK(is_object(
		"{\"time\":\"2026-11-25T13:17:21.678573789Z\",\"event\":\"fork\",\"pid\":4958}"));
}

TEST(report_refuses_what_is_not_one_json_object)
{
	CHECK(!is_object(""));
	CHECK(!is_object("[1]"));
	CHECK(!is_object("\"a\""));
	CHECK(!is_object("{"));
	CHECK(!is_object("{}{}"));
	CHECK(!is_object("{\"a\":1,}"));
	CHECK(!is_object("{\"a\" 1}"));
	CHECK(!is_object("{a:1}"));
	CHECK(!is_object("{\"a\":01}"));
	CHECK(!is_object("{\"a\":1.}"));
	CHECK(!is_object("{\"a\":-}"));
	CHECK(!is_object("{\"a\":tru}"));
	CHECK(!is_object("{\"a\":\"\\x\"}"));
	CHECK(!is_object("{\"a\":\"\\u12g4\"}"));
	CHECK(!is_object("{\"a\":\"tab\there\"}"));
	CHECK(!is_object("{\"a\":\"unterminated}"));
	CHECK(!is_object("12:00:01 WARN python3[1] child 2 was born without 1 thread"));
}

TEST(report_limits_nesting)
{
	char deep[2 * JSONL_MAX_DEPTH + 16] = "{\"a\":";
	size_t n = strlen(deep);

	for (int i = 0; i < JSONL_MAX_DEPTH + 2; i++)
		deep[n++] = '[';
	deep[n] = 0;
	for (int i = 0; i < JSONL_MAX_DEPTH + 2; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	CHECK(!is_object(deep));
}

TEST(report_counts_invalid_utf8_inside_strings)
{
	const char *line = "{\"comm\":\"a\xff\xc3\",\"name\":\"\xe2\x82\"}";
	size_t bad = 0;

	CHECK(jsonl_is_object(line, strlen(line), &bad));
	CHECK(bad == 4); /* one per byte that starts no valid sequence */
	CHECK(!is_object("{\"a\":1}\xff"));
	CHECK_STR(embedded(line),
		  "{\"comm\":\"a\xef\xbf\xbd\xef\xbf\xbd\",\"name\":\"\xef\xbf\xbd\xef\xbf\xbd\"}");
}

TEST(report_embeds_nothing_that_ends_its_script_element)
{
	CHECK_STR(
		embedded("{\"comm\":\"</script><script>alert(1)</script>\"}"),
		"{\"comm\":\"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\"}");
	CHECK_STR(embedded("{\"a\":\"<!-- & -->\"}"), "{\"a\":\"\\u003c!-- \\u0026 --\\u003e\"}");
	CHECK_STR(embedded("{\"a\":\"\xe2\x80\xa8|\xe2\x80\xa9|\xc3\xa9\"}"),
		  "{\"a\":\"\\u2028|\\u2029|\xc3\xa9\"}");
}

TEST(report_writes_the_page_and_counts_what_it_left_out)
{
	const char *in_text =
		"{\"event\":\"fork\",\"pid\":1}\r\n\n  \nnot json\n{\"event\":\"exit\",\"c\":\"\xff\"}\n{\"cut\":";
	char *page = NULL;
	size_t len = 0;
	struct report_stats st;
	FILE *in = fmemopen((void *)in_text, strlen(in_text), "r");
	FILE *out = open_memstream(&page, &len);

	CHECK(report_write(in, out, "t</script>", &st) == 0);
	fclose(in);
	fclose(out);
	CHECK(st.lines == 4 && st.events == 2 && st.malformed == 2);
	CHECK(st.first_malformed == 4 && st.repaired == 1);
	CHECK(strstr(
		page,
		"[{\"event\":\"fork\",\"pid\":1},\n{\"event\":\"exit\",\"c\":\"\xef\xbf\xbd\"}]"));
	CHECK(strstr(page, "\"title\":\"t\\u003c/script\\u003e\""));
	CHECK(!strstr(page, "t</script>"));
	CHECK(strstr(page, "</html>"));
	free(page);
}

static int parse_quietly(struct options *o, int argc, char **argv)
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

TEST(report_command_line)
{
	struct options o;
	char *ok[] = { "forktrace", "report", "run.jsonl", "-o", "run.html", NULL };
	char *in[] = { "forktrace", "report", "-", NULL };
	char *joined[] = { "forktrace", "report", "-orun.html", "run.jsonl", NULL };
	char *none[] = { "forktrace", "report", NULL };
	char *two[] = { "forktrace", "report", "a.jsonl", "b.jsonl", NULL };
	char *flag[] = { "forktrace", "report", "--json", "a.jsonl", NULL };
	char *no_file[] = { "forktrace", "report", "a.jsonl", "-o", NULL };
	char *live[] = { "forktrace", "--report=run.html", "--", "true", NULL };
	char *live_empty[] = { "forktrace", "--report=", "--", "true", NULL };

	CHECK(parse_quietly(&o, 5, ok) == 0 && o.command == CMD_REPORT);
	CHECK_STR(o.report_input, "run.jsonl");
	CHECK_STR(o.output_path, "run.html");
	CHECK(parse_quietly(&o, 3, in) == 0 && strcmp(o.report_input, "-") == 0 && !o.output_path);
	CHECK(parse_quietly(&o, 4, joined) == 0 && strcmp(o.output_path, "run.html") == 0);
	CHECK(parse_quietly(&o, 2, none) == 2);
	CHECK(parse_quietly(&o, 4, two) == 2);
	CHECK(parse_quietly(&o, 4, flag) == 2);
	CHECK(parse_quietly(&o, 4, no_file) == 2);
	CHECK(parse_quietly(&o, 4, live) == 0 && o.command == CMD_TRACE);
	CHECK_STR(o.report_path, "run.html");
	CHECK(parse_quietly(&o, 4, live_empty) == 2);
}
