/* Stacks: modules, symbols and their caches (see stacks.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "proc/mapfile.h"
#include "proc/maps.h"
#include "stacks/stacks_priv.h"

#define DEFAULT_CACHE_ADDRESSES 16384
#define MAPS_TTL_NS 100000000ull /* 100 ms */
#define DELETED_LEN (sizeof(PROC_MAP_DELETED) - 1)

/* libstdc++'s demangler: C++ frames read as the programmer wrote them */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

struct stacks *stacks__new(const struct stacks_config *cfg)
{
	struct stacks *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (cfg)
		s->cfg = *cfg;
	if (s->cfg.max_frames <= 0 || s->cfg.max_frames > STACK_MAX_FRAMES)
		s->cfg.max_frames = STACK_MAX_FRAMES;
	if (s->cfg.cache_addresses <= 0)
		s->cfg.cache_addresses = DEFAULT_CACHE_ADDRESSES;
	s->addr_cap = 1;
	while (s->addr_cap < (uint32_t)s->cfg.cache_addresses * 2)
		s->addr_cap <<= 1;
	s->addrs = calloc(s->addr_cap, sizeof(*s->addrs));
	if (!s->addrs) {
		free(s);
		return NULL;
	}
	/* symbols come from this host's files only, never from a server */
	unsetenv("DEBUGINFOD_URLS");
	return s;
}

static void addrs_flush(struct stacks *s)
{
	for (uint32_t i = 0; i < s->addr_cap; i++) {
		free(s->addrs[i].strings);
		memset(&s->addrs[i], 0, sizeof(s->addrs[i]));
	}
	s->naddrs = 0;
}

void stacks__free(struct stacks *s)
{
	if (!s)
		return;
	stacks_spaces_free(s);
	code_maps_free(&s->maps);
	addrs_flush(s);
	free(s->addrs);
	for (int i = 0; i < s->nmods; i++)
		if (s->mods[i].owner)
			module_free(s->mods[i].mod);
	free(s);
}

void stacks__stats(const struct stacks *s, struct stacks_stats *st)
{
	*st = s->st;
	st->addresses = s->naddrs;
	st->modules = 0;
	for (int i = 0; i < s->nmods; i++)
		st->modules += s->mods[i].owner;
}

/* ---- a process's code ---- */

int code_maps_read(int pid, struct code_maps *cm)
{
	struct proc_maps it;
	struct proc_map *m = malloc(sizeof(*m));
	int cap = 0, r = -1;

	memset(cm, 0, sizeof(*cm));
	cm->pid = pid;
	if (!m)
		return -1;
	if (proc_maps_open(&it, pid)) {
		free(m);
		return -1;
	}
	while ((r = proc_maps_next(&it, m)) == 1) {
		struct code_map *c;
		size_t len;

		if (!m->executable)
			continue;
		if (cm->n == cap) {
			struct code_map *v = realloc(cm->v, (cap ? cap * 2 : 32) * sizeof(*v));

			if (!v)
				break;
			cm->v = v;
			cap = cap ? cap * 2 : 32;
		}
		c = &cm->v[cm->n];
		len = strlen(m->path);
		if (m->deleted && len >= DELETED_LEN)
			len -= DELETED_LEN;
		c->path = strndup(m->path, len);
		if (!c->path)
			break;
		c->start = m->start;
		c->end = m->end;
		c->offset = m->offset;
		c->dev = ((uint64_t)m->dev_major << 32) | m->dev_minor;
		c->ino = m->inode;
		c->deleted = m->deleted;
		snprintf(c->range, sizeof(c->range), "%s", m->range);
		cm->n++;
	}
	proc_maps_close(&it);
	free(m);
	if (r < 0 || !cm->n) {
		code_maps_free(cm);
		return -1;
	}
	return 0;
}

void code_maps_free(struct code_maps *cm)
{
	for (int i = 0; i < cm->n; i++)
		free(cm->v[i].path);
	free(cm->v);
	cm->v = NULL;
	cm->n = 0;
}

