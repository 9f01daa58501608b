/*
 * Epoll instances from /proc: the syscall line of a thread in an epoll wait
 * (lines as kernel 6.18 writes them), the fdinfo identity, and a live
 * check: an epoll created here and inherited by a forked child is shared,
 * one the child creates is not.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>
#include "proc/epoll.h"
#include "unit.h"

TEST(epoll_syscall_line_wait)
{
	int fd = -1;

	/* Python's select.epoll.poll(5) in a thread: epoll_wait(3, events, 1023, 5000) */
	CHECK(epoll_parse_wait("232 0x3 0x7f4db4000ba0 0x3ff 0x1388 0x0 0x7f4dbaf4e6e8 "
			       "0x7f4dba344a30 0x7f4dba926f36\n",
			       &fd) == 1);
	CHECK(fd == 3);
	CHECK(epoll_parse_wait("281 0x1c 0x7ffc 0x80 0xffffffffffffffff 0x0 0x8 0x7ffd 0x7f2\n",
			       &fd) == 1);
	CHECK(fd == 28);
	CHECK(epoll_parse_wait("441 0x7 0x7ffc 0x80 0x0 0x0 0x8 0x7ffd 0x7f2", &fd) == 1);
	CHECK(fd == 7);
	/* only the low 32 bits of the register are the int the kernel takes */
	CHECK(epoll_parse_wait("232 0xdeadbeef00000005 0x7ffc 0x1 0x0 0x0 0x0 0x7ffd 0x7f2\n",
			       &fd) == 1);
	CHECK(fd == 5);
}

TEST(epoll_syscall_line_not_a_wait)
{
	int fd = -7;

	CHECK(epoll_parse_wait("running\n", &fd) == 0);
	CHECK(epoll_parse_wait("-1 0x7ffd3777c648 0x7efdab0fc12b\n", &fd) == 0);
	/* futex, read, poll, epoll_ctl (233), epoll_create1 (291) */
	CHECK(epoll_parse_wait("202 0x5600 0x80 0x2 0x0 0x0 0x0 0x7ffe1 0x7f2\n", &fd) == 0);
	CHECK(epoll_parse_wait("0 0x3 0x7f0c 0x20000 0x7f0c 0xffffffff 0x0 0x7ffd 0x7f0c\n", &fd) ==
	      0);
	CHECK(epoll_parse_wait("7 0x7ffe0 0x1 0xffffffff 0x0 0x0 0x0 0x7ffe1 0x7f2\n", &fd) == 0);
	CHECK(epoll_parse_wait("233 0x3 0x1 0x5 0x7ffc 0x0 0x0 0x7ffd 0x7f2\n", &fd) == 0);
	CHECK(epoll_parse_wait("291 0x80000 0x0 0x0 0x0 0x0 0x0 0x7ffd 0x7f2\n", &fd) == 0);
	/* a negative fd is no epoll */
	CHECK(epoll_parse_wait("232 0xffffffff 0x7ffc 0x1 0x0 0x0 0x0 0x7ffd 0x7f2\n", &fd) == 0);
	CHECK(fd == -7);
}

TEST(epoll_syscall_line_malformed)
{
	int fd = -7;

	CHECK(epoll_parse_wait("", &fd) < 0);
	CHECK(epoll_parse_wait("\n", &fd) < 0);
	CHECK(epoll_parse_wait("232", &fd) < 0);
	CHECK(epoll_parse_wait("232 ", &fd) < 0);
	CHECK(epoll_parse_wait("232 3 0x7ffc", &fd) < 0); /* not hex */
	CHECK(epoll_parse_wait("232x 0x3 0x7ffc", &fd) < 0);
	CHECK(epoll_parse_wait("232 0xzz 0x7ffc", &fd) < 0);
	CHECK(epoll_parse_wait("232 0x3g 0x7ffc", &fd) < 0);
	CHECK(epoll_parse_wait("runnin", &fd) < 0);
	CHECK(epoll_parse_wait("99999999999999999999999 0x3", &fd) < 0);
	CHECK(epoll_parse_wait("232 0x111111111111111111111 0x1", &fd) < 0);
	CHECK(fd == -7);
}

/* fdinfo of an epoll fd on 6.18 (flags and pos differ per open file and fd). */
#define FDINFO(flags, tfds) "pos:\t0\nflags:\t" flags "\nmnt_id:\t17\nino:\t1039\n" tfds
#define TFD5 "tfd:        5 events:       19 data:                5  pos:0 ino:4420 sdev:f\n"
#define TFD9 "tfd:        9 events:       19 data:                9  pos:0 ino:4431 sdev:f\n"

