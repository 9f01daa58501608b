/* A recording → the page: the template around the checked, escaped lines. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "out/json.h"
#include "out/strbuf.h"
#include "report/jsonl.h"
#include "report/report.h"
#include "report/page.h"

/* What the page says about how it was made and what was left out. */
static void write_meta(FILE *out, const char *title, const struct report_stats *st)
{
	struct timespec now;
	struct strbuf sb;
	char when[64];

	clock_gettime(CLOCK_REALTIME, &now);
	format_rfc3339((unsigned long long)now.tv_sec * 1000000000ULL + now.tv_nsec, when,
		       sizeof(when));
	sb_init(&sb);
	sb_puts(&sb, "{\"title\":");
	json_string(&sb, title);
	sb_printf(&sb,
		  ",\"generator\":\"forktrace %s\",\"generated\":\"%s\",\"lines\":%llu,"
		  "\"events\":%llu,\"malformed\":%llu,\"first_malformed\":%llu,\"repaired\":%llu}",
		  FT_VERSION, when, st->lines, st->events, st->malformed, st->first_malformed,
		  st->repaired);
	if (!sb.oom)
		jsonl_embed(out, sb.s, sb.len);
	else
		fputs("{}", out);
	sb_free(&sb);
}

int report_write(FILE *in, FILE *out, const char *title, struct report_stats *st)
{
	unsigned long long lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int err = 0;

	memset(st, 0, sizeof(*st));
	fwrite(report_page[0].s, 1, report_page[0].len, out);
	fputc('[', out);
	errno = 0;
	while ((n = getline(&line, &cap, in)) >= 0) {
		size_t bad = 0, len = (size_t)n;

		lineno++;
		while (len && strchr(" \t\r\n", line[len - 1]))
			len--;
		line[len] = 0;
		if (strspn(line, " \t") == len)
			continue;
		st->lines++;
		if (!jsonl_is_object(line, len, &bad)) {
			if (!st->malformed++)
				st->first_malformed = lineno;
			continue;
		}
		if (bad)
			st->repaired++;
		if (st->events++)
			fputs(",\n", out);
		jsonl_embed(out, line, len);
	}
	if (ferror(in))
		err = errno ? errno : EIO;
	free(line);
	fputc(']', out);
	fwrite(report_page[1].s, 1, report_page[1].len, out);
	write_meta(out, title, st);
	fwrite(report_page[2].s, 1, report_page[2].len, out);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

struct report_file {
	FILE *f;
	char *path, *tmp;
};

struct report_file *report_file__open(const char *path, char *err, size_t len)
{
	struct report_file *rf = calloc(1, sizeof(*rf));
	mode_t mask;
	int fd;

	if (!rf || !(rf->path = strdup(path)) || asprintf(&rf->tmp, "%s.XXXXXX", path) < 0) {
		snprintf(err, len, "cannot allocate memory");
		if (rf)
			free(rf->path);
		free(rf);
		return NULL;
	}
	fd = mkostemp(rf->tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, len, "cannot create %s: %s — check the path and permissions", path,
			 strerror(errno));
		free(rf->tmp);
		rf->tmp = NULL;
		report_file__abort(rf);
		return NULL;
	}
	/* a page to attach to a ticket: readable as any new file would be */
	mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	rf->f = fdopen(fd, "w");
	if (!rf->f) {
		snprintf(err, len, "cannot open %s: %s", rf->tmp, strerror(errno));
		close(fd);
		report_file__abort(rf);
		return NULL;
	}
	return rf;
}

FILE *report_file__stream(struct report_file *rf)
{
	return rf->f;
}

int report_file__commit(struct report_file *rf, char *err, size_t len)
{
	bool failed = ferror(rf->f);
	int werr = failed ? EIO : 0;

	if (fflush(rf->f))
		werr = errno;
	if (fclose(rf->f) && !werr)
		werr = errno;
	rf->f = NULL;
	if (werr || failed) {
		snprintf(err, len, "cannot write %s: %s — check the free space", rf->path,
			 strerror(werr ? werr : EIO));
		report_file__abort(rf);
		return -1;
	}
	if (rename(rf->tmp, rf->path)) {
		snprintf(err, len, "cannot write %s: %s — check the path and permissions", rf->path,
			 strerror(errno));
		report_file__abort(rf);
		return -1;
	}
	free(rf->tmp);
	rf->tmp = NULL;
	report_file__abort(rf);
	return 0;
}

void report_file__abort(struct report_file *rf)
{
	if (!rf)
		return;
	if (rf->f)
		fclose(rf->f);
	if (rf->tmp)
		unlink(rf->tmp);
	free(rf->tmp);
	free(rf->path);
	free(rf);
}