const struct code_map *code_maps_find(const struct code_maps *cm, uint64_t addr)
{
	for (int i = 0; i < cm->n; i++)
		if (addr >= cm->v[i].start && addr < cm->v[i].end)
			return &cm->v[i];
	return NULL;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

struct module *stacks_module(struct stacks *s, const struct code_maps *cm, const struct code_map *m)
{
	char path[PROC_MAP_PATH_LEN + 64];
	struct module *mod;

	if (!m->ino || m->path[0] != '/')
		return NULL;
	for (int i = 0; i < s->nmods; i++)
		if (s->mods[i].dev == m->dev && s->mods[i].ino == m->ino)
			return s->mods[i].mod;
	if (s->nmods >= STACKS_MODULES_MAX)
		return NULL;
	proc_mapfile_path(cm->pid, m->path, m->ino, m->deleted, m->range, path, sizeof(path));
	mod = module_open(path, base_name(m->path), m->dev, m->ino);
	s->mods[s->nmods] = (struct module_ref){ .dev = m->dev, .ino = m->ino, .mod = mod };
	if (!mod) {
		s->nmods++; /* remembered as unreadable: not opened again */
		return NULL;
	}
	/* one module per build-id: the same file seen through another path */
	for (int i = 0; mod->build_id_len && i < s->nmods; i++) {
		struct module *o = s->mods[i].mod;

		if (o && o->build_id_len == mod->build_id_len &&
		    !memcmp(o->build_id, mod->build_id, mod->build_id_len)) {
			module_free(mod);
			s->mods[s->nmods++].mod = o;
			return o;
		}
	}
	s->mods[s->nmods++].owner = true;
	return mod;
}

/* ---- symbolized addresses, cached per (module, address) ---- */

static uint32_t addr_hash(const struct module *mod, uint64_t vaddr)
{
	uint64_t h = (uint64_t)(uintptr_t)mod * 0x9e3779b97f4a7c15ull ^
		     vaddr * 0xff51afd7ed558ccdull;

	return (uint32_t)(h ^ (h >> 29));
}

static size_t str_need(const char *str)
{
	return str ? strlen(str) + 1 : 0;
}

static char *str_put(char **p, const char *str)
{
	char *d = *p;
	size_t n;

	if (!str)
		return NULL;
	n = strlen(str) + 1;
	memcpy(d, str, n);
	*p += n;
	return d;
}

/* Copies n frames into e, their names demangled. */
static int entry_fill(struct addr_entry *e, const struct module_frame *f, int n)
{
	char *dem[MODULE_INLINE_MAX] = { 0 };
	size_t need = 0;
	char *p;

	for (int i = 0; i < n; i++) {
		int status = -1;

		if (f[i].func && !strncmp(f[i].func, "_Z", 2))
			dem[i] = __cxa_demangle(f[i].func, NULL, NULL, &status);
		if (status)
			dem[i] = NULL;
		need += str_need(dem[i] ? dem[i] : f[i].func) + str_need(f[i].file);
	}
	e->strings = p = malloc(need ? need : 1);
	if (p) {
		for (int i = 0; i < n; i++) {
			e->f[i].func = str_put(&p, dem[i] ? dem[i] : f[i].func);
			e->f[i].file = str_put(&p, f[i].file);
			e->f[i].line = f[i].line;
		}
		e->n = n;
	}
	for (int i = 0; i < n; i++)
		free(dem[i]);
	return p ? 0 : -1;
}

static const struct addr_entry *addr_lookup(struct stacks *s, struct module *mod, uint64_t vaddr)
{
	struct module_frame f[MODULE_INLINE_MAX];
	uint32_t mask = s->addr_cap - 1, i = addr_hash(mod, vaddr) & mask;
	struct addr_entry *e;
	int n;

	s->st.lookups++;
	for (; s->addrs[i].mod; i = (i + 1) & mask) {
		if (s->addrs[i].mod == mod && s->addrs[i].vaddr == vaddr) {
			s->st.hits++;
			return &s->addrs[i];
		}
	}
	/* bounded: a full cache starts again rather than grow */
	if (s->naddrs >= (uint32_t)s->cfg.cache_addresses) {
		addrs_flush(s);
		s->st.flushes++;
		i = addr_hash(mod, vaddr) & mask;
	}
	n = module_frames(mod, vaddr, f, MODULE_INLINE_MAX);
	e = &s->addrs[i];
	e->mod = mod;
	e->vaddr = vaddr;
	if (entry_fill(e, f, n)) {
		e->mod = NULL;
		return NULL;
	}
	s->naddrs++;
	return e;
}

/* Appends the frames of one address: symbolized, or module+offset. */
static int push_pc(struct stacks *s, const struct code_maps *cm, uint64_t pc, bool activation,
		   struct stack *st)
{
	uint64_t lookup = activation || !pc ? pc : pc - 1;
	const struct code_map *m = code_maps_find(cm, lookup);
	struct module *mod = m ? stacks_module(s, cm, m) : NULL;
	struct frame f = { .lang = FRAME_C, .has_offset = true, .offset = pc };
	const struct addr_entry *e = NULL;
	uint64_t vaddr;

	if (m) {
		f.module = m->path[0] ? base_name(m->path) : "[anonymous]";
		f.offset =
			pc - m->start + m->offset; /* the file offset, until the ELF says better */
	}
	if (mod && module_vaddr(mod, lookup - m->start + m->offset, &vaddr)) {
		f.module = mod->name;
		f.offset = vaddr + (pc - lookup);
		e = addr_lookup(s, mod, vaddr);
	}
	if (!e || !e->n)
		return stack_push(st, &f);
	for (int i = 0; i < e->n; i++) {
		struct frame g = f;

		g.func = e->f[i].func;
		g.file = e->f[i].file;
		g.line = e->f[i].line;
		if (stack_push(st, &g))
			return -1;
	}
	return 0;
}

static struct stack *symbolize(struct stacks *s, const struct code_maps *cm, const uint64_t *pcs,
			       const bool *act, int n)
{
	struct stack *st = stack_new();

	if (!st)
		return NULL;
	for (int i = 0; i < n; i++) {
		/* code runs from executable mappings only: a pc outside them is where
		 * the unwind lost its way (a stack too short, a frame without CFI),
		 * and what follows it is no better */
		if (!code_maps_find(cm, act && act[i] ? pcs[i] : pcs[i] - 1))
			break;
		if (push_pc(s, cm, pcs[i], act ? act[i] : false, st)) {
			stack_free(st);
			return NULL;
		}
	}
	return st;
}

struct stack *stacks__symbolize(struct stacks *s, int pid, const uint64_t *pcs, int n)
{
	struct code_maps cm;
	struct stack *st;

	if (code_maps_read(pid, &cm))
		cm = (struct code_maps){ .pid = pid };
	st = symbolize(s, &cm, pcs, NULL, n);
	code_maps_free(&cm);
	return st;
}

#define MAPS_READ_ATTEMPTS 4

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* code_pid's executable mappings, cached briefly; NULL when unreadable. */
static const struct code_maps *maps_of(struct stacks *s, int code_pid, uint64_t pc)
{
	uint64_t now = mono_ns();
	struct code_maps fresh;

	if (s->maps.n && s->maps.pid == code_pid && now - s->maps_at < MAPS_TTL_NS &&
	    code_maps_find(&s->maps, pc))
		return &s->maps;
	/* a read of maps can fail while the process changes its mappings (a
	 * fork storm's parent): a few more tries; and records read after the
	 * process is gone (a backlog) still have the mappings last read of it */
	for (int attempt = 1; code_maps_read(code_pid, &fresh); attempt++) {
		if (attempt < MAPS_READ_ATTEMPTS)
			continue;
		if (s->maps.n && s->maps.pid == code_pid && code_maps_find(&s->maps, pc))
			return &s->maps;
		return NULL;
	}
	code_maps_free(&s->maps);
	s->maps = fresh;
	s->maps_at = now;
	return &s->maps;
}

struct stack *stacks__unwind(struct stacks *s, int code_pid, const uint64_t regs[STACKS_NREGS],
			     stacks_read_fn read, void *ctx)
{
	uint64_t pcs[STACK_MAX_FRAMES + 1];
	bool act[STACK_MAX_FRAMES + 1];
	const struct code_maps *cm = maps_of(s, code_pid, regs[STACKS_REG_PC]);
	struct stack *st = NULL;
	int n;

	if (!cm)
		return NULL;
	n = stacks_walk(s, cm, regs, read, ctx, pcs, act, s->cfg.max_frames + 1);
	if (n > 0) {
		st = symbolize(s, cm, pcs, act, n > s->cfg.max_frames ? s->cfg.max_frames : n);
		if (st && n > s->cfg.max_frames)
			st->omitted++;
	}
	return st;
}

ssize_t stacks_read_copy(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct stacks_copy *c = ctx;

	if (addr < c->start || addr - c->start >= c->len)
		return -1;
	if (len > c->len - (addr - c->start))
		len = c->len - (addr - c->start);
	memcpy(buf, (const char *)c->data + (addr - c->start), len);
	return (ssize_t)len;
}

/* /proc/PID/mem: an address not mapped fails (EIO); a process whose memory
 * is gone reads nothing at all, and the walk cannot be trusted then. */
struct mem_ctx {
	int fd;
	bool gone;
};

static ssize_t read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct mem_ctx *c = ctx;
	ssize_t n = pread(c->fd, buf, len, (off_t)addr);

	if (n == 0 && len)
		c->gone = true;
	return n;
}

struct stack *stacks__unwind_proc(struct stacks *s, int code_pid, int mem_pid,
				  const uint64_t regs[STACKS_NREGS])
{
	struct mem_ctx c = { .fd = -1 };
	struct stack *st;
	char path[64];
	uint64_t word;

	snprintf(path, sizeof(path), "/proc/%d/mem", mem_pid);
	c.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c.fd < 0)
		return NULL;
	/* a process gone (or a zombie) reads nothing: say nothing rather than
	 * a stack of one frame */
	if (read_mem(&c, regs[STACKS_REG_SP], &word, sizeof(word)) != sizeof(word)) {
		close(c.fd);
		return NULL;
	}
	st = stacks__unwind(s, code_pid, regs, read_mem, &c);
	close(c.fd);
	if (c.gone) {
		/* it went away during the walk: the frames may stop short */
		stack_free(st);
		return NULL;
	}
	return st;
}
