/* Dynamic symbol lookup with glibc symbol versioning (libelf). */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elf/elfsym.h"

#define VERSYM_HIDDEN 0x8000
#define VERSYM_INDEX 0x7fff

struct elfsym_file {
	int fd;
	Elf *elf;
	GElf_Ehdr ehdr;
	Elf_Data *dynsym; /* .dynsym */
	size_t dynsym_count;
	size_t dynstr;	  /* section index of its strings */
	Elf_Data *versym; /* .gnu.version, or NULL */
	Elf_Data *verdef; /* .gnu.version_d, or NULL */
	size_t verdef_str;
	size_t verdef_count;
};

struct elfsym_file *elfsym_open(const char *path, char *err, size_t errlen)
{
	struct elfsym_file *f = calloc(1, sizeof(*f));
	Elf_Scn *scn = NULL;

	if (!f) {
		snprintf(err, errlen, "cannot allocate memory");
		return NULL;
	}
	f->fd = -1;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "libelf is unusable: %s", elf_errmsg(-1));
		goto fail;
	}
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		goto fail;
	}
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF || !gelf_getehdr(f->elf, &f->ehdr)) {
		snprintf(err, errlen, "%s is not an ELF file: %s", path, elf_errmsg(-1));
		goto fail;
	}
	while ((scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		switch (sh.sh_type) {
		case SHT_DYNSYM:
			f->dynsym = elf_getdata(scn, NULL);
			f->dynsym_count = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
			f->dynstr = sh.sh_link;
			break;
		case SHT_GNU_versym: f->versym = elf_getdata(scn, NULL); break;
		case SHT_GNU_verdef:
			f->verdef = elf_getdata(scn, NULL);
			f->verdef_str = sh.sh_link;
			f->verdef_count = sh.sh_info;
			break;
		}
	}
	if (!f->dynsym || !f->dynsym_count) {
		snprintf(err, errlen, "%s has no dynamic symbols", path);
		goto fail;
	}
	return f;
fail:
	elfsym_close(f);
	return NULL;
}

void elfsym_close(struct elfsym_file *f)
{
	if (!f)
		return;
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	free(f);
}

/* The name of version index ndx from .gnu.version_d, or NULL. */
static const char *version_name(struct elfsym_file *f, unsigned ndx)
{
	size_t off = 0;

	if (!f->verdef)
		return NULL;
	for (size_t n = 0; n < f->verdef_count; n++) {
		GElf_Verdef vd;
		GElf_Verdaux va;

		if (!gelf_getverdef(f->verdef, off, &vd))
			return NULL;
		if (vd.vd_ndx == ndx) {
			if (!gelf_getverdaux(f->verdef, off + vd.vd_aux, &va))
				return NULL;
			return elf_strptr(f->elf, f->verdef_str, va.vda_name);
		}
		if (!vd.vd_next)
			break;
		off += vd.vd_next;
	}
	return NULL;
}

/* File offset of virtual address v: within the PT_LOAD that holds it. */
static int vaddr_to_offset(struct elfsym_file *f, uint64_t v, uint64_t *off)
{
	size_t n;

	if (elf_getphdrnum(f->elf, &n))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(f->elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (v >= ph.p_vaddr && v < ph.p_vaddr + ph.p_filesz) {
			*off = v - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

int elfsym_lookup(struct elfsym_file *f, const char *name, struct elfsym *out)
{
	GElf_Sym best_sym = { 0 };
	unsigned best_ver = 0;
	int found = 0; /* definitions seen */
	bool best_default = false, same_address = true;

	for (size_t i = 1; i < f->dynsym_count; i++) {
		GElf_Sym s;
		GElf_Versym vs = 1; /* unversioned: global */
		const char *sn;
		int type;
		bool def;

		if (!gelf_getsym(f->dynsym, (int)i, &s) || s.st_shndx == SHN_UNDEF)
			continue;
		type = GELF_ST_TYPE(s.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_OBJECT &&
		    type != STT_NOTYPE)
			continue;
		sn = elf_strptr(f->elf, f->dynstr, s.st_name);
		if (!sn || strcmp(sn, name) != 0)
			continue;
		if (f->versym)
			gelf_getversym(f->versym, (int)i, &vs);
		def = !(vs & VERSYM_HIDDEN);
		if (found && s.st_value != best_sym.st_value)
			same_address = false;
		if (!found || (def && !best_default)) {
			best_sym = s;
			best_ver = vs & VERSYM_INDEX;
			best_default = def;
		}
		found++;
	}
	if (!found)
		return -ENOENT;
	if (!best_default && found > 1 && !same_address)
		return -EINVAL;
	if (GELF_ST_TYPE(best_sym.st_info) == STT_GNU_IFUNC)
		return -ENOTSUP;

	memset(out, 0, sizeof(*out));
	out->value = best_sym.st_value;
	out->size = best_sym.st_size;
	out->default_version = best_default || found == 1;
	if (best_ver > 1) {
		const char *vn = version_name(f, best_ver);

		if (vn)
			snprintf(out->version, sizeof(out->version), "%s", vn);
	}
	return vaddr_to_offset(f, out->value, &out->offset);
}

int64_t elfsym_offset(const char *path, const char *name)
{
	char err[256];
	struct elfsym_file *f = elfsym_open(path, err, sizeof(err));
	struct elfsym s;
	int rc;

	if (!f)
		return -ENOENT;
	rc = elfsym_lookup(f, name, &s);
	elfsym_close(f);
	return rc ? rc : (int64_t)s.offset;
}

int elfsym_read(struct elfsym_file *f, const struct elfsym *sym, void *buf, size_t len)
{
	return pread(f->fd, buf, len, (off_t)sym->offset) == (ssize_t)len ? 0 : -1;
}

unsigned elfsym_machine(const struct elfsym_file *f)
{
	return f->ehdr.e_machine;
}
