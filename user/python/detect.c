/*
 * Recognizing CPython in a process (python.h): the file that exports the
 * interpreter (libpython3.X.so, else the python executable), its load
 * bias, its version, the table row for it, and a first read that must
 * validate before the process is called a Python process.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elf/elfsym.h"
#include "proc/mapfile.h"
#include "proc/maps.h"
#include "python/py_priv.h"

#define MAX_CANDIDATES 4
#define MAX_SEGS 16
#define RODATA_MAX (8u << 20)
#define SCAN_MAX (8u << 20)

/* One file the process maps that may hold the interpreter. */
struct candidate {
	char path[PROC_MAP_PATH_LEN]; /* without " (deleted)" */
	char range[40];
	uint64_t ino;
	bool deleted, is_lib;
	int minor; /* from the name: 3.MINOR, 0 unknown */
	int nseg;
	struct {
		uint64_t start, end, offset;
		bool writable;
	} seg[MAX_SEGS];
	uint64_t bss_end; /* end of the anonymous mapping right after it */
};

/* "libpython3.11.so.1.0", "libpython3.7m.so", "python3.11", "python3" */
static bool python_name(const char *path, bool *is_lib, int *minor)
{
	const char *base = strrchr(path, '/');
	const char *p;
	char *end;
	long m;

	base = base ? base + 1 : path;
	if (strncmp(base, "libpython3.", 11) == 0) {
		*is_lib = true;
		p = base + 11;
	} else if (strncmp(base, "python3", 7) == 0) {
		*is_lib = false;
		if (base[7] == 0) {
			*minor = 0;
			return true;
		}
		if (base[7] != '.')
			return false;
		p = base + 8;
	} else {
		return false;
	}
	m = strtol(p, &end, 10);
	if (end == p || m < 0 || m > 99)
		return false;
	if (*is_lib && !strstr(end, ".so"))
		return false;
	*minor = (int)m;
	return true;
}

static void strip_deleted(char *path, bool deleted)
{
	size_t len = strlen(path), n = strlen(PROC_MAP_DELETED);

	if (deleted && len >= n && strcmp(path + len - n, PROC_MAP_DELETED) == 0)
		path[len - n] = 0;
}

/* The candidates in PID's maps, libraries first: the count, or -1. */
static int find_candidates(int pid, struct candidate *c, int max)
{
	struct proc_maps it;
	struct proc_map *m = malloc(sizeof(*m));
	struct candidate *last = NULL;
	int n = 0;

	if (!m)
		return -1;
	if (proc_maps_open(&it, pid)) {
		free(m);
		return -1;
	}
	while (proc_maps_next(&it, m) > 0) {
		struct candidate *k = NULL;
		bool is_lib;
		int minor;

		if (last && !m->inode && m->path[0] == 0 && last->nseg &&
		    m->start == last->seg[last->nseg - 1].end && !last->bss_end) {
			last->bss_end = m->end;
			continue;
		}
		last = NULL;
		if (m->path[0] != '/' || !m->inode)
			continue;
		strip_deleted(m->path, m->deleted);
		if (!python_name(m->path, &is_lib, &minor))
			continue;
		for (int i = 0; i < n; i++)
			if (c[i].ino == m->inode && strcmp(c[i].path, m->path) == 0)
				k = &c[i];
		if (!k) {
			if (n == max)
				continue;
			k = &c[n++];
			memset(k, 0, sizeof(*k));
			snprintf(k->path, sizeof(k->path), "%s", m->path);
			snprintf(k->range, sizeof(k->range), "%s", m->range);
			k->ino = m->inode;
			k->deleted = m->deleted;
			k->is_lib = is_lib;
			k->minor = minor;
		}
		if (k->nseg < MAX_SEGS) {
			k->seg[k->nseg].start = m->start;
			k->seg[k->nseg].end = m->end;
			k->seg[k->nseg].offset = m->offset;
			k->seg[k->nseg].writable = m->writable;
			k->nseg++;
		}
		last = k;
	}
	proc_maps_close(&it);
	free(m);
	/* libpython exports the interpreter when there is one */
	for (int i = 1; i < n; i++)
		if (c[i].is_lib && !c[0].is_lib) {
			struct candidate t = c[0];

			c[0] = c[i];
			c[i] = t;
		}
	return n;
}

