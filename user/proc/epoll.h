/*
 * Epoll instances seen from /proc: which one a thread is waiting on, and
 * whether a forked child waits on one it shares with its parent (an event
 * loop carried across fork: both processes then take events from one
 * kernel queue). Nothing is attached to the traced program: a look at
 * /proc costs only the reader.
 *
 * The rule for "inherited": the child's epoll instance is inherited when
 * its parent holds the same instance. A child has no way to give a new
 * epoll to its parent except by passing the fd over a unix socket
 * (SCM_RIGHTS), or the parent taking it with pidfd_getfd(2); so an instance
 * both hold was created before the fork, barring those two.
 *
 * What identifies an instance, measured on kernel 6.18: every eventpoll
 * file shares one anonymous inode, so the ino: line of fdinfo and stat()'s
 * st_ino of /proc/PID/fd/FD are the same for all of them (and readlink
 * gives "anon_inode:[eventpoll]" for all). fdinfo does list the instance's
 * interest list ("tfd: N events: .. data: .. pos:0 ino:.. sdev:.."), which
 * tells instances apart only as far as their registrations differ. The
 * exact test is kcmp(2) KCMP_FILE, which says whether two fds of two
 * processes are one open file; that is what epoll_shared_with() uses.
 */
#ifndef FT_EPOLL_H
#define FT_EPOLL_H

#include <stdint.h>

/* x86_64 system call numbers (a 32-bit process's differ and is not recognized) */
#define EPOLL_NR_WAIT 232
#define EPOLL_NR_PWAIT 281
#define EPOLL_NR_PWAIT2 441

/*
 * The pure part: one /proc/PID/task/TID/syscall line. 1 if the thread is in
 * epoll_wait, epoll_pwait or epoll_pwait2 (*fd: its first argument, the
 * epoll fd), 0 if not (another system call, "running", "-1 sp pc" for a
 * thread blocked outside a system call), -1 if the line is garbage.
 */
int epoll_parse_wait(const char *line, int *fd);
/* The same for a syscall already read (proc/syscall.h). */
struct proc_syscall;
int epoll_wait_fd(const struct proc_syscall *s, int *fd);
/* Reads the line of one thread: as epoll_parse_wait, -1 also when the thread is gone. */
int epoll_waiting_fd(int pid, int tid, int *fd);

/* Is fd of pid an epoll instance? 1, 0, or -1 (gone, no such fd). */
int epoll_is_instance(int pid, int fd);

/*
 * The pure part of epoll_instance_id(): a hash of an epoll fd's fdinfo
 * text, over its ino: line and its tfd: lines (not pos: or flags:, which
 * are per open file or per fd: O_CLOEXEC differs between parent and child).
 * Returns the number of tfd lines, or -1 when there is no ino: line.
 */
int epoll_fdinfo_id(const char *fdinfo, uint64_t *id);

/*
 * An identity for the epoll instance fd of pid refers to: equal in a
 * parent and a child that share the instance (it is one kernel object and
 * both read the same lists). Two distinct instances with identical interest
 * lists get the same id (all empty ones do), and an epoll_ctl() between the
 * two reads makes a shared one look different: for a verdict use
 * epoll_shared_with(). On a kernel that gives each instance its own inode
 * the id tells every instance apart.
 * Returns 1 (an id from a non-empty interest list), 0 (an empty one: the id
 * tells nothing), -1 (errno ENOTTY: not an epoll; else gone or unreadable).
 */
int epoll_instance_id(int pid, int fd, uint64_t *id);

/*
 * Does parent_pid hold an fd open on the epoll instance that fd of
 * child_pid refers to? 1 yes, 0 no, -1 error (errno ENOTTY: fd is not an
 * epoll; else either process or the fd is gone). Exact by kcmp(2); where kcmp is missing or
 * refused, by epoll_instance_id() of non-empty instances.
 */
int epoll_shared_with(int child_pid, int fd, int parent_pid);

#endif /* FT_EPOLL_H */
