/*
 * Trigger: ordinary contention, not a deadlock. One thread holds a mutex
 * (and stays alive, paused); another blocks on it. No fork. A diagnosis
 * must see the waiter, find its owner alive, and confirm nothing.
 *
 * Never writes to stdout. Reports to $FT_REPORT: pid, lock, holder_tid,
 * waiter_tid. Runs until killed.
 */
#include "ftlib.c"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int held[2]; /* the holder tells main it holds the lock */

static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	report("holder_tid=%d", ft_tid());
	if (write(held[1], "x", 1) != 1)
		die("write");
	for (;;)
		pause();
	return NULL;
}

static void *waiter(void *arg)
{
	(void)arg;
	report("waiter_tid=%d", ft_tid());
	pthread_mutex_lock(&lock); /* blocks for as long as the holder lives */
	report("waiter_got_lock=1");
	return NULL;
}

int main(void)
{
	pthread_t h, w;
	char c;

	report("pid=%d", getpid());
	report("lock=%p", (void *)&lock);
	if (pipe(held) || pthread_create(&h, NULL, holder, NULL))
		die("lock_contended: cannot start the holder");
	if (read(held[0], &c, 1) != 1 || pthread_create(&w, NULL, waiter, NULL))
		die("lock_contended: cannot start the waiter");
	for (;;)
		pause();
}
