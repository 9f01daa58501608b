/*
 * A parent with two named worker threads forks once both are named and running.
 * argv[1] says what the child does: "exit" (default) _exit(0)s at once,
 * "exec" execs /bin/true. argv[2], if given, names the first worker instead
 * (names are untrusted input for forktrace: tests use escapes here).
 * Reports: pid, main (TID,COMM), thread (TID,COMM) x2, child, child_status.
 */
#include "ftlib.c"

int main(int argc, char **argv)
{
	const char *names[] = { "ft-worker-a", "ft-worker-b" };
	int do_exec = argc > 1 && strcmp(argv[1], "exec") == 0;
	pid_t child;

	if (argc > 2)
		names[0] = argv[2];
	report("pid=%d", getpid());
	report_thread("main");
	workers_start(2, names);

	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		if (do_exec)
			execl("/bin/true", "/bin/true", (char *)NULL);
		_exit(do_exec ? 127 : 0);
	}
	report("child=%d", child);
	wait_child(child, "child_status");
	workers_stop();
	return 0;
}
