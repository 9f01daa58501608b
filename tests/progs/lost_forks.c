/*
 * Forks that the kernel side cannot deliver: reports ready=1, waits until
 * the file argv[1] exists (the test stops forktrace meanwhile), renames
 * itself RENAMES times (the ring buffer fills), forks CHILDREN children,
 * reports each and exits 0. Each child waits until the file argv[2] exists,
 * then exits 0. Reports: pid, ready, child (each), done.
 */
#include "ftlib.c"

#define CHILDREN 5
#define RENAMES 600000

static void wait_file(const char *path)
{
	while (access(path, F_OK))
		usleep(10000);
}

int main(int argc, char **argv)
{
	if (argc != 3)
		die("usage: lost_forks GO_FILE END_FILE");
	report("pid=%d", getpid());
	report("ready=1");
	wait_file(argv[1]);
	for (int i = 0; i < RENAMES; i++)
		prctl(PR_SET_NAME, i & 1 ? "lost-a" : "lost-b");
	for (int i = 0; i < CHILDREN; i++) {
		pid_t child = fork();

		if (child < 0)
			die("fork");
		if (child == 0) {
			wait_file(argv[2]);
			_exit(0);
		}
		report("child=%d", child);
	}
	report("done=1");
	return 0;
}
