/*
 * The InfluxDB exporter: events in, line protocol out over HTTP(S) from a
 * background thread, so tracing never waits on the network.
 *
 * influx__push() encodes the event and queues the line in a bounded buffer;
 * the sender thread posts gzip'd batches (by size, or every interval) and
 * retries with exponential backoff and jitter on 5xx, 429 and connection
 * errors, honouring Retry-After. While the server is away the buffer holds
 * the newest lines and drops the oldest, counted. A persistent error (4xx:
 * no such database, bad credentials) is reported once on stderr; its points
 * are counted as dropped and tracing goes on.
 *
 * InfluxDB 1.x:     POST URL/write?db=DB&precision=ns, basic auth with
 *                   cfg->user and $INFLUX_PASSWORD.
 * InfluxDB 2.x/3.x: (org or bucket given) POST URL/api/v2/write?org=ORG&
 *                   bucket=BUCKET&precision=ns, "Authorization: Token
 *                   $INFLUX_TOKEN". Secrets come only from the environment.
 */
#ifndef FT_INFLUX_H
#define FT_INFLUX_H

#include <stddef.h>
#include <stdint.h>
#include "out/event.h"

/* Where to export; the option parser has checked that it is complete. */
struct influx_config {
	const char *url;    /* http:// or https:// base URL, no query */
	const char *db;	    /* 1.x: database */
	const char *user;   /* 1.x: user; password from INFLUX_PASSWORD */
	const char *org;    /* 2.x: org; token from INFLUX_TOKEN */
	const char *bucket; /* 2.x/3.x: bucket (required when org is given) */
};

struct influx;

struct influx_stats {
	uint64_t delivered;	 /* points the server accepted */
	uint64_t retried;	 /* requests sent again after a transient failure */
	uint64_t dropped;	 /* points not delivered: buffer full, rejected, or left at close */
	uint64_t unknown;	 /* points sent that the server never answered for: it may hold them */
	uint64_t failed_batches; /* batches given up on (persistent error or close deadline) */
};

/* The exporter's knobs; influx__new() takes the defaults. */
struct influx_tuning {
	size_t capacity_lines;	 /* lines held while the server is away */
	size_t capacity_bytes;	 /* and their bytes */
	size_t batch_lines;	 /* a batch is sent when it has this many lines */
	size_t batch_bytes;	 /* or this many bytes (before gzip) */
	unsigned interval_ms;	 /* or when its oldest line is this old */
	unsigned backoff_min_ms; /* first retry delay, doubled per retry, jittered */
	unsigned backoff_max_ms;
	unsigned request_ms; /* timeout of one HTTP request */
	unsigned close_ms;   /* how long influx__close() may spend flushing */
	const char *host;    /* host tag; NULL: lineproto_host_tag() */
};

/*
 * The defaults: 100000 lines / 64 MiB buffered, batches of 5000 lines or
 * 1 MiB or 1 s, backoff 100 ms..10 s, requests of 10 s, 5 s to flush at
 * close. FORKTRACE_INFLUX_BUFFER=N (a test knob) sets capacity_lines.
 */
void influx_tuning_defaults(struct influx_tuning *t);

/*
 * Reads INFLUX_TOKEN / INFLUX_PASSWORD from the environment and starts the
 * sender thread. cfg must be complete: 1.x (db, maybe user) or 2.x/3.x
 * (bucket, maybe org), as options_parse() accepts it. Makes no request: a
 * server that is down at start is retried like one that goes away later.
 * Returns NULL after writing one line "forktrace: cannot ...: ... — what to
 * do" into err. cfg's strings are copied.
 */
struct influx *influx__new(const struct influx_config *cfg, char *err, size_t errlen);
struct influx *influx__new_tuned(const struct influx_config *cfg, const struct influx_tuning *t,
				 char *err, size_t errlen);

/*
 * Encodes ev and queues it. Never blocks on the network: when the buffer is
 * full the oldest line is dropped and counted. ev->time_ns is sent as it is:
 * the caller gives each event of a series its own nanosecond, or InfluxDB
 * keeps only the last (output__emit does, see lineproto_unique_time). Call
 * from one thread at a time.
 */
void influx__push(struct influx *ix, const struct event *ev);

/*
 * Flushes what is buffered within the close deadline, stops the thread and
 * frees ix (NULL is fine). What is still queued at the deadline is counted
 * as dropped: report the final counters from influx__close_stats(), since
 * ix is gone afterwards.
 */
void influx__close(struct influx *ix);

/* Like influx__close(), also storing the final counters into st. */
void influx__close_stats(struct influx *ix, struct influx_stats *st);

/* A consistent-enough snapshot of the counters; callable any time. */
void influx__stats(const struct influx *ix, struct influx_stats *st);

#endif /* FT_INFLUX_H */
