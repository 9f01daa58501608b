/* One uprobe link of either kind (see uprobe_link.h). */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "kernel/uprobe_link.h"

#define F_UPROBE_MULTI_RETURN 1u /* BPF_F_UPROBE_MULTI_RETURN */

bool uprobe_link_multi_supported(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool has;

	if (!btf)
		return false;
	has = btf__find_by_name_kind(btf, "bpf_uprobe_multi_link", BTF_KIND_STRUCT) > 0;
	btf__free(btf);
	return has;
}

/* BPF_LINK_CREATE for a uprobe_multi link (the 6.6+ layout of bpf_attr). */
struct uprobe_multi_attr {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t multi_flags;
	uint32_t pid;
	uint32_t pad;
};

int uprobe_link_multi(struct bpf_program *prog, int pid, const char *path, const uint64_t *offs,
		      const uint64_t *cookies, uint32_t cnt, bool ret)
{
	union {
		struct uprobe_multi_attr a;
		char raw[128];
	} attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.a.prog_fd = (uint32_t)bpf_program__fd(prog);
	attr.a.attach_type = UPROBE_ATTACH_MULTI;
	attr.a.path = (uint64_t)(uintptr_t)path;
	attr.a.offsets = (uint64_t)(uintptr_t)offs;
	attr.a.cookies = (uint64_t)(uintptr_t)cookies;
	attr.a.cnt = cnt;
	attr.a.multi_flags = ret ? F_UPROBE_MULTI_RETURN : 0;
	attr.a.pid = (uint32_t)pid;
	fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}

int uprobe_link_perf(struct bpf_program *prog, int pid, const char *path, uint64_t off,
		     uint64_t cookie, bool ret, struct linkref *out)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = ret, .bpf_cookie = cookie);
	struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, pid, path, (size_t)off, &opts);

	if (!l)
		return errno ? -errno : -EINVAL;
	*out = (struct linkref){ .link = l, .fd = -1 };
	return 0;
}
