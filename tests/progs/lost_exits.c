/*
 * Exits that the kernel side cannot deliver: forks CHILDREN children that
 * wait, reports ready=1, waits until the file named by argv[1] exists (the
 * test stops forktrace meanwhile), renames itself RENAMES times (each rename
 * is a record: the ring buffer fills), then lets its children exit, reaps
 * them and exits. Reports: pid, child (each), ready, done.
 */
#include "ftlib.c"

#define CHILDREN 20
#define RENAMES 600000

int main(int argc, char **argv)
{
	pid_t kids[CHILDREN];
	int go[2];
	char c;

	if (argc != 2)
		die("usage: lost_exits GO_FILE");
	if (pipe(go))
		die("pipe");
	for (int i = 0; i < CHILDREN; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			die("fork");
		if (kids[i] == 0) {
			close(go[1]);
			while (read(go[0], &c, 1) < 0 && errno == EINTR)
				;
			_exit(0);
		}
		report("child=%d", kids[i]);
	}
	close(go[0]);
	report("pid=%d", getpid());
	report("ready=1");
	while (access(argv[1], F_OK))
		usleep(10000);
	for (int i = 0; i < RENAMES; i++)
		prctl(PR_SET_NAME, i & 1 ? "lost-a" : "lost-b");
	close(go[1]);
	for (int i = 0; i < CHILDREN; i++)
		wait_child(kids[i], "child_status");
	report("done=1");
	return 0;
}