/* The address where file offset off is mapped, or 0. */
static uint64_t addr_of_offset(const struct candidate *k, uint64_t off)
{
	for (int i = 0; i < k->nseg; i++)
		if (off >= k->seg[i].offset &&
		    off < k->seg[i].offset + (k->seg[i].end - k->seg[i].start))
			return k->seg[i].start + (off - k->seg[i].offset);
	return 0;
}

/* "3.MINOR.MICRO" in the file's .rodata (PY_VERSION, for Py_GetVersion). */
static bool rodata_version(const char *path, int minor, char *out, size_t len)
{
	char want[8];
	bool ok = false;
	Elf_Scn *scn = NULL;
	size_t shstr;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *e;

	if (fd < 0)
		return false;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	snprintf(want, sizeof(want), "3.%d.", minor);
	if (!e || elf_getshdrstrndx(e, &shstr))
		goto out;
	while (!ok && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *name;
		char *buf;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		name = elf_strptr(e, shstr, sh.sh_name);
		if (!name || strcmp(name, ".rodata") || sh.sh_size > RODATA_MAX)
			continue;
		buf = malloc(sh.sh_size + 1);
		if (!buf ||
		    pread(fd, buf, sh.sh_size, (off_t)sh.sh_offset) != (ssize_t)sh.sh_size) {
			free(buf);
			break;
		}
		buf[sh.sh_size] = 0;
		for (char *p = buf;
		     !ok && (p = memmem(p, sh.sh_size - (size_t)(p - buf), want, strlen(want)));
		     p++) {
			char *q = p + strlen(want);

			if ((p > buf && (p[-1] == '.' || (p[-1] >= '0' && p[-1] <= '9'))) ||
			    *q < '0' || *q > '9')
				continue;
			while (*q >= '0' && *q <= '9' && q - p < 12)
				q++;
			if (*q == 0) {
				snprintf(out, len, "%s", p);
				ok = true;
			}
		}
		free(buf);
	}
out:
	if (e)
		elf_end(e);
	close(fd);
	return ok;
}

static int mem_read_at(int fd, uint64_t addr, void *buf, size_t len)
{
	return pread(fd, buf, len, (off_t)addr) == (ssize_t)len ? 0 : -1;
}

/*
 * 3.6 has no _PyRuntime and its interp_head is a local symbol: find the
 * word in libpython's data that holds an interpreter, by the shape
 * interp->tstate_head->interp == interp.
 */
static uint64_t find_interp_root(struct py_process *p, const struct candidate *k, struct py_mem *m)
{
	const struct py_layout *l = &p->l;
	uint64_t *buf = malloc(PY_PROCMEM_LINE);
	uint64_t found = 0, scanned = 0;

	if (!buf)
		return 0;
	for (int i = 0; i < k->nseg && !found; i++) {
		uint64_t start = k->seg[i].start, end = k->seg[i].end;

		if (!k->seg[i].writable)
			continue;
		if (i == k->nseg - 1 && k->bss_end)
			end = k->bss_end;
		for (uint64_t a = start; a < end && !found && scanned < SCAN_MAX;
		     a += PY_PROCMEM_LINE, scanned += PY_PROCMEM_LINE) {
			if (py_mem_read(m, a, buf, PY_PROCMEM_LINE))
				continue;
			for (unsigned j = 0; j < PY_PROCMEM_LINE / 8; j++) {
				uint64_t w = buf[j], ts, back;

				if (!py_ptr_ok(w) || (w >= start && w < end) ||
				    py_mem_ptr(m, w + l->interp_tstate_head, &ts) ||
				    py_mem_u64(m, ts + l->ts_interp, &back) || back != w)
					continue;
				found = a + 8 * j;
				break;
			}
		}
	}
	free(buf);
	return found;
}

static const char *const type_names[][2] = {
	{ "PyCode_Type", "code" }, { "PyDict_Type", "dict" },	  { "PyUnicode_Type", "str" },
	{ "PyLong_Type", "int" },  { "PyModule_Type", "module" }, { "PyBytes_Type", "bytes" },
	{ "PyType_Type", "type" },
};

