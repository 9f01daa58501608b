/*
 * A process tree as /proc shows it now: the descendants of a process, the
 * process a thread belongs to, kernel threads, and whether a child is a
 * fork that never exec'd. Process ids here are tgids.
 *
 * Everything read is untrusted text (a comm is chosen by the program and
 * may contain spaces, parentheses and newlines) and may change or vanish
 * between two reads: a tree read here is a snapshot that the caller
 * re-checks against the fork and exit events it sees meanwhile.
 */
#ifndef FT_PROCTREE_H
#define FT_PROCTREE_H

#include <stdint.h>

/* The kernel's PF_KTHREAD, in field 9 (flags) of /proc/PID/stat. */
#define PROCTREE_PF_KTHREAD 0x00200000UL
/* PF_EXITING: the thread is in its exit (set before its memory goes). */
#define PROCTREE_PF_EXITING 0x00000004UL

/* The fields of one /proc/PID/stat line that the tree needs. */
struct proctree_stat {
	int pid;
	char comm[64]; /* untrusted; cut to fit (kernel threads have long names) */
	char state;
	int ppid;		      /* the parent's tgid */
	unsigned long flags;	      /* field 9 */
	int num_threads;	      /* field 20 */
	unsigned long long starttime; /* field 22, clock ticks after boot */
	uint64_t startstack;	      /* field 28: 0 when we may not see it */
};

/*
 * Parses a /proc/PID/stat line. The comm runs from the first '(' to the
 * last ')', so a comm like "a) b (c" is read whole. Fields the kernel does
 * not print (an old kernel) stay 0. Returns 0, or -1 when the line does not
 * have at least the fields up to starttime.
 */
int proctree_parse_stat(const char *line, struct proctree_stat *st);
/* Reads and parses /proc/PID/stat: 0, or -1 (errno ENOENT/ESRCH: gone). */
int proctree_read_stat(int pid, struct proctree_stat *st);

/*
 * Parses a children file's text ("123 456 789 "): the pids are stored in
 * pids[0..cap), garbage tokens skipped. Returns how many pids the text
 * holds, which is more than cap when the list was cut.
 */
int proctree_parse_children(const char *text, int *pids, int cap);

/* The Tgid: of a /proc/TID/status text, or -1. */
int proctree_parse_tgid(const char *status);
/*
 * The process a thread id belongs to (/proc/TID/status, which exists for
 * every tid though /proc lists only leaders): the tgid, or -1 (gone).
 */
int proctree_tgid(int tid);

/*
 * Is pid a kernel thread? By PF_KTHREAD in its stat flags; when the stat
 * cannot be parsed, by its /proc/PID/exe having no target. 1, 0, or -1
 * (gone).
 */
int proctree_is_kthread(int pid);

/* Does pid still run: 1; or 0 when it is gone, a zombie, or its last
 * thread is exiting (what /proc shows of it may already be torn down). */
int proctree_running(int pid);

/*
 * Is pid a forked child of parent_pid that never exec'd? Yes when both
 * /proc/PID/exe name the same file (st_dev and st_ino, not the path: a
 * deleted or renamed binary, a different mount namespace), pid started no
 * earlier than its parent, and, where /proc shows them to us, both have the
 * same stack start: fork copies the address space, while an exec of the
 * same binary (multiprocessing's spawn, a re-exec) places the stack anew
 * (ASLR). Without ASLR such a re-exec is indistinguishable.
 * 1, 0, or -1 (either is gone or cannot be read).
 */
int proctree_forked_not_execed(int pid, int parent_pid);

/*
 * Every descendant of root at any depth, each once, root excluded, parents
 * before their children. Found from /proc/PID/task/TID/children of every
 * thread (a child's parent is the thread that forked it), or, on kernels
 * without those files (CONFIG_PROC_CHILDREN), from a scan of every
 * /proc/PID/stat's ppid. A process that vanishes while the tree is read is
 * left out (a zombie too), and so are its children if they were reparented
 * outside the tree meanwhile. Returns how many pids were stored, cap + 1 when the tree has
 * more than cap (the list is then incomplete), or -1 (errno ESRCH: root is
 * gone; ENOMEM).
 */
int proctree_descendants(int root, int *pids, int cap);
/* The same, always by scanning /proc/PID/stat (the fallback, on its own). */
int proctree_descendants_scan(int root, int *pids, int cap);

#endif /* FT_PROCTREE_H */
