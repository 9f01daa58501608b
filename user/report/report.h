/*
 * The picture of a run: a --json recording (JSON Lines) in, one self-contained
 * HTML page out, whose own script lays out the process tree and its hazards.
 * The C side only checks each line and embeds it safely; the page is
 * user/report/page/, built into the binary. Knows no model and no output.
 */
#ifndef FT_REPORT_H
#define FT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct report_stats {
	unsigned long long lines;	    /* lines read, blank ones left out */
	unsigned long long events;	    /* lines that are JSON objects: in the page */
	unsigned long long malformed;	    /* lines that are not: counted, left out */
	unsigned long long first_malformed; /* the first one's line number; 0: none */
	unsigned long long repaired;	    /* lines whose invalid UTF-8 became U+FFFD */
};

/*
 * Reads JSON Lines from in until EOF and writes the page to out; title (any
 * bytes) names the run on the page. Fills *st. 0, or -1 if reading failed
 * (errno says why); write errors are left in ferror(out). A line may be of
 * any length; one that is not a JSON object never stops the report.
 */
int report_write(FILE *in, FILE *out, const char *title, struct report_stats *st);

/* The page's file, written whole or not at all: a temporary file beside it
 * until report_file__commit() renames it into place. */
struct report_file;

/* Creates the temporary file (so that a path that cannot be written fails
 * at once, not after a long trace). NULL with a message in err. */
struct report_file *report_file__open(const char *path, char *err, size_t len);
FILE *report_file__stream(struct report_file *rf);
/* Flushes, renames into place and frees. 0, or -1 with a message in err (the
 * temporary file is then removed). */
int report_file__commit(struct report_file *rf, char *err, size_t len);
/* Removes the temporary file and frees; NULL is fine. */
void report_file__abort(struct report_file *rf);

#endif /* FT_REPORT_H */
