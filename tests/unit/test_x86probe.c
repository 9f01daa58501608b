/*
 * x86probe: instruction lengths, branch targets and the probe point rules
 * on hand-made code, then against objdump on the host's glibc (the one
 * this test program runs on).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elf/elfsym.h"
#include "kernel/x86probe.h"
#include "unit.h"

/* The libc this process runs on. */
static const char *libc_path(void)
{
	Dl_info info;

	if (!dladdr((void *)&pthread_mutex_lock, &info) || !info.dli_fname)
		return NULL;
	return info.dli_fname;
}

static int len_of(const char *hex_bytes)
{
	uint8_t buf[32];
	size_t n = 0;
	bool br, call;
	int64_t t;

	for (const char *p = hex_bytes; *p && n < sizeof(buf);) {
		char *end;
		unsigned long v = strtoul(p, &end, 16);

		if (end == p)
			break;
		buf[n++] = (uint8_t)v;
		p = end;
	}
	return x86probe_insn_len(buf, n, &br, &call, &t);
}

TEST(x86_insn_lengths)
{
	CHECK(len_of("8b 47 10") == 3);		       /* mov 0x10(%rdi),%eax */
	CHECK(len_of("48 8b 07") == 3);		       /* mov (%rdi),%rax */
	CHECK(len_of("64 8b 04 25 d0 02 00 00") == 8); /* mov %fs:0x2d0,%eax */
	CHECK(len_of("81 e2 7f 01 00 00") == 6);       /* and $0x17f,%edx */
	CHECK(len_of("83 e0 7c") == 3);
	CHECK(len_of("48 81 3d 10 00 00 00 ff 0f 00 00") == 11); /* cmpq $imm32,rip+disp */
	CHECK(len_of("48 b8 01 02 03 04 05 06 07 08") == 10);	 /* movabs */
	CHECK(len_of("66 b8 01 02") == 4);			 /* mov $imm16,%ax */
	CHECK(len_of("f3 0f 1e fa") == 4);			 /* endbr64 */
	CHECK(len_of("66 2e 0f 1f 84 00 00 00 00 00") == 10);	 /* cs nopw */
	CHECK(len_of("f0 48 0f b1 17") == 5);			 /* lock cmpxchg */
	CHECK(len_of("c5 f9 6f 07") == 4);			 /* vmovdqa (%rdi),%xmm0 */
	CHECK(len_of("c4 e3 79 16 c0 01") == 6);		 /* vpextrd $1 */
	CHECK(len_of("62 f1 7d 48 6f 07") == 6);		 /* vmovdqa32 (%rdi),%zmm0 */
	CHECK(len_of("c7 47 10 ff ff ff ff") == 7);
	CHECK(len_of("f6 c2 01") == 3); /* test $1,%dl */
	CHECK(len_of("f7 d8") == 2);	/* neg %eax */
	CHECK(len_of("0f 05") == 2);	/* syscall */
	CHECK(len_of("8b") == 0);	/* truncated */
	CHECK(len_of("06") == 0);	/* invalid in 64-bit mode */
}

TEST(x86_branch_targets)
{
	uint8_t jne8[] = { 0x75, 0xce }; /* jne -0x32 */
	uint8_t jcc32[] = { 0x0f, 0x85, 0x10, 0x00, 0x00, 0x00 };
	uint8_t call[] = { 0xe8, 0x00, 0x01, 0x00, 0x00 };
	uint8_t xbegin[] = { 0xc7, 0xf8, 0x20, 0x00, 0x00, 0x00 };
	bool br, is_call;
	int64_t t;

	CHECK(x86probe_insn_len(jne8, sizeof(jne8), &br, &is_call, &t) == 2);
	CHECK(br && !is_call && t == 2 - 0x32);
	CHECK(x86probe_insn_len(jcc32, sizeof(jcc32), &br, &is_call, &t) == 6);
	CHECK(br && t == 6 + 0x10);
	CHECK(x86probe_insn_len(call, sizeof(call), &br, &is_call, &t) == 5);
	CHECK(br && is_call && t == 5 + 0x100);
	CHECK(x86probe_insn_len(xbegin, sizeof(xbegin), &br, &is_call, &t) == 6);
	CHECK(br && !is_call && t == 6 + 0x20);
}

