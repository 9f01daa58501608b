/*
 * The -p targets: what each given id names (a process, a thread of one, a
 * kernel thread, nothing), and attaching to the tree each one has now.
 */
#ifndef FT_TARGETS_H
#define FT_TARGETS_H

struct session;
struct model;
struct lock_follow;

/*
 * The processes to trace for the given ids, each once: a thread's id names
 * its process (with a one-line notice). Returns how many are in *tgids
 * (malloc'd), or -1 after one line on stderr (no such process, a kernel
 * thread, out of memory).
 */
int targets_resolve(const int *ids, int n, int **tgids);

/*
 * Traces each root and every descendant it has now, at any depth: each
 * gets its attach event and is followed from then on. A descendant that
 * still runs its parent's image (forked, never exec'd) is a forked child
 * for the model, so a child already blocked is reported as if it had
 * blocked now. Roots go into the traced map first, so a fork during the
 * walk is seen by the kernel side; the tree is read twice, so what was
 * forked by a descendant not yet traced is found the second time, and a
 * process that vanished meanwhile is forgotten. 0, or -1 after one line on
 * stderr.
 */
int targets_attach(const int *roots, int n, struct session *s, struct model *m,
		   struct lock_follow *follow);

/*
 * After a loss: processes the kernel side traces that the model does not
 * know (their fork record was lost) are taken up, each with an attach
 * event, once seen unknown at two calls in a row; gone ones are untraced.
 * Returns how many wait for the next call.
 */
int targets_adopt_unknown(struct session *s, struct model *m, struct lock_follow *follow);

#endif