/* Each type object's tp_name must read as its name: the bias and the type
 * layout are right. */
static int check_types(struct py_process *p, struct py_mem *m, char *why, size_t whylen)
{
	uint64_t *addr[] = { &p->s.code_type,	&p->s.dict_type,  &p->s.str_type, &p->s.long_type,
			     &p->s.module_type, &p->s.bytes_type, &p->s.type_type };

	for (size_t i = 0; i < sizeof(addr) / sizeof(addr[0]); i++) {
		uint64_t name;
		char s[16] = "";

		if (py_mem_ptr(m, *addr[i] + p->l.tp_name, &name) && (name & 7) == 0) {
			snprintf(why, whylen, "%s is not readable", type_names[i][0]);
			return -1;
		}
		if (py_mem_read(m, *addr[i] + p->l.tp_name, &name, 8) ||
		    py_mem_read(m, name, s, sizeof(s) - 1) || strcmp(s, type_names[i][1]) != 0) {
			snprintf(why, whylen, "%s does not name itself \"%s\"", type_names[i][0],
				 type_names[i][1]);
			return -1;
		}
	}
	return 0;
}

/* Fills p from the file k: 0; -1 with why (not a usable interpreter); 1
 * when k does not export the interpreter (try the next file). */
static int recognize(struct py_process *p, const struct candidate *k, int memfd, char *why,
		     size_t whylen)
{
	char path[PROC_MAP_PATH_LEN + 64], err[256];
	struct elfsym code, sym;
	struct elfsym_file *f;
	const struct py_layout *row;
	uint64_t bias, code_addr;
	uint32_t hex = 0;
	int minor = k->minor, rc = -1;

	proc_mapfile_path(p->pid, k->path, k->ino, k->deleted, k->range, path, sizeof(path));
	f = elfsym_open(path, err, sizeof(err));
	if (!f) {
		snprintf(why, whylen, "cannot read %.160s: %.80s", k->path, err);
		return -1;
	}
	if (elfsym_lookup(f, "PyCode_Type", &code)) {
		rc = 1; /* the executable of a build with libpython */
		goto out;
	}
	code_addr = addr_of_offset(k, code.offset);
	if (!code_addr) {
		snprintf(why, whylen, "%.200s: PyCode_Type is not mapped", k->path);
		goto out;
	}
	bias = code_addr - code.value;
	p->s.code_type = code_addr;
	for (size_t i = 1; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		uint64_t *dst[] = { NULL,
				    &p->s.dict_type,
				    &p->s.str_type,
				    &p->s.long_type,
				    &p->s.module_type,
				    &p->s.bytes_type,
				    &p->s.type_type };

		if (elfsym_lookup(f, type_names[i][0], &sym)) {
			snprintf(why, whylen, "%.200s does not export %s", k->path,
				 type_names[i][0]);
			goto out;
		}
		*dst[i] = bias + sym.value;
	}
	if (elfsym_lookup(f, "_PyRuntime", &sym) == 0)
		p->s.runtime = bias + sym.value;
	if (elfsym_lookup(f, "Py_Version", &sym) == 0) {
		uint32_t v;

		if (mem_read_at(memfd, bias + sym.value, &v, sizeof(v)) == 0 && (v >> 24) == 3)
			hex = v;
	}
	/* 3.13+: the runtime describes itself */
	if (p->s.runtime) {
		unsigned char dbg[1024];

		if (mem_read_at(memfd, p->s.runtime, dbg, sizeof(dbg)) == 0 &&
		    memcmp(dbg, PY_DEBUG_COOKIE, 8) == 0) {
			uint64_t v;

			memcpy(&v, dbg + 8, 8);
			hex = (uint32_t)v;
		}
		if (hex)
			minor = (hex >> 16) & 0xff;
		row = py_layout_row(minor);
		if (!row) {
			snprintf(why, whylen, "CPython 3.%d is not supported (3.%d-3.%d are)",
				 minor, PY_MINOR_FIRST, PY_MINOR_LAST);
			goto out;
		}
		p->l = *row;
		if (py_layout_from_debug(&p->l, dbg, sizeof(dbg), &hex, why, whylen) < 0)
			goto out;
	} else {
		row = py_layout_row(minor);
		if (!row) {
			snprintf(why, whylen, "CPython 3.%d is not supported (3.%d-3.%d are)",
				 minor, PY_MINOR_FIRST, PY_MINOR_LAST);
			goto out;
		}
		p->l = *row;
	}
	if (p->l.rt_interp_head < 0 && p->l.minor != 6) {
		snprintf(why, whylen, "CPython 3.%d without its debug offsets", minor);
		goto out;
	}
	if (hex)
		snprintf(p->version, sizeof(p->version), "%u.%u.%u", hex >> 24, (hex >> 16) & 0xff,
			 (hex >> 8) & 0xff);
	else if (!rodata_version(path, minor, p->version, sizeof(p->version)))
		snprintf(p->version, sizeof(p->version), "3.%d", minor);
	if (p->s.runtime)
		p->s.interp_root = p->s.runtime + (uint64_t)p->l.rt_interp_head;
	rc = 0;
out:
	elfsym_close(f);
	return rc;
}

