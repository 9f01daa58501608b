/* The command line: argv from the input (NUL-separated), durations and sizes. */
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>
#include "fuzz.h"
#include "cli/options.h"

#define MAX_ARGS 64

static int null_fd = -1, stderr_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	stderr_fd = dup(2);
	return 0;
}

/* usage errors are expected by the thousand: not on stderr, which keeps
 * the sanitizers' reports */
static void quiet(bool on)
{
	if (null_fd >= 0 && stderr_fd >= 0) {
		fflush(stderr);
		dup2(on ? null_fd : stderr_fd, 2);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *args[MAX_ARGS + 2];
	struct options o;
	uint64_t v;
	int argc = 1, rc;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	buf[size] = 0;
	args[0] = "forktrace";
	for (size_t i = 0; i < size && argc <= MAX_ARGS; argc++) {
		args[argc] = buf + i;
		i += strlen(buf + i) + 1;
	}
	args[argc] = NULL;
	quiet(getenv("FUZZ_VERBOSE") == NULL);
	rc = options_parse(argc, args, &o);
	quiet(false);
	if (rc == 0 && o.command == CMD_TRACE)
		FUZZ_CHECK(o.npids >= 0 && o.npids <= MAX_TARGET_PIDS);
	if (parse_duration(buf, &v) == 0)
		FUZZ_CHECK(v <= 1000000000000000000ULL);
	if (parse_size(buf, &v) == 0)
		FUZZ_CHECK(v <= 1000000000000000000ULL);
	free(buf);
	return 0;
}
