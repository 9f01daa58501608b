/*
 * Unwinding with libdwfl from registers and a memory reader, as perf does:
 * one Dwfl per address-space layout (the hash of its executable mappings,
 * so a parent and every child it forks share one), its modules reported
 * at their load bias, unwound from .eh_frame only (no debug files: they
 * cost tens of ms to load and name nothing the CFI does not).
 */
#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "stacks/stacks_priv.h"

struct walk {
	const uint64_t *regs;
	stacks_read_fn read;
	void *ctx;
	uint64_t *pcs;
	bool *act;
	int n, max;
};

struct space {
	uint64_t key;
	uint64_t used; /* the stacks' tick when last used */
	Dwfl *dwfl;
	struct walk *cur;
};

static uint64_t layout_key(const struct code_maps *cm)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (int i = 0; i < cm->n; i++) {
		const uint64_t v[4] = { cm->v[i].start, cm->v[i].end, cm->v[i].offset,
					cm->v[i].ino };

		for (int j = 0; j < 4; j++)
			h = (h ^ v[j]) * 0x100000001b3ull;
	}
	return h;
}

static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			char **debuginfo_file_name)
{
	(void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
	(void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
	return -1;
}

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl, (void)arg, (void)thread_argp;
	return 0; /* threads are asked for by tid only */
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	(void)dwfl, (void)tid;
	*thread_argp = arg;
	return true;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct space *sp = arg;
	uint64_t v;

	(void)dwfl;
	if (!sp->cur || sp->cur->read(sp->cur->ctx, addr, &v, sizeof(v)) != sizeof(v))
		return false;
	*result = v;
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct space *sp = arg;
	Dwarf_Word r[STACKS_NREGS];

	for (int i = 0; i < STACKS_NREGS; i++)
		r[i] = sp->cur->regs[i];
	return dwfl_thread_state_registers(thread, 0, STACKS_NREGS, r);
}

static const Dwfl_Thread_Callbacks thread_cb = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

static void space_free(struct space *sp)
{
	if (!sp)
		return;
	if (sp->dwfl)
		dwfl_end(sp->dwfl);
	free(sp);
}

void stacks_spaces_free(struct stacks *s)
{
	for (int i = 0; i < STACKS_SPACES_MAX; i++) {
		space_free(s->spaces[i]);
		s->spaces[i] = NULL;
	}
}

/* Each ELF file mapped executable, at its load bias. */
static int report_modules(struct stacks *s, const struct code_maps *cm, Dwfl *dwfl)
{
	int reported = 0;

	dwfl_report_begin(dwfl);
	for (int i = 0; i < cm->n; i++) {
		const struct code_map *m = &cm->v[i];
		struct module *mod = stacks_module(s, cm, m);
		char path[64];
		uint64_t vaddr;
		bool seen = false;
		int fd;

		if (!mod || !module_vaddr(mod, m->offset, &vaddr))
			continue;
		for (int j = 0; j < i && !seen; j++)
			seen = cm->v[j].dev == m->dev && cm->v[j].ino == m->ino;
		if (seen || (fd = dup(mod->fd)) < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (dwfl_report_elf(dwfl, mod->name, path, fd, m->start - vaddr, true))
			reported++;
		else
			close(fd);
	}
	dwfl_report_end(dwfl, NULL, NULL);
	return reported;
}

static struct space *space_for(struct stacks *s, const struct code_maps *cm)
{
	static char *debuginfo_path;
	static const Dwfl_Callbacks cb = {
		.find_elf = dwfl_build_id_find_elf,
		.find_debuginfo = no_debuginfo,
		.debuginfo_path = &debuginfo_path,
	};
	uint64_t key = layout_key(cm);
	struct space *sp;
	int slot = 0;

	s->tick++;
	for (int i = 0; i < STACKS_SPACES_MAX; i++) {
		if (s->spaces[i] && s->spaces[i]->key == key) {
			s->spaces[i]->used = s->tick;
			return s->spaces[i];
		}
		if (!s->spaces[i] ||
		    (s->spaces[slot] && s->spaces[i]->used < s->spaces[slot]->used))
			slot = i;
	}
	/* the least recently used one makes room */
	space_free(s->spaces[slot]);
	s->spaces[slot] = NULL;
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return NULL;
	sp->key = key;
	sp->used = s->tick;
	sp->dwfl = dwfl_begin(&cb);
	if (!sp->dwfl || !report_modules(s, cm, sp->dwfl) ||
	    !dwfl_attach_state(sp->dwfl, NULL, cm->pid, &thread_cb, sp)) {
		space_free(sp);
		return NULL;
	}
	s->spaces[slot] = sp;
	s->st.spaces++;
	return sp;
}

static int on_frame(Dwfl_Frame *state, void *arg)
{
	struct walk *w = arg;
	Dwarf_Addr pc;
	bool act = false;

	if (!dwfl_frame_pc(state, &pc, &act) || !pc)
		return DWARF_CB_ABORT;
	w->pcs[w->n] = pc;
	w->act[w->n] = act;
	/* a stack that repeats one frame forever is corrupt past it */
	if (w->n > 0 && w->pcs[w->n - 1] == pc && w->n > 8 && w->pcs[w->n - 8] == pc)
		return DWARF_CB_ABORT;
	return ++w->n >= w->max ? DWARF_CB_ABORT : DWARF_CB_OK;
}

int stacks_walk(struct stacks *s, const struct code_maps *cm, const uint64_t *regs,
		stacks_read_fn read, void *ctx, uint64_t *pcs, bool *act, int max)
{
	struct walk w = {
		.regs = regs, .read = read, .ctx = ctx, .pcs = pcs, .act = act, .max = max
	};
	struct space *sp = space_for(s, cm);

	if (!sp)
		return -1;
	sp->cur = &w;
	/* the walk ends with an error where the CFI or the memory ends: the
	 * frames found by then are the stack */
	dwfl_getthread_frames(sp->dwfl, cm->pid, on_frame, &w);
	sp->cur = NULL;
	return w.n;
}