TEST(x86_probe_point_rules)
{
	/* glibc 2.36 pthread_mutex_lock's start: probe at the jne (+14) */
	uint8_t lock[] = { 0x8b, 0x47, 0x10, 0x89, 0xc2, 0x81, 0xe2, 0x7f, 0x01, 0x00,
			   0x00, 0x83, 0xe0, 0x7c, 0x75, 0x02, 0x31, 0xc0, 0xc3 };
	/* the same, but a later jump back to +3 (a retry loop): the start */
	uint8_t loop[] = { 0x8b, 0x47, 0x10, 0x89, 0xc2, 0x81, 0xe2, 0x7f, 0x01, 0x00,
			   0x00, 0x83, 0xe0, 0x7c, 0x75, 0x02, 0xeb, 0xf1, 0xc3 };
	/* pthread_mutex_unlock: mov $1,%esi; jmp: fine for rdi, not for rsi */
	uint8_t unlock[] = { 0xbe, 0x01, 0x00, 0x00, 0x00, 0xe9, 0x00, 0x00, 0x00, 0x00 };
	/* writes rdi first: the start */
	uint8_t clobber[] = { 0x48, 0x89, 0xf7, 0x75, 0x00, 0xc3 };
	/* sub $8,%rsp first: the start (a uretprobe needs the return address) */
	uint8_t stack[] = { 0x48, 0x83, 0xec, 0x08, 0x75, 0x00, 0xc3 };
	/* starts with push: emulated already */
	uint8_t push[] = { 0x41, 0x56, 0xc3 };
	/* an undecodable byte anywhere in the function: the start */
	uint8_t junk[] = { 0x8b, 0x47, 0x10, 0x75, 0x00, 0x06, 0xc3 };

	CHECK(x86probe_point(lock, sizeof(lock), X86PROBE_REG_RDI) == 14);
	CHECK(x86probe_point(loop, sizeof(loop), X86PROBE_REG_RDI) == 0);
	CHECK(x86probe_point(unlock, sizeof(unlock), X86PROBE_REG_RDI) == 5);
	CHECK(x86probe_point(unlock, sizeof(unlock), X86PROBE_REG_RSI) == 0);
	CHECK(x86probe_point(clobber, sizeof(clobber), X86PROBE_REG_RDI) == 0);
	CHECK(x86probe_point(clobber, sizeof(clobber), X86PROBE_REG_RSI) == 3);
	CHECK(x86probe_point(stack, sizeof(stack), X86PROBE_REG_RDI) == 0);
	CHECK(x86probe_point(push, sizeof(push), X86PROBE_REG_RDI) == 0);
	CHECK(x86probe_point(junk, sizeof(junk), X86PROBE_REG_RDI) == 0);
}

/*
 * Against objdump, where installed: every instruction boundary the decoder
 * finds in the probed glibc functions is one objdump finds, and the probe
 * point is a jump, branch, call or push.
 */
TEST(x86_decoder_agrees_with_objdump)
{
	static const char *const names[] = {
		"pthread_mutex_lock",
		"pthread_mutex_trylock",
		"pthread_mutex_timedlock",
		"pthread_mutex_clocklock",
		"pthread_mutex_unlock",
		"pthread_mutex_destroy",
		"pthread_rwlock_rdlock",
		"pthread_rwlock_tryrdlock",
		"pthread_rwlock_timedrdlock",
		"pthread_rwlock_clockrdlock",
		"pthread_rwlock_wrlock",
		"pthread_rwlock_trywrlock",
		"pthread_rwlock_timedwrlock",
		"pthread_rwlock_clockwrlock",
		"pthread_rwlock_unlock",
		"pthread_cond_wait",
		"pthread_cond_timedwait",
		"pthread_cond_clockwait",
		"sem_wait",
		"sem_trywait",
		"sem_timedwait",
		"sem_clockwait",
		"sem_post",
	};
	struct elfsym_file *f;
	char err[256];
	const char *path = libc_path();
	int moved = 0;

	CHECK(path != NULL);
	if (access("/usr/bin/objdump", X_OK))
		return;
	f = elfsym_open(path, err, sizeof(err));
	CHECK(f != NULL);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct elfsym s;
		char cmd[1024], line[512], probe_insn[512] = "";
		uint64_t delta, probe, objdump_insns = 0, ours = 0, pos = 0;
		uint8_t *code;
		FILE *p;

		if (elfsym_lookup(f, names[i], &s) || s.value != s.offset)
			continue; /* the vaddr == offset layout lets objdump's addresses be offsets */
		probe = x86probe_offset(
			f, &s, strstr(names[i], "cond") ? X86PROBE_REG_RSI : X86PROBE_REG_RDI,
			&delta);
		moved += delta != 0;
		code = malloc(s.size);
		CHECK(code && elfsym_read(f, &s, code, s.size) == 0);
		snprintf(cmd, sizeof(cmd),
			 "/usr/bin/objdump -d --no-show-raw-insn --start-address=%#llx "
			 "--stop-address=%#llx '%s' 2>/dev/null",
			 (unsigned long long)s.value, (unsigned long long)(s.value + s.size), path);
		p = popen(cmd, "r");
		CHECK(p != NULL);
		while (fgets(line, sizeof(line), p)) {
			unsigned long long a;
			char rest[400];

			if (sscanf(line, " %llx:\t%399[^\n]", &a, rest) != 2)
				continue;
			objdump_insns++;
			if (a == probe)
				snprintf(probe_insn, sizeof(probe_insn), "%s", rest);
			/* walk our decoder up to a */
			while (s.value + pos < a) {
				bool br, call;
				int64_t t;
				int n = x86probe_insn_len(code + pos, s.size - pos, &br, &call, &t);

				if (n <= 0)
					break;
				pos += (uint64_t)n;
				ours++;
			}
			if (s.value + pos != a) {
				snprintf(why, why_len,
					 "%s: objdump has an instruction at %#llx, "
					 "the decoder does not",
					 names[i], a);
				pclose(p);
				free(code);
				elfsym_close(f);
				return;
			}
		}
		pclose(p);
		free(code);
		CHECK(objdump_insns > 0);
		if (delta) {
			if (!(strncmp(probe_insn, "j", 1) == 0 ||
			      strncmp(probe_insn, "push", 4) == 0 ||
			      strncmp(probe_insn, "call", 4) == 0)) {
				snprintf(why, why_len, "%s: probe at +%llu is \"%s\"", names[i],
					 (unsigned long long)delta, probe_insn);
				elfsym_close(f);
				return;
			}
		}
		(void)ours;
	}
	elfsym_close(f);
	CHECK(moved > 0); /* at least pthread_mutex_lock's probe moved */
}
