/*
 * The one reader of /proc/PID/task/TID/syscall: what system call a thread
 * is in right now. The text is untrusted: every number is checked.
 */
#ifndef FT_PROC_SYSCALL_H
#define FT_PROC_SYSCALL_H

#include <stdbool.h>
#include <stdint.h>

enum proc_syscall_state {
	PROC_SYSCALL_RUNNING, /* "running": on a CPU, no call to see */
	PROC_SYSCALL_NONE,    /* "-1 sp pc": blocked, but not in a system call */
	PROC_SYSCALL_IN,      /* "nr a0 .. a5 sp pc": in system call nr */
};

struct proc_syscall {
	enum proc_syscall_state state;
	long nr;	  /* PROC_SYSCALL_IN: the call's number (x86_64: SYS_futex 202) */
	uint64_t args[6]; /* PROC_SYSCALL_IN: its arguments */
	bool has_sp;	  /* NONE, IN: the thread's user sp and pc are known */
	uint64_t sp, pc;
};

/* Parses one line (with or without '\n'): 0, or -1 when malformed. */
int proc_syscall_parse(const char *line, struct proc_syscall *s);

/* Reads and parses the thread's file: 0, or -1 with errno set (ENOENT: the
 * thread is gone; EACCES, EPERM: not permitted; EINVAL: malformed). */
int proc_syscall_read(int pid, int tid, struct proc_syscall *s);

#endif /* FT_PROC_SYSCALL_H */
