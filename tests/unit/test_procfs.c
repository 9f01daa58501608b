/*
 * proc/: the parsers of /proc text, on lines as the kernel writes them and
 * on lines no kernel writes (the text is untrusted).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "proc/maps.h"
#include "proc/syscall.h"
#include "unit.h"

/* ---------------------------------------------------------------- maps */

TEST(proc_maps_file_line)
{
	struct proc_map m;

	CHECK(proc_maps_parse_line("7f060eabc000-7f060eabe000 r-xp 001d3000 fe:01 332835"
				   "                     /usr/lib/x86_64-linux-gnu/libc.so.6\n",
				   &m) == 0);
	CHECK(m.start == 0x7f060eabc000ULL && m.end == 0x7f060eabe000ULL);
	CHECK(m.readable && !m.writable && m.executable && !m.shared);
	CHECK(m.offset == 0x1d3000);
	CHECK(m.dev_major == 0xfe && m.dev_minor == 1 && m.inode == 332835);
	CHECK_STR(m.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	CHECK(!m.deleted);
	CHECK_STR(m.range, "7f060eabc000-7f060eabe000");
}

TEST(proc_maps_path_with_spaces_and_deleted)
{
	struct proc_map m;

	CHECK(proc_maps_parse_line("1000-2000 rw-s 00000000 00:01 7  /tmp/a b  c\n", &m) == 0);
	CHECK_STR(m.path, "/tmp/a b  c");
	CHECK(m.shared && !m.deleted);
	CHECK(proc_maps_parse_line("7f03ce800000-7f040e800000 rw-s 00000000 00:01 1275  "
				   "  /usr/lib/libc.so.6 (deleted)\n",
				   &m) == 0);
	CHECK_STR(m.path, "/usr/lib/libc.so.6 (deleted)");
	CHECK(m.deleted && m.inode == 1275);
	/* only at the end is it the kernel's mark */
	CHECK(proc_maps_parse_line("1000-2000 r--p 0 fe:00 9 /tmp/x (deleted) y\n", &m) == 0);
	CHECK(!m.deleted);
	/* what looks like another line's fields is part of the name */
	CHECK(proc_maps_parse_line("1000-2000 rw-p 00000000 fe:00 9 /tmp/x 1000-2000 rw-s\n", &m) ==
	      0);
	CHECK(!m.shared);
	CHECK_STR(m.path, "/tmp/x 1000-2000 rw-s");
}

TEST(proc_maps_anonymous_heap_stack)
{
	struct proc_map m;

	CHECK(proc_maps_parse_line("7f03b8000000-7f03b8021000 rw-p 00000000 00:00 0 \n", &m) == 0);
	CHECK_STR(m.path, "");
	CHECK(m.inode == 0 && !m.deleted);
	CHECK(proc_maps_parse_line("7f03b8000000-7f03b8021000 rw-p 00000000 00:00 0", &m) == 0);
	CHECK_STR(m.path, "");
	CHECK(proc_maps_parse_line("55893c9af000-55893c9d0000 rw-p 00000000 00:00 0    [heap]\n",
				   &m) == 0);
	CHECK_STR(m.path, "[heap]");
	CHECK(proc_maps_parse_line("7ffd9e8e3000-7ffd9e904000 rw-p 00000000 00:00 0          "
				   "                [stack]\n",
				   &m) == 0);
	CHECK_STR(m.path, "[stack]");
	CHECK(m.readable && m.writable && !m.executable);
}

TEST(proc_maps_range_is_the_map_files_name)
{
	struct proc_map m;

	/* maps pads to 8 digits; map_files names have no leading zeros */
	CHECK(proc_maps_parse_line("00400000-00452000 r-xp 00000000 fe:00 12 /bin/x\n", &m) == 0);
	CHECK_STR(m.range, "400000-452000");
	CHECK(proc_maps_parse_line("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  "
				   "[vsyscall]\n",
				   &m) == 0);
	CHECK_STR(m.range, "ffffffffff600000-ffffffffff601000");
}

TEST(proc_maps_long_path_truncated)
{
	static const char head[] = "1000-2000 rw-p 00000000 fe:00 9 /";
	size_t n = PROC_MAP_PATH_LEN + 200;
	char *line = malloc(sizeof(head) + n + 16);
	struct proc_map m;

	CHECK(line != NULL);
	memcpy(line, head, sizeof(head) - 1);
	memset(line + sizeof(head) - 1, 'x', n);
	strcpy(line + sizeof(head) - 1 + n, PROC_MAP_DELETED "\n");
	if (proc_maps_parse_line(line, &m) != 0) {
		free(line);
		CHECK(!"a long path is a valid line");
	}
	free(line);
	CHECK(strlen(m.path) == PROC_MAP_PATH_LEN - 1);
	CHECK(m.deleted); /* said by the whole line, not the part kept */
}

TEST(proc_maps_malformed)
{
	static const char *const bad[] = {
		"",
		"\n",
		"1000 rw-p 00000000 00:00 0\n",		    /* no end */
		"2000-1000 rw-p 00000000 00:00 0\n",	    /* end before start */
		"1000-1000 rw-p 00000000 00:00 0\n",	    /* empty */
		"10g0-2000 rw-p 00000000 00:00 0\n",	    /* not hex */
		"1000-2000 rwzp 00000000 00:00 0\n",	    /* bad permission */
		"1000-2000 rw-",			    /* truncated permissions */
		"1000-2000 rw-p\n",			    /* truncated */
		"1000-2000 rw-p 00000000 00:00\n",	    /* no inode */
		"1000-2000 rw-p 00000000 0000 0\n",	    /* no minor */
		"1000-2000 rw-p 00000000 :00 0\n",	    /* no major */
		"1000-2000 rw-p 00000000 123456789:00 0\n", /* major over 32 bits */
		"1000-2000 rw-p 00000000 00:00 x /a\n",	    /* inode not decimal */
		"1000-2000 rw-p 00000000 00:00 12x /a\n",
		"1000-2000 rw-p 00000000 00:00 99999999999999999999 /a\n", /* over 64 bits */
		"1000-2000 rw-p 0000000x 00:00 0\n",			   /* bad offset */
		"11111111111111111-2000 rw-p 0 00:00 0\n",		   /* more than 64 bits */
	};
	struct proc_map m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(why, why_len, "accepted \"%s\"", bad[i]);
		if (proc_maps_parse_line(bad[i], &m) != -1)
			return;
	}
	why[0] = 0;
}

