/*
 * The InfluxDB exporter: a bounded queue of encoded lines, filled by
 * influx__push() on the tracing thread and drained by one sender thread
 * that owns the libcurl handle. The two threads share only the queue and
 * the closing flag (under ix->lock), and the counters (atomics).
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "out/influx.h"
#include "out/lineproto.h"
#include "util/clock.h"

#ifndef FT_VERSION
#define FT_VERSION "dev"
#endif

#define MSG_LEN 256
#define RETRY_AFTER_MAX_MS (5 * 60 * 1000)
#define CONNECT_TIMEOUT_MS 5000

struct line {
	char *text;
	size_t len;
};

/* What the sender works on: lines taken off the queue, then their body. */
struct batch {
	struct line *lines; /* tune.batch_lines slots */
	size_t nlines, bytes;
	unsigned char *gz;
	size_t gz_len;
};

enum outcome { SENT, PARTIAL, RETRY, REJECTED };

/* One HTTP exchange as the sender saw it. */
struct response {
	long status;	     /* 0: no HTTP response (connection, TLS...) */
	long retry_after_ms; /* -1: the server did not say */
	uint64_t partial_dropped;
	bool sent;	 /* no answer, but the whole body went out: the server may hold it */
	char body[2048]; /* enough for 1.x's "partial write: ... dropped=N" */
	size_t body_len;
	char msg[MSG_LEN]; /* why it failed, for stderr */
};

struct influx {
	/* fixed once influx__new returns */
	struct influx_tuning tune;
	bool v2;
	char host[256];
	char *write_url;
	char *shown_url;       /* cfg->url without any user:password@ */
	char *user, *password; /* 1.x basic auth; NULL: none */
	struct curl_slist *headers;
	CURL *curl; /* used by the sender thread only */
	pthread_t thread;
	bool thread_started, sync_ready, curl_global;

	pthread_mutex_t lock;
	pthread_cond_t wake; /* a batch may be due, or close was called */
	/* the queue: a ring of capacity_lines, guarded by lock */
	struct line *ring;
	size_t head, count, bytes;
	uint64_t first_ms; /* monotonic time the oldest queued line arrived */
	bool closing;
	uint64_t deadline_ms;

	/* counters, updated with atomics so influx__stats() needs no lock */
	uint64_t delivered, retried, dropped, unknown, failed_batches;

	/* the sender thread's own */
	struct batch batch;
	bool reported_rejected, in_outage;
	unsigned seed;
};

