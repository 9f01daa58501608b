/*
 * elfsym: versioned dynamic symbols of the host's glibc. The libc under
 * test is the one this test program runs on (dladdr), so that what the
 * file says can be compared with what the dynamic linker bound (dlsym
 * picks the default version).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elf/elfsym.h"
#include "unit.h"

#define LIBC_PATH "/lib/x86_64-linux-gnu/libc.so.6"

/* libc.so.6 itself: under a sanitizer, RTLD_DEFAULT finds the runtime's
 * interceptors (libasan's pthread_mutex_lock) before libc's own symbols. */
static void *libc_handle(void)
{
	static void *h;

	if (!h)
		h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	return h;
}

/* The libc this process runs on, and its load address. */
static const char *libc_path(uintptr_t *base)
{
	static char path[512];
	Dl_info info;
	void *sym = libc_handle() ? dlsym(libc_handle(), "pthread_mutex_lock") : NULL;

	if (!sym || !dladdr(sym, &info) || !info.dli_fname)
		return NULL;
	snprintf(path, sizeof(path), "%s", info.dli_fname);
	*base = (uintptr_t)info.dli_fbase;
	return path;
}

/* Bytes [off, off+n) of a file. */
static int file_bytes(const char *path, uint64_t off, void *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		return -1;
	got = pread(fd, buf, n, (off_t)off);
	close(fd);
	return got == (ssize_t)n ? 0 : -1;
}

/* NAME resolves to what dlsym bound, and the file offset holds its code. */

/* The same instructions, but for breakpoints (int3, 0xcc) that a uprobe of
 * some other tracer on this host may have put into our copy of libc. */
static bool same_code(const unsigned char *mem, const unsigned char *file, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (mem[i] != file[i] && mem[i] != 0xcc)
			return false;
	return true;
}

static int matches_dlsym(const char *path, uintptr_t base, const char *name, struct elfsym *s,
			 char *why, size_t why_len)
{
	struct elfsym_file *f;
	char err[256];
	unsigned char mem[16], file[16];
	void *addr = dlsym(libc_handle(), name);
	int rc;

	f = elfsym_open(path, err, sizeof(err));
	if (!f) {
		snprintf(why, why_len, "elfsym_open(%s): %s", path, err);
		return -1;
	}
	rc = elfsym_lookup(f, name, s);
	elfsym_close(f);
	if (rc) {
		snprintf(why, why_len, "elfsym_lookup(%s) = %d", name, rc);
		return -1;
	}
	if (!addr) {
		snprintf(why, why_len, "dlsym(%s) failed", name);
		return -1;
	}
	if ((uintptr_t)addr - base != s->value) {
		snprintf(why, why_len, "%s: st_value %#llx, dlsym bound %#llx", name,
			 (unsigned long long)s->value,
			 (unsigned long long)((uintptr_t)addr - base));
		return -1;
	}
	memcpy(mem, addr, sizeof(mem));
	if (file_bytes(path, s->offset, file, sizeof(file)) || !same_code(mem, file, sizeof(mem))) {
		snprintf(why, why_len, "%s: the bytes at file offset %#llx are not its code", name,
			 (unsigned long long)s->offset);
		return -1;
	}
	return 0;
}

TEST(elfsym_cond_wait_default_version)
{
	struct elfsym s;
	uintptr_t base;
	const char *path = libc_path(&base);

	CHECK(path != NULL);
	if (matches_dlsym(path, base, "pthread_cond_wait", &s, why, why_len))
		return;
	CHECK_STR(s.version, "GLIBC_2.3.2");
	CHECK(s.default_version);
	CHECK(s.size > 100); /* not the small GLIBC_2.2.5 compat wrapper */
}

TEST(elfsym_versioned_symbols_resolve)
{
	/* libbpf 1.1 says "ambiguous match" for all of these */
	static const char *const names[] = {
		"sem_wait",
		"sem_trywait",
		"sem_timedwait",
		"sem_post",
		"pthread_mutex_trylock",
		"pthread_mutex_timedlock",
		"pthread_rwlock_rdlock",
		"pthread_rwlock_wrlock",
		"pthread_rwlock_unlock",
		"pthread_cond_timedwait",
		"pthread_mutex_lock",
		"pthread_mutex_unlock",
	};
	struct elfsym s;
	uintptr_t base;
	const char *path = libc_path(&base);

	CHECK(path != NULL);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (matches_dlsym(path, base, names[i], &s, why, why_len))
			return;
		CHECK(s.default_version);
	}
}

TEST(elfsym_fixed_path_and_offset)
{
	struct elfsym_file *f;
	struct elfsym s;
	char err[256];
	int rc;

	if (access(LIBC_PATH, R_OK))
		return; /* not a Debian/Ubuntu x86-64 layout */
	f = elfsym_open(LIBC_PATH, err, sizeof(err));
	CHECK(f != NULL);
	rc = elfsym_lookup(f, "sem_wait", &s);
	elfsym_close(f);
	CHECK(rc == 0);
	CHECK(elfsym_offset(LIBC_PATH, "sem_wait") == (int64_t)s.offset);
	CHECK(elfsym_offset(LIBC_PATH, "sem_wait") > 0);
}

TEST(elfsym_unknown_and_ifunc)
{
	struct elfsym_file *f;
	struct elfsym s;
	char err[256];
	uintptr_t base;
	const char *path = libc_path(&base);
	int none, versioned, ifunc;

	CHECK(path != NULL);
	f = elfsym_open(path, err, sizeof(err));
	CHECK(f != NULL);
	/* every lookup before a check: a failing check must not leak f */
	none = elfsym_lookup(f, "forktrace_no_such_symbol", &s);
	versioned = elfsym_lookup(f, "pthread_mutex_lock@@GLIBC_2.2.5", &s);
	ifunc = elfsym_lookup(f, "memcpy", &s);
	elfsym_close(f);
	CHECK(none == -ENOENT);
	CHECK(versioned == -ENOENT);
	/* memcpy is an IFUNC on x86-64: its symbol is the resolver */
	CHECK(ifunc == -ENOTSUP);
	CHECK(elfsym_offset(path, "forktrace_no_such_symbol") == -ENOENT);
	CHECK(elfsym_offset("/nonexistent/libc.so.6", "sem_wait") < 0);
}

TEST(elfsym_open_errors)
{
	char err[256] = "";

	CHECK(elfsym_open("/nonexistent/libc.so.6", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "/nonexistent/libc.so.6") != NULL);
	CHECK(elfsym_open("/proc/self/status", err, sizeof(err)) == NULL);
	CHECK(err[0] != '\0');
}
