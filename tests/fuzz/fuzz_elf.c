/* The ELF symbol reader on a mutated file: every lookup succeeds or fails cleanly. */
#include <sys/mman.h>
#include <unistd.h>
#include "fuzz.h"
#include "elf/elfsym.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "pthread_mutex_lock", "sem_wait",
					     "pthread_cond_wait@@GLIBC_2.3.2", "memcpy", "x" };
	int fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
	char path[64], err[256];
	struct elfsym_file *f;
	struct elfsym s;

	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	f = elfsym_open(path, err, sizeof(err));
	if (f) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (elfsym_lookup(f, names[i], &s) == 0)
				FUZZ_CHECK(memchr(s.version, 0, sizeof(s.version)) != NULL);
		elfsym_close(f);
	} else {
		FUZZ_CHECK(memchr(err, 0, sizeof(err)) && err[0]);
	}
	(void)elfsym_offset(path, "sem_wait");
	close(fd);
	return 0;
}