static void count(uint64_t *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

static uint64_t counter(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static bool given(const char *s)
{
	return s && s[0];
}

void influx_tuning_defaults(struct influx_tuning *t)
{
	*t = (struct influx_tuning){
		.capacity_lines = 100000,
		.capacity_bytes = 64 << 20,
		.batch_lines = 5000,
		.batch_bytes = 1 << 20,
		.interval_ms = 1000,
		.backoff_min_ms = 100,
		.backoff_max_ms = 10000,
		.request_ms = 10000,
		.close_ms = 5000,
	};
}

/* ---- configuration ------------------------------------------------------ */

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Secrets come from the environment only, never from argv (ps shows argv). */
static int read_secrets(struct influx *ix, const struct influx_config *o, char *err, size_t errlen)
{
	const char *token = getenv("INFLUX_TOKEN");
	const char *password = getenv("INFLUX_PASSWORD");
	char *header = NULL;

	if (ix->v2) {
		if (!given(token)) {
			snprintf(
				err, errlen,
				"forktrace: cannot export to InfluxDB 2.x/3.x: INFLUX_TOKEN is not set — export INFLUX_TOKEN=<an API token that may write to the bucket> (it is never read from the command line)");
			return -1;
		}
		/* never raw bytes from the environment into a header: a line break
		 * would end it and start another */
		if (has_ctl(token)) {
			snprintf(
				err, errlen,
				"forktrace: cannot export to InfluxDB: INFLUX_TOKEN holds a control"
				" character — export the token alone");
			return -1;
		}
		if (asprintf(&header, "Authorization: Token %s", token) < 0)
			goto nomem;
		ix->headers = curl_slist_append(ix->headers, header);
		explicit_bzero(header, strlen(header));
		free(header);
		if (!ix->headers)
			goto nomem;
		return 0;
	}
	if (!given(o->user))
		return 0;
	if (!password) {
		snprintf(
			err, errlen,
			"forktrace: cannot log in to InfluxDB as %s: INFLUX_PASSWORD is not set — export INFLUX_PASSWORD=... (it is never read from the command line)",
			o->user);
		return -1;
	}
	ix->user = strdup(o->user);
	ix->password = strdup(password);
	if (ix->user && ix->password)
		return 0;
nomem:
	snprintf(err, errlen,
		 "forktrace: cannot start the InfluxDB exporter: out of memory — free some memory");
	return -1;
}

/* URL/write?db=... or URL/api/v2/write?org=...&bucket=..., values escaped. */
static char *write_url(const struct influx_config *o, bool v2)
{
	size_t n = strlen(o->url);
	char *db = NULL, *org = NULL, *bucket = NULL, *url = NULL;
	int rc = -1;

	while (n > 0 && o->url[n - 1] == '/')
		n--;
	if (!v2) {
		db = curl_easy_escape(NULL, o->db, 0);
		if (db)
			rc = asprintf(&url, "%.*s/write?db=%s&precision=ns", (int)n, o->url, db);
		goto cleanup;
	}
	/* 3.x needs no org: without --influx-org the parameter is left out */
	bucket = curl_easy_escape(NULL, o->bucket, 0);
	org = curl_easy_escape(NULL, given(o->org) ? o->org : "", 0);
	if (bucket && org)
		rc = asprintf(&url, "%.*s/api/v2/write?%s%s%sbucket=%s&precision=ns", (int)n,
			      o->url, org[0] ? "org=" : "", org, org[0] ? "&" : "", bucket);
cleanup:
	curl_free(db);
	curl_free(bucket);
	curl_free(org);
	return rc < 0 ? NULL : url;
}

/* The URL for messages: credentials in it (user:pass@) are not repeated. */
static char *shown_url(const char *url)
{
	const char *auth = strstr(url, "://") + 3;
	const char *at = strchr(auth, '@');
	const char *slash = strchr(auth, '/');
	char *s = NULL;

	if (!at || (slash && slash < at))
		return strdup(url);
	if (asprintf(&s, "%.*s***%s", (int)(auth - url), url, at) < 0)
		return NULL;
	return s;
}

/* ---- the queue (tracing thread and sender) ----------------------------- */

static struct line *slot(struct influx *ix, size_t i)
{
	return &ix->ring[(ix->head + i) % ix->tune.capacity_lines];
}

static void drop_oldest(struct influx *ix)
{
	struct line *l = slot(ix, 0);

	ix->bytes -= l->len;
	free(l->text);
	l->text = NULL;
	ix->head = (ix->head + 1) % ix->tune.capacity_lines;
	ix->count--;
	count(&ix->dropped, 1);
}

static void enqueue(struct influx *ix, char *text, size_t len)
{
	const struct influx_tuning *t = &ix->tune;
	struct line *l;

	pthread_mutex_lock(&ix->lock);
	/* the newest events matter most while the server is away */
	while (ix->count && (ix->count >= t->capacity_lines || ix->bytes + len > t->capacity_bytes))
		drop_oldest(ix);
	if (!ix->count)
		ix->first_ms = mono_ms();
	l = slot(ix, ix->count);
	l->text = text;
	l->len = len;
	ix->count++;
	ix->bytes += len;
	/*
	 * Wake the sender only when a batch becomes due, not for every event:
	 * it also sleeps on this condition between retries.
	 */
	if (ix->count == 1 || ix->count == t->batch_lines ||
	    (ix->bytes >= t->batch_bytes && ix->bytes - len < t->batch_bytes))
		pthread_cond_signal(&ix->wake);
	pthread_mutex_unlock(&ix->lock);
}

void influx__push(struct influx *ix, const struct event *ev)
{
	char buf[LINEPROTO_MAX_LINE];
	char *text;
	int len;

	len = lineproto_format(ev, ix->host, buf, sizeof(buf));
	text = len > 0 ? malloc(len) : NULL;
	if (!text) {
		/* too long to encode, or no memory: still never silent */
		count(&ix->dropped, 1);
		return;
	}
	memcpy(text, buf, len);
	enqueue(ix, text, len);
}

/* ---- the sender thread -------------------------------------------------- */

/* Waits on ix->wake until woken or until the monotonic time until_ms (0: no limit). */
static void wait_until(struct influx *ix, uint64_t until_ms)
{
	struct timespec ts;

	if (!until_ms) {
		pthread_cond_wait(&ix->wake, &ix->lock);
		return;
	}
	ts.tv_sec = until_ms / 1000;
	ts.tv_nsec = (until_ms % 1000) * 1000000;
	pthread_cond_timedwait(&ix->wake, &ix->lock, &ts);
}

enum due { DUE_WAIT, DUE_SEND, DUE_STOP };

static enum due queue_due(const struct influx *ix, uint64_t now)
{
	const struct influx_tuning *t = &ix->tune;

	if (ix->closing && (!ix->count || now >= ix->deadline_ms))
		return DUE_STOP;
	if (!ix->count)
		return DUE_WAIT;
	if (ix->closing || ix->count >= t->batch_lines || ix->bytes >= t->batch_bytes ||
	    now >= ix->first_ms + t->interval_ms)
		return DUE_SEND;
	return DUE_WAIT;
}

/* Moves the oldest lines, up to a batch's worth, from the queue into b. */
static void move_lines(struct influx *ix, struct batch *b)
{
	const struct influx_tuning *t = &ix->tune;

	while (ix->count && b->nlines < t->batch_lines &&
	       (!b->nlines || b->bytes + slot(ix, 0)->len <= t->batch_bytes)) {
		struct line *l = slot(ix, 0);

		b->lines[b->nlines++] = *l;
		b->bytes += l->len;
		ix->bytes -= l->len;
		l->text = NULL;
		ix->head = (ix->head + 1) % t->capacity_lines;
		ix->count--;
	}
	/* what is left is already due: an outage's backlog drains at once */
}

/* Blocks until a batch is due and takes it; false when it is time to stop. */
static bool take_batch(struct influx *ix, struct batch *b)
{
	enum due due;

	pthread_mutex_lock(&ix->lock);
	while ((due = queue_due(ix, mono_ms())) == DUE_WAIT)
		wait_until(ix, ix->count ? ix->first_ms + ix->tune.interval_ms : 0);
	if (due == DUE_SEND)
		move_lines(ix, b);
	pthread_mutex_unlock(&ix->lock);
	return due == DUE_SEND;
}

static void batch_clear(struct batch *b)
{
	for (size_t i = 0; i < b->nlines; i++)
		free(b->lines[i].text);
	free(b->gz);
	b->gz = NULL;
	b->gz_len = b->nlines = b->bytes = 0;
}

/* The batch's lines, concatenated and gzip'd (Content-Encoding: gzip). */
static int gzip_batch(struct batch *b)
{
	z_stream zs = { 0 };
	unsigned char *out = NULL;
	char *raw = malloc(b->bytes ? b->bytes : 1);
	size_t off = 0;
	uLong bound;
	int err = -1;

	/* windowBits 15 + 16: a gzip wrapper rather than zlib's */
	if (!raw ||
	    deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(raw);
		return -1;
	}
	for (size_t i = 0; i < b->nlines; i++) {
		memcpy(raw + off, b->lines[i].text, b->lines[i].len);
		off += b->lines[i].len;
	}
	/* one deflate(Z_FINISH) into deflateBound() bytes cannot run out of room */
	bound = deflateBound(&zs, off);
	out = malloc(bound);
	if (!out)
		goto cleanup;
	zs.next_in = (Bytef *)raw;
	zs.avail_in = off;
	zs.next_out = out;
	zs.avail_out = bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		goto cleanup;
	b->gz = out;
	b->gz_len = zs.total_out;
	out = NULL;
	err = 0;
cleanup:
	deflateEnd(&zs);
	free(raw);
	free(out);
	return err;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct response *r = arg;
	size_t room = sizeof(r->body) - 1 - r->body_len;
	size_t len = size * n < room ? size * n : room;

	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return size * n;
}

/* Retry-After: delay-seconds or an HTTP-date. */
static long parse_retry_after(const char *v)
{
	char *end;
	long secs = strtol(v, &end, 10);

	if (end != v && (*end == '\0' || *end == '\r' || *end == '\n' || *end == ' '))
		return secs < 0 ? 0 : secs * 1000;
	secs = (long)(curl_getdate(v, NULL) - time(NULL));
	return secs < 0 ? 0 : secs * 1000;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct response *r = arg;
	char line[128];
	size_t len = size * n < sizeof(line) - 1 ? size * n : sizeof(line) - 1;

	memcpy(line, data, len);
	line[len] = '\0';
	if (!strncasecmp(line, "Retry-After:", 12)) {
		long ms = parse_retry_after(line + 12 + strspn(line + 12, " \t"));

		r->retry_after_ms = ms > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : ms;
	}
	return size * n;
}

/* The server's own words: "error" (1.x) or "message" (2.x, 3.x) of its JSON. */
static void server_message(const struct response *r, char *out, size_t size)
{
	const char *p = strstr(r->body, "\"error\":\"");
	bool quoted = true;
	size_t n = 0;

	if (!p)
		p = strstr(r->body, "\"message\":\"");
	if (p) {
		p = strchr(p, ':') + 2;
	} else {
		p = r->body; /* not JSON: the body as it is */
		quoted = false;
	}
	for (; *p && n + 1 < size; p++) {
		if (quoted && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
			p++;
		else if (quoted && *p == '"')
			break;
		/* untrusted text bound for a terminal */
		out[n++] = (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p;
	}
	out[n] = '\0';
}

static enum outcome classify_status(struct response *r)
{
	char words[MSG_LEN - 32];
	const char *dropped;

	server_message(r, words, sizeof(words));
	snprintf(r->msg, sizeof(r->msg), "HTTP %ld%s%s", r->status, words[0] ? ": " : "", words);
	if (r->status >= 200 && r->status < 300)
		return SENT;
	if (r->status == 408 || r->status == 429 || r->status >= 500)
		return RETRY;
	/* 1.x writes what it can and says how many points it refused */
	dropped = strstr(r->body, "dropped=");
	if (r->status == 400 && strstr(r->body, "partial write") && dropped &&
	    !strstr(r->body, "unable to parse")) {
		r->partial_dropped = strtoull(dropped + 8, NULL, 10);
		return PARTIAL;
	}
	return REJECTED;
}

/* Errors that no retry will fix: the URL or TLS setup is wrong. */
static bool curl_error_is_persistent(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_LOGIN_DENIED: return true;
	default: return false;
	}
}

static bool past_deadline(struct influx *ix)
{
	bool late;

	pthread_mutex_lock(&ix->lock);
	late = ix->closing && mono_ms() >= ix->deadline_ms;
	pthread_mutex_unlock(&ix->lock);
	return late;
}

/* libcurl calls this at least once a second: a request started before
 * influx__close() is cut off at its deadline. Non-zero aborts. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return past_deadline(arg);
}

/* A request started after influx__close() may not outlive its deadline. */
static long request_timeout_ms(struct influx *ix)
{
	long ms = ix->tune.request_ms;
	uint64_t now = mono_ms();

	pthread_mutex_lock(&ix->lock);
	if (ix->closing)
		ms = ix->deadline_ms > now + 1 ? (long)(ix->deadline_ms - now) : 1;
	pthread_mutex_unlock(&ix->lock);
	return ms < (long)ix->tune.request_ms ? ms : (long)ix->tune.request_ms;
}

static enum outcome post(struct influx *ix, const struct batch *b, struct response *r)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	long timeout = request_timeout_ms(ix);
	CURL *c = ix->curl;
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	r->retry_after_ms = -1;
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, b->gz);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->gz_len);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 timeout < CONNECT_TIMEOUT_MS ? timeout : CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	rc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	if (rc != CURLE_OK) {
		curl_off_t up = 0;

		curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &up);
		r->sent = up >= (curl_off_t)b->gz_len;
		snprintf(r->msg, sizeof(r->msg), "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return curl_error_is_persistent(rc) ? REJECTED : RETRY;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	return classify_status(r);
}

static const char *rejected_hint(const struct influx *ix, const struct response *r)
{
	switch (r->status) {
	case 0: return "check --influx and, for https, the server's certificate";
	case 401:
	case 403:
		return ix->v2 ? "check that INFLUX_TOKEN may write to the bucket" :
				"check --influx-user and INFLUX_PASSWORD";
	case 404:
		return ix->v2 ? "check --influx-org and --influx-bucket (the bucket must exist)" :
				"create the database (CREATE DATABASE name) or fix --influx-db";
	case 400:
		if (strstr(r->body, "field type conflict"))
			return "the database holds forktrace fields of another type: write to a fresh database";
		return "the server could not read forktrace's lines: please report this message as a forktrace bug";
	case 413: return "raise the server's maximum body size";
	default: return "check --influx and the server's log";
	}
}

/* A persistent error is said once: the same line per batch helps no one. */
static void report_rejected(struct influx *ix, const struct response *r)
{
	if (ix->reported_rejected)
		return;
	ix->reported_rejected = true;
	fprintf(stderr,
		"forktrace: cannot write to InfluxDB at %s: %s — %s; tracing goes on, and the events it refuses are counted as dropped\n",
		ix->shown_url, r->msg, rejected_hint(ix, r));
}

/* Said once per outage, and again when it ends. */
static void report_outage(struct influx *ix, const struct response *r)
{
	if (ix->in_outage)
		return;
	ix->in_outage = true;
	fprintf(stderr,
		"forktrace: cannot write to InfluxDB at %s: %s — retrying with backoff; up to %zu events wait in memory meanwhile, older ones are dropped and counted\n",
		ix->shown_url, r->msg, ix->tune.capacity_lines);
}

static void report_recovered(struct influx *ix)
{
	if (!ix->in_outage)
		return;
	ix->in_outage = false;
	fprintf(stderr, "forktrace: InfluxDB at %s accepts writes again\n", ix->shown_url);
}

/* Exponential backoff with equal jitter, unless the server said when. */
static unsigned retry_delay_ms(struct influx *ix, const struct response *r, unsigned attempt)
{
	uint64_t ms = ix->tune.backoff_min_ms;

	if (r->retry_after_ms >= 0)
		return r->retry_after_ms;
	while (attempt-- > 0 && ms < ix->tune.backoff_max_ms)
		ms *= 2;
	if (ms > ix->tune.backoff_max_ms)
		ms = ix->tune.backoff_max_ms;
	/* jitter keeps many tracers from retrying in step */
	return ms / 2 + rand_r(&ix->seed) % (ms / 2 + 1);
}

/* Sleeps ms before a retry (less once closing); false when the close deadline is near. */
static bool wait_retry(struct influx *ix, unsigned ms)
{
	uint64_t until = mono_ms() + ms;
	bool ok;

	pthread_mutex_lock(&ix->lock);
	for (;;) {
		uint64_t now = mono_ms();

		if (ix->closing) {
			if (now + ix->tune.backoff_min_ms >= ix->deadline_ms) {
				ok = false;
				break;
			}
			/* at exit the deadline, not the backoff, bounds the flush */
			if (until > now + (ix->deadline_ms - now) / 4)
				until = now + (ix->deadline_ms - now) / 4;
		}
		if (now >= until) {
			ok = true;
			break;
		}
		wait_until(ix, until);
	}
	pthread_mutex_unlock(&ix->lock);
	return ok;
}

/* A batch given up on: dropped, or of unknown fate when one of its
 * attempts reached the server, which never answered. */
static void give_up(struct influx *ix, uint64_t lines, bool maybe_sent)
{
	count(maybe_sent ? &ix->unknown : &ix->dropped, lines);
	count(&ix->failed_batches, 1);
}

/* Sends one batch until it is delivered, refused, or the deadline passes. */
static void deliver(struct influx *ix, struct batch *b)
{
	struct response r;
	unsigned attempt = 0;
	bool maybe_sent = false;

	if (gzip_batch(b) < 0) { /* out of memory: as good as refused */
		give_up(ix, b->nlines, false);
		return;
	}
	for (;;) {
		switch (post(ix, b, &r)) {
		case SENT:
			count(&ix->delivered, b->nlines);
			report_recovered(ix);
			return;
		case PARTIAL:
			if (r.partial_dropped > b->nlines)
				r.partial_dropped = b->nlines;
			count(&ix->delivered, b->nlines - r.partial_dropped);
			count(&ix->dropped, r.partial_dropped);
			report_rejected(ix, &r);
			return;
		case REJECTED:
			report_rejected(ix, &r);
			give_up(ix, b->nlines, maybe_sent || r.sent);
			return;
		case RETRY: break;
		}
		maybe_sent |= r.sent;
		report_outage(ix, &r);
		if (!wait_retry(ix, retry_delay_ms(ix, &r, attempt++))) {
			give_up(ix, b->nlines, maybe_sent);
			return;
		}
		count(&ix->retried, 1);
	}
}

static void *sender_main(void *arg)
{
	struct influx *ix = arg;

	/* compressing a batch must not take the CPU from the tracing loop (or
	 * the traced program): this thread runs at the lowest priority */
	setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
	while (take_batch(ix, &ix->batch)) {
		deliver(ix, &ix->batch);
		batch_clear(&ix->batch);
	}
	return NULL;
}

/* ---- life cycle --------------------------------------------------------- */

static int setup_curl(struct influx *ix)
{
	static const char *const fixed[] = {
		"Content-Type: text/plain; charset=utf-8", "Content-Encoding: gzip",
		"Expect:", /* no 100-continue round trip per batch */
	};
	CURL *c = curl_easy_init();

	if (!c)
		return -1;
	ix->curl = c;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		struct curl_slist *h = curl_slist_append(ix->headers, fixed[i]);

		if (!h)
			return -1;
		ix->headers = h;
	}
	curl_easy_setopt(c, CURLOPT_URL, ix->write_url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, ix->headers);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "forktrace/" FT_VERSION);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* we are a thread: no SIGALRM */
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, ix);
	if (ix->user) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, ix->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, ix->password);
	}
	return 0;
}