/* The first read must validate: types, interpreter, thread states with live tids. */
static int validate(struct py_process *p, const struct candidate *k, char *why, size_t whylen)
{
	struct py_tids valid = { 0 };
	struct py_read_opts o = { .frames = false };
	struct py_read_stats st;
	struct py_thread *v = NULL;
	struct py_procmem pm;
	struct py_mem m;
	int n, rc = -1;

	if (py_procmem_open(&pm, p->pid, &m)) {
		snprintf(why, whylen, "cannot read its memory: %s", strerror(errno));
		return -1;
	}
	if (check_types(p, &m, why, whylen))
		goto out;
	if (!p->s.interp_root)
		p->s.interp_root = find_interp_root(p, k, &m);
	if (!p->s.interp_root) {
		snprintf(why, whylen, "no interpreter found in its memory");
		goto out;
	}
	py_tids_read(&valid, p->pid);
	memset(&st, 0, sizeof(st));
	n = py_read_image(p, &m, &valid, NULL, 0, &o, &v, &st);
	if (n < 0) {
		snprintf(why, whylen, "its thread states do not validate");
	} else if (n == 0 && st.threads > 0) {
		snprintf(why, whylen, "no thread state names a thread of the process");
	} else {
		rc = 0;
	}
	py_threads_free(v, n);
	py_tids_free(&valid);
out:
	py_procmem_close(&pm);
	return rc;
}

struct py_process *py_attach(int pid, char *why, size_t whylen)
{
	struct candidate *c = calloc(MAX_CANDIDATES, sizeof(*c));
	struct py_process *p = calloc(1, sizeof(*p));
	char detail[256] = "";
	char memp[64];
	int n, memfd = -1, rc = 1;

	why[0] = 0;
	if (!c || !p)
		goto fail;
	if (elf_version(EV_CURRENT) == EV_NONE)
		goto fail;
	n = find_candidates(pid, c, MAX_CANDIDATES);
	if (n <= 0)
		goto fail;
	snprintf(memp, sizeof(memp), "/proc/%d/mem", pid);
	memfd = open(memp, O_RDONLY | O_CLOEXEC);
	if (memfd < 0) {
		snprintf(why, whylen, "cannot read its memory: %s", strerror(errno));
		goto fail;
	}
	p->pid = pid;
	for (int i = 0; i < n; i++) {
		rc = recognize(p, &c[i], memfd, detail, sizeof(detail));
		if (rc == 0)
			rc = validate(p, &c[i], detail, sizeof(detail));
		if (rc == 0)
			break;
		if (rc < 0) {
			snprintf(why, whylen, "CPython %s: %s", p->version[0] ? p->version : "",
				 detail);
			goto fail;
		}
	}
	if (rc)
		goto fail;
	close(memfd);
	free(c);
	return p;
fail:
	if (memfd >= 0)
		close(memfd);
	free(c);
	free(p);
	return NULL;
}

void py_detach(struct py_process *p)
{
	free(p);
}

const char *py_version(const struct py_process *p)
{
	return p ? p->version : "";
}
