/*
 * The InfluxDB exporter against a tiny loopback HTTP server of our own:
 * URLs, credentials, gzip bodies, retries, the bounded buffer and the
 * close deadline. Each test takes well under two seconds.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "out/influx.h"
#include "out/lineproto.h"
#include "out/output.h"
#include "unit.h"

/* ---- a one-request-per-connection HTTP server ---- */

struct mock {
	int fd, port;
	pthread_t thread;
	bool stop; /* atomic: set by the test, read by the server */
	/* the script: response i has status[min(i, nstatus - 1)] */
	int status[4];
	int nstatus;
	const char *retry_after; /* sent with the first response only */
	const char *error_body;	 /* sent with non-2xx responses */
	/* what was seen */
	pthread_mutex_t lock;
	int requests;
	char path[256], auth[256], encoding[64];
	char accepted[16384]; /* the gunzipped bodies of 2xx responses */
};

static int listen_loopback(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* A port nothing listens on: connections are refused at once. */
static int dead_port(void)
{
	int port = 0, fd = listen_loopback(&port);

	if (fd >= 0)
		close(fd);
	return port;
}

static void header_value(const char *head, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);

	out[0] = '\0';
	for (const char *p = head; p && *p; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL) {
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1 + strspn(p + n + 1, " ");
			size_t len = strcspn(v, "\r\n");

			snprintf(out, size, "%.*s", (int)(len < size ? len : size - 1), v);
			return;
		}
	}
}

static size_t gunzip(const char *in, size_t len, char *out, size_t size)
{
	z_stream zs = { 0 };
	size_t n;

	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return 0;
	zs.next_in = (Bytef *)in;
	zs.avail_in = len;
	zs.next_out = (Bytef *)out;
	zs.avail_out = size - 1;
	inflate(&zs, Z_FINISH);
	n = zs.total_out;
	inflateEnd(&zs);
	out[n] = '\0';
	return n;
}

/* Reads one request (head and Content-Length body) into buf; its length or -1. */
static int read_request(int c, char *buf, size_t size, char **body)
{
	size_t got = 0;
	char clen[32];

	for (;;) {
		ssize_t n = read(c, buf + got, size - 1 - got);
		char *end;

		if (n <= 0)
			return -1;
		got += n;
		buf[got] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		header_value(buf, "Content-Length", clen, sizeof(clen));
		*body = end + 4;
		if (got - (*body - buf) >= (size_t)atoi(clen))
			return (int)got;
	}
}

static void serve_one(struct mock *m, int c)
{
	static char buf[1 << 20], plain[16384];
	char *body = NULL, reply[1024];
	const char *extra = "";
	int status, n, i;

	n = read_request(c, buf, sizeof(buf), &body);
	if (n < 0)
		return;
	pthread_mutex_lock(&m->lock);
	i = m->requests++;
	status = m->status[i < m->nstatus ? i : m->nstatus - 1];
	sscanf(buf, "POST %255s", m->path);
	header_value(buf, "Authorization", m->auth, sizeof(m->auth));
	header_value(buf, "Content-Encoding", m->encoding, sizeof(m->encoding));
	if (status / 100 == 2) {
		size_t have = strlen(m->accepted);

		gunzip(body, n - (body - buf), plain, sizeof(plain));
		snprintf(m->accepted + have, sizeof(m->accepted) - have, "%s", plain);
	} else {
		extra = m->error_body ? m->error_body : "";
	}
	pthread_mutex_unlock(&m->lock);
	n = snprintf(reply, sizeof(reply),
		     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s%s%s\r\n%s",
		     status, strlen(extra), i == 0 && m->retry_after ? "Retry-After: " : "",
		     i == 0 && m->retry_after ? m->retry_after : "",
		     i == 0 && m->retry_after ? "\r\n" : "", extra);
	if (write(c, reply, n) != n)
		return;
}

static void *mock_main(void *arg)
{
	struct mock *m = arg;

	while (!__atomic_load_n(&m->stop, __ATOMIC_RELAXED)) {
		struct pollfd p = { .fd = m->fd, .events = POLLIN };
		int c;

		if (poll(&p, 1, 20) <= 0)
			continue;
		c = accept(m->fd, NULL, NULL);
		if (c < 0)
			continue;
		serve_one(m, c);
		close(c);
	}
	return NULL;
}

