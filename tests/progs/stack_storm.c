/*
 * Trigger: a fork storm from a threaded parent. Four idle threads sit in
 * read() (seen there before the first fork); the main thread forks N times (default 500), each child _exit(0)s
 * at once and is waited for. Reports pid, forks.
 *
 *   stack_storm [N]
 */
#include "ftlib.c"
#include <sys/wait.h>

static int never[2];
static volatile int tids[4];

static void *idle(void *arg)
{
	char c;

	tids[(long)arg] = ft_tid();
	while (read(never[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 500;
	pthread_t t;

	if (pipe(never))
		die("pipe");
	report("pid=%d", getpid());
	for (long i = 0; i < 4; i++)
		if (pthread_create(&t, NULL, idle, (void *)i))
			die("pthread_create");
	/* every fork's orphans idle in their read: none is on a CPU */
	for (int i = 0; i < 4; i++)
		while (!tids[i] || !ft_in_syscall(tids[i], SYS_read))
			usleep(1000);
	for (int i = 0; i < n; i++) {
		pid_t child = fork();

		if (child < 0)
			die("fork");
		if (child == 0)
			_exit(0);
		if (waitpid(child, NULL, 0) != child)
			die("waitpid");
	}
	report("forks=%d", n);
	_exit(0);
}
