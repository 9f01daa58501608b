/*
 * Holds more mutexes at once than the uprobe mode's held-lock map has room
 * for (65,536), then lets them go: the locks it could not record must be
 * reported as lost, not forgotten.
 */
#include "ftlib.c"

#define NLOCKS 70000

int main(void)
{
	pthread_mutex_t *locks = calloc(NLOCKS, sizeof(*locks));

	if (!locks)
		die("calloc");
	for (int i = 0; i < NLOCKS; i++)
		pthread_mutex_init(&locks[i], NULL);
	for (int i = 0; i < NLOCKS; i++)
		pthread_mutex_lock(&locks[i]);
	report("held=%d", NLOCKS);
	for (int i = 0; i < NLOCKS; i++)
		pthread_mutex_unlock(&locks[i]);
	free(locks);
	return 0;
}
