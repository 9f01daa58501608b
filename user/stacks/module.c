/* ELF modules (see module.h). */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "stacks/module.h"

#define PAGE_MASK_4K (~(uint64_t)0xfff)

static void read_loads(struct module *m)
{
	size_t n = 0;

	if (elf_getphdrnum(m->elf, &n))
		return;
	for (size_t i = 0; i < n && m->nloads < MODULE_LOADS_MAX; i++) {
		GElf_Phdr ph;
		uint64_t skew;

		if (!gelf_getphdr(m->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		skew = ph.p_offset - (ph.p_offset & PAGE_MASK_4K);
		if (ph.p_vaddr < skew)
			continue;
		m->loads[m->nloads++] = (struct module_load){
			.offset = ph.p_offset - skew,
			.vaddr = ph.p_vaddr - skew,
			.filesz = ph.p_filesz + skew,
		};
	}
}

/* Function symbols of one symbol table section. */
static void read_symbols(struct module *m, Elf_Scn *scn, GElf_Shdr *sh)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n;

	if (!data || !sh->sh_entsize)
		return;
	n = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		const char *name;

		if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		name = elf_strptr(m->elf, sh->sh_link, sym.st_name);
		if (name && *name && symtab_add(&m->syms, sym.st_value, sym.st_size, name))
			return;
	}
}

static void read_symtabs(struct module *m)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(m->elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) &&
		    (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM))
			read_symbols(m, scn, &sh);
	}
	symtab_finish(&m->syms);
}

struct module *module_open(const char *path, const char *name, uint64_t dev, uint64_t ino)
{
	struct module *m = calloc(1, sizeof(*m));
	const void *id;
	ssize_t idlen;

	if (!m)
		return NULL;
	m->dev = dev;
	m->ino = ino;
	snprintf(m->name, sizeof(m->name), "%s", name);
	elf_version(EV_CURRENT);
	m->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (m->fd < 0)
		goto fail;
	m->elf = elf_begin(m->fd, ELF_C_READ_MMAP, NULL);
	if (!m->elf || elf_kind(m->elf) != ELF_K_ELF)
		goto fail;
	idlen = dwelf_elf_gnu_build_id(m->elf, &id);
	if (idlen > 0 && idlen <= MODULE_BUILD_ID_MAX) {
		memcpy(m->build_id, id, idlen);
		m->build_id_len = (int)idlen;
	}
	read_loads(m);
	read_symtabs(m);
	return m;
fail:
	module_free(m);
	return NULL;
}

void module_free(struct module *m)
{
	if (!m)
		return;
	if (m->dwfl)
		dwfl_end(m->dwfl);
	symtab_free(&m->syms);
	if (m->elf)
		elf_end(m->elf);
	if (m->fd >= 0)
		close(m->fd);
	free(m);
}

bool module_vaddr(const struct module *m, uint64_t off, uint64_t *vaddr)
{
	for (int i = 0; i < m->nloads; i++) {
		const struct module_load *l = &m->loads[i];

		if (off >= l->offset && off - l->offset < l->filesz) {
			*vaddr = l->vaddr + (off - l->offset);
			return true;
		}
	}
	*vaddr = 0;
	return false;
}

/* The module's DWARF: its own, or a debug file found by build-id on this
 * host (no network: debuginfod is turned off by stacks__new). */
static bool open_dwarf(struct module *m)
{
	static char *debuginfo_path;
	static const Dwfl_Callbacks cb = {
		.find_elf = dwfl_build_id_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.debuginfo_path = &debuginfo_path,
	};
	char path[64];
	int fd;

	if (m->dwarf_tried)
		return m->dmod != NULL;
	m->dwarf_tried = true;
	m->dwfl = dwfl_begin(&cb);
	if (!m->dwfl)
		return false;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", m->fd);
	fd = dup(m->fd);
	if (fd < 0)
		return false;
	dwfl_report_begin(m->dwfl);
	/* bias 0: the module's addresses are its ELF addresses */
	m->dmod = dwfl_report_elf(m->dwfl, m->name, path, fd, 0, true);
	dwfl_report_end(m->dwfl, NULL, NULL);
	if (!m->dmod)
		close(fd);
	return m->dmod != NULL;
}

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *s = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));

	if (!s)
		s = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
	return s ? s : dwarf_diename(die);
}

/* An inlined call's site: the caller's file and line. */
static void call_site(Dwarf_Die *cu, Dwarf_Die *inl, const char **file, int *line)
{
	Dwarf_Attribute a;
	Dwarf_Word f = 0, l = 0;
	Dwarf_Files *files;
	size_t nfiles;

	*file = NULL;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &a), &l) == 0 && l < (1u << 30))
		*line = (int)l;
	if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &a), &f) == 0 &&
	    dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && f < nfiles)
		*file = dwarf_filesrc(files, f, NULL, NULL);
}

int module_frames(struct module *m, uint64_t vaddr, struct module_frame *out, int max)
{
	uint64_t off;
	const char *sym = symtab_find(&m->syms, vaddr, &off);
	Dwarf_Die *scopes = NULL, *cu;
	Dwarf_Addr bias = 0;
	Dwfl_Line *line;
	int n = 0, nscopes;

	if (max <= 0)
		return 0;
	out[0] = (struct module_frame){ .func = sym };
	if (!open_dwarf(m))
		return sym ? 1 : 0;
	line = dwfl_module_getsrc(m->dmod, vaddr);
	if (line) {
		int lineno = 0;
		const char *file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);

		out[0].file = file;
		out[0].line = lineno > 0 ? lineno : 0;
	}
	cu = dwfl_module_addrdie(m->dmod, vaddr, &bias);
	nscopes = cu ? dwarf_getscopes(cu, vaddr - bias, &scopes) : 0;
	/* past an inlined call, getscopes goes on with the inlined function's
	 * own (abstract) context: the concrete nesting of the innermost scope
	 * is what names each caller */
	if (nscopes > 0) {
		Dwarf_Die inner = scopes[0], *chain = NULL;
		int nchain = dwarf_getscopes_die(&inner, &chain);

		free(scopes);
		scopes = nchain > 0 ? chain : NULL;
		nscopes = nchain > 0 ? nchain : 0;
		if (nchain <= 0)
			free(chain);
	}
	/* scopes run innermost first, out to the function: each inlined call
	 * is one more frame, its caller's at the call's site */
	for (int i = 0; i < nscopes && n + 1 < max; i++) {
		int tag = dwarf_tag(&scopes[i]);

		if (tag == DW_TAG_subprogram)
			break;
		if (tag != DW_TAG_inlined_subroutine)
			continue;
		out[n].func = die_name(&scopes[i]);
		out[n + 1] = (struct module_frame){ .func = NULL };
		call_site(cu, &scopes[i], &out[n + 1].file, &out[n + 1].line);
		n++;
	}
	/* the function itself: the symbol table names it best (C++: mangled);
	 * else a debug file's own table (a linear scan, but cached per address) */
	out[n].func = sym;
	if (!sym) {
		GElf_Off soff;
		GElf_Sym esym;

		out[n].func = dwfl_module_addrinfo(m->dmod, vaddr, &soff, &esym, NULL, NULL, NULL);
	}
	for (int i = 0; i < nscopes && !out[n].func; i++)
		if (dwarf_tag(&scopes[i]) == DW_TAG_subprogram)
			out[n].func = die_name(&scopes[i]);
	free(scopes);
	n++;
	if (n == 1 && !out[0].func && !out[0].file)
		return 0;
	return n;
}
