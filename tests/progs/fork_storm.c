/*
 * N forks one after the other (default 200), each child _exit(0)s at once,
 * each waited for: short-lived children that end while forktrace looks at them.
 *
 *   fork_storm [N]
 *
 * Reports: pid, forked (N).
 */
#include "ftlib.c"

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200;

	report("pid=%d", getpid());
	for (int i = 0; i < n; i++) {
		pid_t child = fork();
		int status;

		if (child < 0)
			die("fork");
		if (child == 0)
			_exit(0);
		while (waitpid(child, &status, 0) < 0)
			if (errno != EINTR)
				die("waitpid");
	}
	report("forked=%d", n);
	return 0;
}
