/*
 * Reports the signal state it was started with: "ignored=N,N..." (signals
 * whose disposition is SIG_IGN) and "blocked=N,N..." (the signal mask);
 * both empty for a program started as a shell would start it.
 */
#include <signal.h>
#include "ftlib.c"

int main(void)
{
	char ignored[512] = "", blocked[512] = "";
	size_t ni = 0, nb = 0;
	sigset_t mask;

	sigprocmask(SIG_SETMASK, NULL, &mask);
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		const char *sep_i = ni ? "," : "", *sep_b = nb ? "," : "";

		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			ni += snprintf(ignored + ni, sizeof(ignored) - ni, "%s%d", sep_i, sig);
		if (sigismember(&mask, sig) == 1)
			nb += snprintf(blocked + nb, sizeof(blocked) - nb, "%s%d", sep_b, sig);
	}
	report("ignored=%s", ignored);
	report("blocked=%s", blocked);
	return 0;
}