/*
 * The sender thread blocks every signal: SIGINT and SIGTERM belong to the
 * tracing loop, and a SIGPIPE from a dropped connection must not kill us.
 */
static int start_sender(struct influx *ix)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&ix->thread, NULL, sender_main, ix);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	ix->thread_started = err == 0;
	return err;
}

static int init_sync(struct influx *ix)
{
	pthread_condattr_t attr;
	int err;

	/* deadlines are monotonic: a clock step must not stall or rush a flush */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	err = pthread_cond_init(&ix->wake, &attr);
	pthread_condattr_destroy(&attr);
	return err ? err : pthread_mutex_init(&ix->lock, NULL);
}

static void fix_tuning(struct influx_tuning *t)
{
	struct influx_tuning d;

	influx_tuning_defaults(&d);
	if (!t->capacity_lines)
		t->capacity_lines = 1;
	if (t->capacity_bytes < LINEPROTO_MAX_LINE)
		t->capacity_bytes = LINEPROTO_MAX_LINE;
	if (!t->batch_lines)
		t->batch_lines = 1;
	if (!t->batch_bytes)
		t->batch_bytes = d.batch_bytes;
	if (!t->backoff_min_ms)
		t->backoff_min_ms = 1;
	if (t->backoff_max_ms < t->backoff_min_ms)
		t->backoff_max_ms = t->backoff_min_ms;
	if (!t->request_ms)
		t->request_ms = d.request_ms;
}