TEST(proc_maps_of_this_process)
{
	struct proc_maps it;
	struct proc_map *m = malloc(sizeof(*m));
	int n = 0, rc, found = 0;
	uint64_t prev_end = 0, here = (uint64_t)(uintptr_t)&proc_maps_of_this_process;

	CHECK(m != NULL);
	if (proc_maps_open(&it, getpid())) {
		free(m);
		CHECK(!"cannot open /proc/self/maps");
	}
	while ((rc = proc_maps_next(&it, m)) > 0) {
		n++;
		found |= m->executable && here >= m->start && here < m->end;
		if (m->start < prev_end)
			break;
		prev_end = m->end;
	}
	proc_maps_close(&it);
	free(m);
	CHECK(rc == 0 && n > 5);
	CHECK(found); /* this code is in an executable mapping */
	CHECK(proc_maps_open(&it, 0) == -1 && errno == ENOENT);
	proc_maps_close(&it);
}

/* ---------------------------------------------------------------- syscall */

TEST(proc_syscall_in_a_call)
{
	struct proc_syscall s;

	CHECK(proc_syscall_parse("202 0x562dde8cf2a0 0x80 0x2 0x0 0x0 0x0 0x7ffd3777c648 "
				 "0x7efdab0fc12b\n",
				 &s) == 0);
	CHECK(s.state == PROC_SYSCALL_IN && s.nr == 202);
	CHECK(s.args[0] == 0x562dde8cf2a0ULL && s.args[1] == 0x80 && s.args[2] == 2);
	CHECK(s.args[3] == 0 && s.args[5] == 0);
	/* read(2), and no newline at the end */
	CHECK(proc_syscall_parse("0 0x3 0x7ffe10 0x1000 0x0 0x0 0xffffffffffffffff", &s) == 0);
	CHECK(s.state == PROC_SYSCALL_IN && s.nr == 0 && s.args[0] == 3);
	CHECK(s.args[5] == 0xffffffffffffffffULL);
}

TEST(proc_syscall_running_or_outside)
{
	struct proc_syscall s;

	CHECK(proc_syscall_parse("running\n", &s) == 0);
	CHECK(s.state == PROC_SYSCALL_RUNNING);
	CHECK(proc_syscall_parse("-1 0x7ffd3777c648 0x7efdab0fc12b\n", &s) == 0);
	CHECK(s.state == PROC_SYSCALL_NONE);
}

TEST(proc_syscall_malformed)
{
	static const char *const bad[] = {
		"",
		"\n",
		"abc\n",
		"202\n",				      /* no arguments */
		"202 0x5600 0x80\n",			      /* truncated */
		"7 0x7ffe0 0x1 0x2\n",			      /* truncated, not a futex */
		"202 5600 0x80 0x2 0x0 0x0 0x0 0x1 0x2\n",    /* no 0x */
		"202 0x 0x80 0x2 0x0 0x0 0x0 0x1 0x2\n",      /* no digits */
		"202 0x56zz 0x80 0x2 0x0 0x0 0x0 0x1 0x2\n",  /* not hex */
		"202x 0x5600 0x80 0x2 0x0 0x0 0x0 0x1 0x2\n", /* not a number */
		"202 0x1ffffffffffffffff 0x80 0x2 0x0 0x0 0x0 0x1 0x2\n", /* over 64 bits */
		"99999999999999999999 0x1 0x2 0x3 0x4 0x5 0x6\n",	  /* over a long */
	};
	struct proc_syscall s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(why, why_len, "accepted \"%s\"", bad[i]);
		if (proc_syscall_parse(bad[i], &s) != -1)
			return;
	}
	why[0] = 0;
}

TEST(proc_syscall_of_this_thread)
{
	struct proc_syscall s;

	/* a thread reading its own file is in that read(2) */
	CHECK(proc_syscall_read(getpid(), getpid(), &s) == 0);
	CHECK(s.state == PROC_SYSCALL_IN && s.nr == SYS_read);
	CHECK(proc_syscall_read(getpid(), 0, &s) == -1 && errno == ENOENT);
}
