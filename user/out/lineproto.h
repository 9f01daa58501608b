/*
 * Events as InfluxDB line protocol: one pure function per event, shared by
 * --format=influx (stdout, for Telegraf's inputs.execd) and the --influx
 * exporter. The schema is documented in docs/influx.md.
 *
 * Escaping follows the line protocol reference, with one portable choice:
 * in names (measurement, tag keys and values, field keys) a backslash,
 * a control character or a byte that is not valid UTF-8 is written as the
 * text "\xHH" ("\n", "\r", "\t" for those three), because InfluxDB 1.x
 * and 2.x/3.x disagree on what a backslash before a special character means
 * and a newline can never be inside a name.
 */
#ifndef FT_LINEPROTO_H
#define FT_LINEPROTO_H

#include <stddef.h>
#include <stdint.h>
#include "out/event.h"

#define LINEPROTO_MEASUREMENT "forktrace"
/* Big enough for any event: a full stack and a full thread list escaped. */
#define LINEPROTO_MAX_LINE 32768
/* A stack field's text is cut at about this many bytes (its innermost frames). */
#define LINEPROTO_STACK_MAX 4096

/*
 * Encodes one event as one line (with trailing '\n') into buf; returns its
 * length, or -1 if it doesn't fit (buf then holds no complete line).
 * host is the host tag (NULL or "" leaves the tag out).
 */
int lineproto_format(const struct event *ev, const char *host, char *buf, size_t size);

/* The host tag: this host's name, or "" (the tag left out) if it has none. */
void lineproto_host_tag(char *buf, size_t size);

/*
 * InfluxDB keeps one point per series (measurement and tags) and timestamp:
 * two held_lock events of one fork share the fork's timestamp, so the second
 * would silently replace the first. A writer keeps the recent (series,
 * timestamp) pairs here and moves a repeat on by 1 ns. Zero-initialise.
 */
#define LINEPROTO_STAMPS 1024
struct lineproto_stamps {
	uint64_t seen[LINEPROTO_STAMPS];
	unsigned next;
};

/* ev->time_ns, or the first free nanosecond after it for ev's series (0 stays 0). */
uint64_t lineproto_unique_time(struct lineproto_stamps *st, const struct event *ev);

/*
 * The escaping rules, one per part of a line; exposed for the unit tests.
 * Each writes s escaped plus a NUL into buf and returns the length without
 * the NUL, or -1 if it doesn't fit.
 */
/* Measurement: comma and space are backslash-escaped. */
int lineproto_escape_measurement(const char *s, char *buf, size_t size);
/* Tag key, tag value, field key: comma, equals sign and space. */
int lineproto_escape_key(const char *s, char *buf, size_t size);
/* String field value, without its quotes: double quote and backslash. */
int lineproto_escape_string(const char *s, char *buf, size_t size);

#endif /* FT_LINEPROTO_H */