static void influx_free(struct influx *ix)
{
	if (!ix)
		return;
	if (ix->ring) {
		while (ix->count)
			drop_oldest(ix);
	}
	batch_clear(&ix->batch);
	free(ix->batch.lines);
	free(ix->ring);
	if (ix->curl)
		curl_easy_cleanup(ix->curl);
	curl_slist_free_all(ix->headers);
	if (ix->password)
		explicit_bzero(ix->password, strlen(ix->password));
	free(ix->password);
	free(ix->user);
	free(ix->write_url);
	free(ix->shown_url);
	if (ix->sync_ready) {
		pthread_mutex_destroy(&ix->lock);
		pthread_cond_destroy(&ix->wake);
	}
	if (ix->curl_global)
		curl_global_cleanup();
	free(ix);
}

/* What needs no option: knobs, host tag, libcurl, the lock. */
static int init_base(struct influx *ix, const struct influx_tuning *t)
{
	ix->tune = *t;
	fix_tuning(&ix->tune);
	ix->seed = (unsigned)mono_ms() ^ (unsigned)getpid();
	if (t->host)
		snprintf(ix->host, sizeof(ix->host), "%s", t->host);
	else
		lineproto_host_tag(ix->host, sizeof(ix->host));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	ix->curl_global = true;
	if (init_sync(ix))
		return -1;
	ix->sync_ready = true;
	return 0;
}