TEST(epoll_fdinfo_identity)
{
	uint64_t a = 0, b = 0;

	CHECK(epoll_fdinfo_id(FDINFO("02000002", TFD5 TFD9), &a) == 2);
	/* the same instance through an fd without O_CLOEXEC: same id */
	CHECK(epoll_fdinfo_id(FDINFO("02", TFD5 TFD9), &b) == 2);
	CHECK(a == b);
	/* another interest list: another id */
	CHECK(epoll_fdinfo_id(FDINFO("02", TFD5), &b) == 1);
	CHECK(a != b);
	CHECK(epoll_fdinfo_id(FDINFO("02", TFD9 TFD5), &b) == 2);
	CHECK(a != b);
	/* empty: an id, but says so */
	CHECK(epoll_fdinfo_id(FDINFO("02", ""), &b) == 0);
	/* a last line without its newline is still read */
	CHECK(epoll_fdinfo_id("ino:\t1039\ntfd: 5 events: 19 data: 5 pos:0 ino:4420 sdev:f", &b) ==
	      1);
	/* not an epoll's fdinfo, or garbage */
	CHECK(epoll_fdinfo_id("pos:\t0\nflags:\t02\n", &b) < 0);
	CHECK(epoll_fdinfo_id("", &b) < 0);
	CHECK(epoll_fdinfo_id("\n\n\ntfd:", &b) < 0);
}

/* The child of the live test: waits on the inherited epoll after creating its own. */
static void epoll_child(int inherited, int report)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	int own = epoll_create1(EPOLL_CLOEXEC), p[2];

	if (own < 0 || pipe(p))
		_exit(1);
	ev.data.fd = p[0];
	if (epoll_ctl(own, EPOLL_CTL_ADD, p[0], &ev))
		_exit(1);
	if (write(report, &own, sizeof(own)) != sizeof(own))
		_exit(1);
	for (;;)
		epoll_wait(inherited, &out, 1, -1);
}

TEST(live_epoll_inherited_and_new)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep, p[2], rep[2], own = -1, waiting = -1, r_wait = -9, shared = -9, not_shared = -9;
	int id_parent = -9, id_child = -9, id_own = -9, is_pipe = -9, r_pipe = -9, e_pipe = 0;
	uint64_t a = 0, b = 1, c = 0;
	pid_t child;

	ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0 && pipe(p) == 0 && pipe(rep) == 0);
	ev.data.fd = p[0];
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
	child = fork();
	CHECK(child >= 0);
	if (child == 0)
		epoll_child(ep, rep[1]);
	if (read(rep[0], &own, sizeof(own)) == sizeof(own)) {
		/* wait for the child to be in epoll_wait, at most 5 s */
		for (int i = 0; i < 5000; i++) {
			r_wait = epoll_waiting_fd(child, child, &waiting);
			if (r_wait == 1)
				break;
			usleep(1000);
		}
		shared = epoll_shared_with(child, ep, getpid());
		not_shared = epoll_shared_with(child, own, getpid());
		id_parent = epoll_instance_id(getpid(), ep, &a);
		id_child = epoll_instance_id(child, ep, &b);
		id_own = epoll_instance_id(child, own, &c);
		is_pipe = epoll_is_instance(child, p[0]);
		r_pipe = epoll_shared_with(child, p[0], getpid());
		e_pipe = errno;
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(ep);
	close(p[0]);
	close(p[1]);
	close(rep[0]);
	close(rep[1]);
	CHECK(own >= 0);
	CHECK(r_wait == 1 && waiting == ep);
	CHECK(shared == 1);
	CHECK(not_shared == 0);
	CHECK(id_parent == 1 && id_child == 1 && a == b);
	CHECK(id_own == 1 && c != a);
	CHECK(is_pipe == 0);
	CHECK(r_pipe == -1 && e_pipe == ENOTTY);
}

TEST(live_epoll_moved_fd_number)
{
	int ep = epoll_create1(0), moved = -1, shared = -9, self_other = -9;
	int other = epoll_create1(0);
	pid_t child;

	CHECK(ep >= 0 && other >= 0);
	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		/* the child keeps the instance under another number only */
		if (dup2(ep, 100) < 0)
			_exit(1);
		close(ep);
		for (;;)
			pause();
	}
	/* until the child has moved it: 100 is an epoll, the old number is closed */
	for (int i = 0; i < 5000; i++) {
		moved = epoll_is_instance(child, 100) == 1 && epoll_is_instance(child, ep) != 1;
		if (moved)
			break;
		usleep(1000);
	}
	shared = epoll_shared_with(child, 100, getpid());
	/* and the other way round: the child inherited our other epoll too */
	self_other = epoll_shared_with(getpid(), other, child);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(ep);
	close(other);
	CHECK(moved == 1);
	CHECK(shared == 1);
	CHECK(self_other == 1);
}