static bool mock_start(struct mock *m, int status)
{
	if (!m->nstatus) {
		m->status[0] = status;
		m->nstatus = 1;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->fd = listen_loopback(&m->port);
	return m->fd >= 0 && pthread_create(&m->thread, NULL, mock_main, m) == 0;
}

static void mock_stop(struct mock *m)
{
	__atomic_store_n(&m->stop, true, __ATOMIC_RELAXED);
	pthread_join(m->thread, NULL);
	close(m->fd);
}

/* ---- helpers ---- */

static struct event test_event(int pid)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_FORK;
	ev.time_ns = 1700000000000000000ULL + pid;
	ev.pid = pid;
	strcpy(ev.comm, "py, w=1");
	ev.fork.tid = pid;
	ev.fork.child_pid = pid + 1;
	return ev;
}

static void fast_tuning(struct influx_tuning *t)
{
	influx_tuning_defaults(t);
	t->interval_ms = 10;
	t->backoff_min_ms = 10;
	t->backoff_max_ms = 40;
	t->close_ms = 2000;
	t->host = "h1";
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* stderr into a file while the exporter runs; the CHECKs come after. */
struct capture {
	int saved;
	FILE *tmp;
};

static void capture_start(struct capture *c)
{
	fflush(stderr);
	c->tmp = tmpfile();
	c->saved = dup(2);
	dup2(fileno(c->tmp), 2);
}

static void capture_end(struct capture *c, char *out, size_t size)
{
	size_t n;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	rewind(c->tmp);
	n = fread(out, 1, size - 1, c->tmp);
	out[n] = '\0';
	fclose(c->tmp);
}

static int count_lines(const char *s, const char *prefix)
{
	int n = 0;

	for (const char *p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		n += !strncmp(p, prefix, strlen(prefix));
	return n;
}

/* ---- tests ---- */

TEST(influx_v1_write_url_basic_auth_and_gzip)
{
	static struct mock m;
	struct influx_config o = { .db = "my db", .user = "ft" };
	struct influx_tuning t;
	struct influx_stats st;
	struct influx *ix;
	char url[64], err[512], want[4096] = "", line[512];

	CHECK(mock_start(&m, 204));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", m.port);
	o.url = url;
	setenv("INFLUX_PASSWORD", "pw", 1);
	fast_tuning(&t);
	ix = influx__new_tuned(&o, &t, err, sizeof(err));
	unsetenv("INFLUX_PASSWORD");
	CHECK(ix != NULL);
	for (int pid = 100; pid < 103; pid++) {
		struct event ev = test_event(pid);

		influx__push(ix, &ev);
		lineproto_format(&ev, "h1", line, sizeof(line));
		strcat(want, line);
	}
	influx__close_stats(ix, &st);
	mock_stop(&m);
	CHECK(st.delivered == 3 && st.dropped == 0 && st.retried == 0 && st.failed_batches == 0);
	CHECK_STR(m.path, "/write?db=my%20db&precision=ns");
	CHECK_STR(m.auth, "Basic ZnQ6cHc="); /* ft:pw */
	CHECK_STR(m.encoding, "gzip");
	CHECK_STR(m.accepted, want);
}

TEST(influx_v2_token_org_bucket)
{
	static struct mock m;
	struct influx_config o = { .org = "my org", .bucket = "b/1" };
	struct influx_tuning t;
	struct influx_stats st;
	struct influx *ix;
	struct event ev = test_event(7);
	char url[64], err[512], line[512];

	CHECK(mock_start(&m, 204));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", m.port);
	o.url = url;
	setenv("INFLUX_TOKEN", "s3cret==", 1);
	fast_tuning(&t);
	ix = influx__new_tuned(&o, &t, err, sizeof(err));
	unsetenv("INFLUX_TOKEN");
	CHECK(ix != NULL);
	influx__push(ix, &ev);
	influx__close_stats(ix, &st);
	mock_stop(&m);
	lineproto_format(&ev, "h1", line, sizeof(line));
	CHECK(st.delivered == 1);
	CHECK_STR(m.path, "/api/v2/write?org=my%20org&bucket=b%2F1&precision=ns");
	CHECK_STR(m.auth, "Token s3cret==");
	CHECK_STR(m.encoding, "gzip");
	CHECK_STR(m.accepted, line);
}

/* Two events of one series in the same nanosecond both arrive, the second 1 ns
 * later: the output moves it on before any sink, the exporter included, sees it. */
TEST(influx_same_timestamp_events_both_kept)
{
	static struct mock m;
	struct output_config c = { .format = FORMAT_JSON, .path = "/dev/null", .influx.db = "d" };
	struct output *out;
	struct event a = test_event(5), b = test_event(5);
	uint64_t t = a.time_ns;
	char url[64], host[256], want[1024], line[512], said[1024];
	struct capture cap;

	CHECK(mock_start(&m, 204));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", m.port);
	c.influx.url = url;
	out = output__new(&c);
	CHECK(out != NULL);
	capture_start(&cap);
	output__emit(out, &a);
	output__emit(out, &b);
	output__finish(out);
	output__free(out);
	capture_end(&cap, said, sizeof(said));
	mock_stop(&m);
	CHECK(a.time_ns == t && b.time_ns == t + 1);
	lineproto_host_tag(host, sizeof(host));
	lineproto_format(&a, host, want, sizeof(want));
	lineproto_format(&b, host, line, sizeof(line));
	strcat(want, line);
	CHECK(strstr(said, "influx: 2 points delivered") != NULL);
	CHECK_STR(m.accepted, want);
}

/* InfluxDB 3 takes a bucket (its database) without an org. */
TEST(influx_v3_bucket_without_org)
{
	static struct mock m;
	struct influx_config o = { .bucket = "db3" };
	struct influx_tuning t;
	struct influx_stats st;
	struct influx *ix;
	struct event ev = test_event(7);
	char url[64], err[512];

	CHECK(mock_start(&m, 204));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", m.port);
	o.url = url;
	setenv("INFLUX_TOKEN", "t", 1);
	fast_tuning(&t);
	ix = influx__new_tuned(&o, &t, err, sizeof(err));
	unsetenv("INFLUX_TOKEN");
	CHECK(ix != NULL);
	influx__push(ix, &ev);
	influx__close_stats(ix, &st);
	mock_stop(&m);
	CHECK(st.delivered == 1);
	CHECK_STR(m.path, "/api/v2/write?bucket=db3&precision=ns");
}

/* 503 with Retry-After: 1, then 429, then 204: two retries, the first a second later. */
TEST(influx_retries_and_honours_retry_after)
{
	static struct mock m = { .status = { 503, 429, 204 },
				 .nstatus = 3,
				 .retry_after = "1",
				 .error_body = "{\"error\":\"busy\"}" };
	struct influx_config o = { .db = "d" };
	struct influx_tuning t;
	struct influx_stats st;
	struct influx *ix;
	struct timespec t0;
	struct capture cap;
	char url[64], err[512], out[4096];
	double took;

	CHECK(mock_start(&m, 0));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", m.port);
	o.url = url;
	fast_tuning(&t);
	t.close_ms = 5000;
	capture_start(&cap);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ix = influx__new_tuned(&o, &t, err, sizeof(err));
	if (ix) {
		struct event a = test_event(1), b = test_event(2);

		influx__push(ix, &a);
		influx__push(ix, &b);
	}
	influx__close_stats(ix, &st);
	took = seconds_since(&t0);
	capture_end(&cap, out, sizeof(out));
	mock_stop(&m);
	CHECK(ix != NULL);
	CHECK(st.delivered == 2 && st.retried == 2 && st.dropped == 0 && st.failed_batches == 0);
	CHECK(m.requests == 3);
	CHECK(took >= 0.95);
	CHECK(count_lines(out, "forktrace: cannot write to InfluxDB") == 1);
	CHECK(strstr(out, "HTTP 503: busy") != NULL);
	CHECK(count_lines(out, "forktrace: InfluxDB at http://127.0.0.1:") == 1); /* back again */
}

/* A wrong database: one line on stderr however many batches it refuses. */
TEST(influx_persistent_error_reported_once)
{
	static struct mock m = { .error_body = "{\"error\":\"database not found: \\\"nope\\\"\"}" };
	struct influx_config o = { .db = "nope" };
	struct influx_tuning t;
	struct influx_stats st;
	struct influx *ix;
	struct capture cap;
	char url[80], err[512], out[4096];

	CHECK(mock_start(&m, 404));
	/* credentials in the URL are used, and never repeated in a message */
	snprintf(url, sizeof(url), "http://u:hunter2@127.0.0.1:%d", m.port);
	o.url = url;
	fast_tuning(&t);
	t.batch_lines = 2;
	capture_start(&cap);
	ix = influx__new_tuned(&o, &t, err, sizeof(err));
	for (int pid = 1; ix && pid <= 5; pid++) {
		struct event ev = test_event(pid);

		influx__push(ix, &ev);
	}
	influx__close_stats(ix, &st);
	capture_end(&cap, out, sizeof(out));
	mock_stop(&m);
	CHECK(ix != NULL);
	CHECK(st.delivered == 0 && st.dropped == 5 && st.retried == 0);
	CHECK(st.failed_batches == (uint64_t)m.requests && m.requests >= 3);
	CHECK_STR(m.auth, "Basic dTpodW50ZXIy"); /* u:hunter2 */
	CHECK(count_lines(out, "forktrace: ") == 1);
	CHECK(strstr(out, "HTTP 404: database not found: \"nope\" — create the database") != NULL);
	CHECK(strstr(out, "http://***@127.0.0.1") != NULL);
	CHECK(strstr(out, "hunter2") == NULL);
}

/* 1.x's partial write says how many points it refused: the rest count as delivered. */
TEST(influx_partial_write_counts_exactly)
{
	static struct mock m = {
		.error_body = "{\"error\":\"partial write: field type conflict: input field "
			      "\\\"tid\\\" on measurement \\\"forktrace\\\" is type string, "
			      "already exists as type integer dropped=1\"}"
	};
	struct influx_config o = { .db = "d" };
	struct influx_tuning t;
	struct influx_stats st;
	struct influx *ix;
	struct capture cap;
	char url[64], err[512], out[4096];

	CHECK(mock_start(&m, 400));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", m.port);
	o.url = url;
	fast_tuning(&t);
	t.interval_ms = 60000; /* one batch, sent at close */
	capture_start(&cap);
	ix = influx__new_tuned(&o, &t, err, sizeof(err));
	for (int pid = 1; ix && pid <= 3; pid++) {
		struct event ev = test_event(pid);

		influx__push(ix, &ev);
	}
	influx__close_stats(ix, &st);
	capture_end(&cap, out, sizeof(out));
	mock_stop(&m);
	CHECK(ix != NULL);
	CHECK(m.requests == 1);
	CHECK(st.delivered == 2 && st.dropped == 1 && st.failed_batches == 0);
	CHECK(count_lines(out, "forktrace: cannot write to InfluxDB") == 1);
	CHECK(strstr(out, "write to a fresh database") != NULL);
}

/* A full buffer drops the oldest lines, each counted; the newest are delivered. */
TEST(influx_full_buffer_drops_oldest)
{
	static struct mock m;
	struct influx_config o = { .db = "d" };
	struct influx_tuning t;
	struct influx_stats mid, st;
	struct influx *ix;
	char url[64], err[512], want[4096] = "", line[512];

	CHECK(mock_start(&m, 204));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", m.port);
	o.url = url;
	fast_tuning(&t);
	t.capacity_lines = 10;
	t.interval_ms = 60000; /* nothing leaves the buffer before close */
	ix = influx__new_tuned(&o, &t, err, sizeof(err));
	CHECK(ix != NULL);
	for (int pid = 1; pid <= 25; pid++) {
		struct event ev = test_event(pid);

		influx__push(ix, &ev);
		lineproto_format(&ev, "h1", line, sizeof(line));
		if (pid > 15)
			strcat(want, line);
	}
	influx__stats(ix, &mid);
	influx__close_stats(ix, &st);
	mock_stop(&m);
	CHECK(mid.dropped == 15 && mid.delivered == 0);
	CHECK(st.dropped == 15 && st.delivered == 10);
	CHECK_STR(m.accepted, want);
}

/* Server down for good: close gives up at its deadline and counts everything. */
TEST(influx_server_down_counts_all_at_close)
{
	struct influx_config o = { .db = "d" };
	struct influx_tuning t;
	struct influx_stats st;
	struct influx *ix;
	struct capture cap;
	struct timespec t0;
	char url[64], err[512], out[4096];
	double took;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", dead_port());
	o.url = url;
	fast_tuning(&t);
	t.capacity_lines = 10;
	t.close_ms = 300;
	capture_start(&cap);
	ix = influx__new_tuned(&o, &t, err, sizeof(err));
	for (int pid = 1; ix && pid <= 25; pid++) {
		struct event ev = test_event(pid);

		influx__push(ix, &ev);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	influx__close_stats(ix, &st);
	took = seconds_since(&t0);
	capture_end(&cap, out, sizeof(out));
	CHECK(ix != NULL);
	CHECK(st.delivered == 0 && st.dropped == 25);
	CHECK(st.failed_batches >= 1);
	CHECK(took < 1.0);
	CHECK(count_lines(out, "forktrace: cannot write to InfluxDB") == 1);
	CHECK(strstr(out, "retrying with backoff") != NULL);
}

/* A server that accepts and never answers cannot hold close past its deadline. */
TEST(influx_close_deadline_bounds_a_hung_server)
{
	struct influx_config o = { .db = "d" };
	struct influx_tuning t;
	struct influx_stats st;
	struct influx *ix;
	struct capture cap;
	struct timespec t0;
	char url[64], err[512], out[4096];
	int port, fd = listen_loopback(&port); /* listens, never accepts */
	struct event ev = test_event(1);
	double took;

	CHECK(fd >= 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	o.url = url;
	fast_tuning(&t);
	t.close_ms = 300;
	capture_start(&cap);
	ix = influx__new_tuned(&o, &t, err, sizeof(err));
	if (ix)
		influx__push(ix, &ev);
	usleep(200 * 1000); /* the request is in flight, with its 10 s timeout */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	influx__close_stats(ix, &st);
	took = seconds_since(&t0);
	capture_end(&cap, out, sizeof(out));
	close(fd);
	CHECK(ix != NULL);
	/* sent into the server's queue, never answered: it may yet hold it */
	CHECK(st.delivered == 0 && st.dropped == 0 && st.unknown == 1);
	CHECK(took < 1.5); /* the deadline, plus libcurl's at-least-once-a-second callback */
}

static bool refused(const struct influx_config *o, const char *want)
{
	char err[512] = "";
	struct influx *ix = influx__new(o, err, sizeof(err));

	if (ix) {
		influx__close(ix);
		return false;
	}
	return !strncmp(err, "forktrace: cannot ", 18) && strstr(err, " — ") && strstr(err, want) &&
	       !strchr(err, '\n');
}

TEST(influx_bad_environment_is_one_clear_line)
{
	struct influx_config o = { .url = "http://127.0.0.1:1", .db = "d", .user = "u" };

	unsetenv("INFLUX_TOKEN");
	unsetenv("INFLUX_PASSWORD");
	CHECK(refused(&o, "INFLUX_PASSWORD"));
	o.user = o.db = NULL;
	o.org = "o";
	o.bucket = "b";
	CHECK(refused(&o, "INFLUX_TOKEN"));
	o.org = o.bucket = NULL;
	o.db = "d";
	setenv("FORKTRACE_INFLUX_BUFFER", "many", 1);
	CHECK(refused(&o, "FORKTRACE_INFLUX_BUFFER"));
	unsetenv("FORKTRACE_INFLUX_BUFFER");
}

/* influx__new makes no request: a server that is down at start is no error. */
TEST(influx_new_does_not_need_the_server)
{
	struct influx_config o = { .db = "d" };
	char url[64], err[512];
	struct influx *ix;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", dead_port());
	o.url = url;
	ix = influx__new(&o, err, sizeof(err));
	CHECK(ix != NULL);
	influx__close(ix);
	influx__close(NULL);
}