struct influx *influx__new_tuned(const struct influx_config *cfg, const struct influx_tuning *t,
				 char *err, size_t errlen)
{
	struct influx *ix;
	int rc;

	ix = calloc(1, sizeof(*ix));
	if (!ix || init_base(ix, t) < 0) {
		snprintf(
			err, errlen,
			"forktrace: cannot start the InfluxDB exporter: libcurl or thread setup failed — check the libcurl installation and free memory");
		goto cleanup;
	}
	ix->v2 = given(cfg->org) || given(cfg->bucket);
	if (read_secrets(ix, cfg, err, errlen) < 0)
		goto cleanup;
	ix->write_url = write_url(cfg, ix->v2);
	ix->shown_url = shown_url(cfg->url);
	ix->ring = calloc(ix->tune.capacity_lines, sizeof(*ix->ring));
	ix->batch.lines = calloc(ix->tune.batch_lines, sizeof(*ix->batch.lines));
	if (!ix->write_url || !ix->shown_url || !ix->ring || !ix->batch.lines ||
	    setup_curl(ix) < 0) {
		snprintf(
			err, errlen,
			"forktrace: cannot start the InfluxDB exporter: out of memory — free some memory or lower FORKTRACE_INFLUX_BUFFER");
		goto cleanup;
	}
	rc = start_sender(ix);
	if (rc) {
		snprintf(
			err, errlen,
			"forktrace: cannot start the InfluxDB exporter thread: %s — raise the process's thread limit",
			strerror(rc));
		goto cleanup;
	}
	return ix;
cleanup:
	influx_free(ix);
	return NULL;
}

