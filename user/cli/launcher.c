/* Starting `-- COMMAND` held, as the right user, with no extra descriptors. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli/launcher.h"

struct identity {
	bool change;
	uid_t uid;
	gid_t gid;
	char name[256];
};

/* -u USER, else the user who ran sudo, else stay who we are. */
static int resolve_identity(const struct options *o, struct identity *id)
{
	const char *who = o->run_as;
	struct passwd *pw;

	memset(id, 0, sizeof(*id));
	if (!who) {
		const char *sudo_user = getenv("SUDO_USER");

		if (!sudo_user || !*sudo_user || !getenv("SUDO_UID") || geteuid() != 0)
			return 0;
		who = sudo_user;
	}
	pw = getpwnam(who);
	if (!pw) {
		char *end;
		long uid = strtol(who, &end, 10);

		if (*end || uid < 0 || !(pw = getpwuid((uid_t)uid))) {
			fprintf(stderr, "forktrace: cannot run as '%s': no such user — check -u\n",
				who);
			return 1;
		}
	}
	id->change = true;
	id->uid = pw->pw_uid;
	id->gid = pw->pw_gid;
	snprintf(id->name, sizeof(id->name), "%s", pw->pw_name);
	return 0;
}

static int drop_privileges(const struct identity *id)
{
	if (!id->change)
		return 0;
	if (initgroups(id->name, id->gid) || setgid(id->gid) || setuid(id->uid))
		return -1;
	return 0;
}

/*
 * The command starts as if from a shell: every signal at its default and
 * none blocked. Our own choices (SIGPIPE ignored, the handlers of the
 * tracing loop) are not its, and an ignored signal or a mask survives exec.
 * Async-signal-safe calls only: this runs in the child after fork.
 */
static void reset_signals(void)
{
	struct sigaction dfl;
	sigset_t none;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	/* SIGKILL, SIGSTOP and the C library's own signals refuse: harmless */
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* In the child: wait for the release, become the user, exec. Never returns. */
static void child_run(const struct options *o, const struct identity *id, int release_rd,
		      int error_wr, pid_t parent)
{
	char c;
	const char *base = strrchr(o->argv[0], '/');
	int err;

	/* until exec, show the command's name rather than ours */
	prctl(PR_SET_NAME, base ? base + 1 : o->argv[0]);
	while (read(release_rd, &c, 1) < 0 && errno == EINTR)
		;
	if (drop_privileges(id)) {
		err = errno;
		if (write(error_wr, &err, sizeof(err)) < 0)
			_exit(126);
		_exit(126);
	}
	reset_signals();
	/* after the change of user, which clears it: if forktrace is killed
	 * (SIGKILL), the command is not left running untraced */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(128 + SIGTERM);
	execvp(o->argv[0], o->argv);
	err = errno;
	if (write(error_wr, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

int launcher_start(const struct options *o, struct launch *l)
{
	struct identity id;
	int release[2], error[2];
	pid_t parent = getpid();

	l->pid = -1;
	if (resolve_identity(o, &id))
		return 1;
	if (pipe2(release, O_CLOEXEC))
		goto fail;
	if (pipe2(error, O_CLOEXEC)) {
		close(release[0]);
		close(release[1]);
		goto fail;
	}
	l->pid = fork();
	if (l->pid < 0) {
		close(release[0]);
		close(release[1]);
		close(error[0]);
		close(error[1]);
		goto fail;
	}
	if (l->pid == 0) {
		close(release[1]);
		close(error[0]);
		child_run(o, &id, release[0], error[1], parent);
	}
	close(release[0]);
	close(error[1]);
	l->release_fd = release[1];
	l->error_fd = error[0];
	return 0;
fail:
	fprintf(stderr, "forktrace: cannot start %s: %s\n", o->argv[0], strerror(errno));
	return 1;
}

int launcher_release(struct launch *l, const char *command)
{
	int err = 0;
	ssize_t n;

	close(l->release_fd);
	l->release_fd = -1;
	do
		n = read(l->error_fd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(l->error_fd);
	l->error_fd = -1;
	if (n <= 0)
		return 0; /* EOF: the exec closed the pipe */
	waitpid(l->pid, NULL, 0);
	l->pid = -1;
	fprintf(stderr, "forktrace: cannot run %s: %s — check the command and its path\n", command,
		strerror(err));
	return 1;
}

void launcher_abort(struct launch *l)
{
	if (l->pid <= 0)
		return;
	kill(l->pid, SIGKILL);
	if (l->release_fd >= 0)
		close(l->release_fd);
	if (l->error_fd >= 0)
		close(l->error_fd);
	waitpid(l->pid, NULL, 0);
	l->pid = -1;
}