struct influx *influx__new(const struct influx_config *cfg, char *err, size_t errlen)
{
	const char *knob = getenv("FORKTRACE_INFLUX_BUFFER");
	struct influx_tuning t;

	influx_tuning_defaults(&t);
	if (knob && knob[0]) {
		char *end;
		unsigned long long n = strtoull(knob, &end, 10);

		if (*end || n == 0 || n > (1ULL << 30)) {
			snprintf(
				err, errlen,
				"forktrace: cannot use FORKTRACE_INFLUX_BUFFER=%s: not a number of lines from 1 to 2^30 — fix or unset it",
				knob);
			return NULL;
		}
		t.capacity_lines = n;
	}
	return influx__new_tuned(cfg, &t, err, errlen);
}

void influx__stats(const struct influx *ix, struct influx_stats *st)
{
	*st = (struct influx_stats){
		.delivered = counter(&ix->delivered),
		.retried = counter(&ix->retried),
		.dropped = counter(&ix->dropped),
		.unknown = counter(&ix->unknown),
		.failed_batches = counter(&ix->failed_batches),
	};
}

void influx__close_stats(struct influx *ix, struct influx_stats *st)
{
	struct influx_stats local;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (!ix)
		return;
	pthread_mutex_lock(&ix->lock);
	ix->closing = true;
	ix->deadline_ms = mono_ms() + ix->tune.close_ms;
	pthread_cond_signal(&ix->wake);
	pthread_mutex_unlock(&ix->lock);
	if (ix->thread_started)
		pthread_join(ix->thread, NULL);

	/* whatever the deadline left in the queue was not delivered */
	while (ix->count)
		drop_oldest(ix);
	influx__stats(ix, st);
	influx_free(ix);
}

void influx__close(struct influx *ix)
{
	influx__close_stats(ix, NULL);
}
