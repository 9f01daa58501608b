/* Probe points the kernel emulates, by a small x86-64 decoder (see x86probe.h). */
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/x86probe.h"

enum {
	P_66 = 1,
	P_67 = 2,
	P_F2 = 4,
	P_F3 = 8,
	P_SEG = 16,
	P_LOCK = 32,
	P_SEGCS_DS = 64,
};

/* immediate kinds */
enum { I_NONE, I_8, I_16, I_Z, I_V, I_MOFFS, I_ENTER, R_8, R_32, BAD };

struct x86_insn {
	int len;
	int map; /* 0: one byte, 1: 0F, 2: 0F38, 3: 0F3A, 4: VEX/EVEX */
	uint8_t op;
	uint8_t rex;
	unsigned prefixes; /* P_* */
	bool has_modrm;
	uint8_t modrm;
	bool branch, call;
	int64_t target; /* a branch's target, relative to the instruction */
};

static int map0_kind(uint8_t op, bool *modrm)
{
	*modrm = false;
	if (op < 0x40) {
		switch (op & 7) {
		case 0:
		case 1:
		case 2:
		case 3: *modrm = true; return I_NONE;
		case 4: return I_8;
		case 5: return I_Z;
		default: return BAD; /* push/pop seg, daa, ...; prefixes handled */
		}
	}
	if (op < 0x60)
		return op < 0x50 ? BAD : I_NONE; /* 40-4f: stray REX */
	if (op >= 0x70 && op <= 0x7f)
		return R_8;
	if (op >= 0x84 && op <= 0x8f) {
		*modrm = true;
		return I_NONE;
	}
	if (op >= 0x90 && op <= 0x9f)
		return op == 0x9a ? BAD : I_NONE;
	if (op >= 0xa0 && op <= 0xa3)
		return I_MOFFS;
	if (op >= 0xa4 && op <= 0xaf)
		return op == 0xa8 ? I_8 : op == 0xa9 ? I_Z : I_NONE;
	if (op >= 0xb0 && op <= 0xb7)
		return I_8;
	if (op >= 0xb8 && op <= 0xbf)
		return I_V;
	if (op >= 0xd8 && op <= 0xdf) {
		*modrm = true;
		return I_NONE;
	}
	switch (op) {
	case 0x63: *modrm = true; return I_NONE;
	case 0x68: return I_Z;
	case 0x69: *modrm = true; return I_Z;
	case 0x6a: return I_8;
	case 0x6b: *modrm = true; return I_8;
	case 0x6c:
	case 0x6d:
	case 0x6e:
	case 0x6f: return I_NONE;
	case 0x80:
	case 0x83:
	case 0xc0:
	case 0xc1:
	case 0xc6: *modrm = true; return I_8;
	case 0x81:
	case 0xc7: *modrm = true; return I_Z;
	case 0xc2:
	case 0xca: return I_16;
	case 0xc3:
	case 0xc9:
	case 0xcb:
	case 0xcc:
	case 0xcf: return I_NONE;
	case 0xc8: return I_ENTER;
	case 0xcd: return I_8;
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3: *modrm = true; return I_NONE;
	case 0xd7: return I_NONE;
	case 0xe0:
	case 0xe1:
	case 0xe2:
	case 0xe3:
	case 0xeb: return R_8;
	case 0xe4:
	case 0xe5:
	case 0xe6:
	case 0xe7: return I_8;
	case 0xe8:
	case 0xe9: return R_32;
	case 0xec:
	case 0xed:
	case 0xee:
	case 0xef:
	case 0xf1:
	case 0xf4:
	case 0xf5:
	case 0xf8:
	case 0xf9:
	case 0xfa:
	case 0xfb:
	case 0xfc:
	case 0xfd: return I_NONE;
	case 0xf6:
	case 0xf7:
	case 0xfe:
	case 0xff: *modrm = true; return I_NONE; /* f6/f7 /0 /1: immediate added by the caller */
	}
	return BAD;
}

static int map1_kind(uint8_t op, bool *modrm)
{
	*modrm = true;
	if (op >= 0x80 && op <= 0x8f) {
		*modrm = false;
		return R_32;
	}
	if ((op >= 0x10 && op <= 0x23) || (op >= 0x28 && op <= 0x2f) ||
	    (op >= 0x40 && op <= 0x6f) || (op >= 0x74 && op <= 0x76) ||
	    (op >= 0x78 && op <= 0x7f) || (op >= 0x90 && op <= 0x9f) ||
	    (op >= 0xb0 && op <= 0xb9) || (op >= 0xbb && op <= 0xc1) || op >= 0xd0)
		return I_NONE;
	switch (op) {
	case 0x00:
	case 0x01:
	case 0x02:
	case 0x03:
	case 0x0d:
	case 0xa3:
	case 0xa5:
	case 0xab:
	case 0xad:
	case 0xae:
	case 0xaf:
	case 0xc3:
	case 0xc7: return I_NONE;
	case 0x0f: /* 3DNow! */
	case 0x70:
	case 0x71:
	case 0x72:
	case 0x73:
	case 0xa4:
	case 0xac:
	case 0xba:
	case 0xc2:
	case 0xc4:
	case 0xc5:
	case 0xc6: return I_8;
	case 0x05:
	case 0x06:
	case 0x07:
	case 0x08:
	case 0x09:
	case 0x0b:
	case 0x0e:
	case 0x30:
	case 0x31:
	case 0x32:
	case 0x33:
	case 0x34:
	case 0x35:
	case 0x37:
	case 0x77:
	case 0xa0:
	case 0xa1:
	case 0xa2:
	case 0xa8:
	case 0xa9:
	case 0xaa:
	case 0xc8:
	case 0xc9:
	case 0xca:
	case 0xcb:
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xcf: *modrm = false; return I_NONE;
	}
	return BAD;
}

static int decode(const uint8_t *c, size_t len, struct x86_insn *in)
{
	size_t i = 0;
	int kind, imm = 0, disp = 0;

	memset(in, 0, sizeof(*in));
	for (; i < len && i < 14; i++) {
		uint8_t b = c[i];

		if (b == 0x66)
			in->prefixes |= P_66;
		else if (b == 0x67)
			in->prefixes |= P_67;
		else if (b == 0xf2)
			in->prefixes |= P_F2;
		else if (b == 0xf3)
			in->prefixes |= P_F3;
		else if (b == 0xf0)
			in->prefixes |= P_LOCK;
		else if (b == 0x64 || b == 0x65)
			in->prefixes |= P_SEG;
		else if (b == 0x2e || b == 0x3e || b == 0x26 || b == 0x36)
			in->prefixes |= P_SEGCS_DS;
		else
			break;
	}
	if (i >= len)
		return 0;
	if ((c[i] & 0xf0) == 0x40) {
		in->rex = c[i++];
		if (i >= len)
			return 0;
	}
	in->op = c[i++];
	if (in->op == 0xc4 || in->op == 0xc5 || in->op == 0x62) {
		/* VEX / EVEX: payload, opcode, ModRM, imm8 for map 3 and a few */
		size_t payload = in->op == 0xc5 ? 1 : in->op == 0xc4 ? 2 : 3;
		int vmap;

		if (in->rex || i + payload >= len)
			return 0;
		vmap = in->op == 0xc5 ? 1 : (c[i] & (in->op == 0x62 ? 0x07 : 0x1f));
		i += payload;
		in->map = 4;
		in->op = c[i++];
		in->has_modrm = true;
		kind = vmap == 3 || (vmap == 1 &&
				     ((in->op >= 0x70 && in->op <= 0x73) || in->op == 0xc2 ||
				      (in->op >= 0xc4 && in->op <= 0xc6))) ?
			       I_8 :
			       I_NONE;
		if (vmap < 1 || vmap > 7)
			return 0;
	} else if (in->op == 0x0f) {
		if (i >= len)
			return 0;
		in->op = c[i++];
		if (in->op == 0x38 || in->op == 0x3a) {
			in->map = in->op == 0x38 ? 2 : 3;
			if (i >= len)
				return 0;
			in->op = c[i++];
			in->has_modrm = true;
			kind = in->map == 3 ? I_8 : I_NONE;
		} else {
			in->map = 1;
			kind = map1_kind(in->op, &in->has_modrm);
		}
	} else {
		kind = map0_kind(in->op, &in->has_modrm);
	}
	if (kind == BAD)
		return 0;

	if (in->has_modrm) {
		uint8_t mod, rm;

		if (i >= len)
			return 0;
		in->modrm = c[i++];
		mod = in->modrm >> 6;
		rm = in->modrm & 7;
		if (mod != 3) {
			if (rm == 4) {
				if (i >= len)
					return 0;
				if (mod == 0 && (c[i] & 7) == 5)
					disp = 4;
				i++;
			}
			if (mod == 0 && rm == 5)
				disp = 4;
			else if (mod == 1)
				disp = 1;
			else if (mod == 2)
				disp = 4;
		}
		i += disp;
		if (in->map == 0 && (in->op == 0xf6 || in->op == 0xf7) &&
		    ((in->modrm >> 3) & 7) < 2)
			kind = in->op == 0xf6 ? I_8 : I_Z;
		if (in->map == 0 && in->op == 0xc7 && in->modrm == 0xf8) {
			kind = R_32; /* xbegin */
		}
	}
	switch (kind) {
	case I_8:
	case R_8: imm = 1; break;
	case I_16: imm = 2; break;
	case I_Z:
	case R_32: imm = (in->prefixes & P_66) && kind == I_Z ? 2 : 4; break;
	case I_V: imm = (in->rex & 8) ? 8 : (in->prefixes & P_66) ? 2 : 4; break;
	case I_MOFFS: imm = (in->prefixes & P_67) ? 4 : 8; break;
	case I_ENTER: imm = 3; break;
	}
	if (i + imm > len)
		return 0;
	if (kind == R_8 || kind == R_32) {
		int64_t rel = kind == R_8 ? (int8_t)c[i] :
					    (int32_t)((uint32_t)c[i] | (uint32_t)c[i + 1] << 8 |
						      (uint32_t)c[i + 2] << 16 |
						      (uint32_t)c[i + 3] << 24);

		in->branch = true;
		in->call = in->map == 0 && in->op == 0xe8;
		in->target = (int64_t)(i + imm) + rel;
	}
	in->len = (int)(i + imm);
	return in->len;
}

int x86probe_insn_len(const uint8_t *code, size_t len, bool *is_branch, bool *is_call,
		      int64_t *target)
{
	struct x86_insn in;
	int n = decode(code, len, &in);

	*is_branch = n && in.branch;
	*is_call = n && in.call;
	*target = n ? in.target : 0;
	return n;
}

/* Does the kernel emulate this instruction instead of single-stepping it?
 * (arch/x86/kernel/uprobes.c: push of a register, jmp/jcc/call rel, nop.) */
static bool emulated(const struct x86_insn *in)
{
	if (in->prefixes)
		return false;
	if (in->map == 0 && in->op >= 0x50 && in->op <= 0x57)
		return in->rex == 0 || in->rex == 0x41;
	if (in->rex)
		return false;
	if (in->map == 0)
		return in->op == 0xeb || in->op == 0xe9 || in->op == 0xe8 || in->op == 0x90 ||
		       (in->op >= 0x70 && in->op <= 0x7f);
	return in->map == 1 && in->op >= 0x80 && in->op <= 0x8f;
}

#define DEST_NONE (-1)
#define DEST_MEM (-2)
#define UNKNOWN (-3)

/*
 * The register an instruction that may precede the probe point writes
 * (DEST_NONE, DEST_MEM), or UNKNOWN for anything else: only plain data
 * movement and arithmetic, never the stack, flow control or a prefix that
 * changes the meaning.
 */
static int dest_of(const struct x86_insn *in, int *dest2)
{
	int reg = ((in->rex & 4) << 1) | ((in->modrm >> 3) & 7);
	int rm = ((in->rex & 1) << 3) | (in->modrm & 7);
	int rm_dest = (in->modrm >> 6) == 3 ? rm : DEST_MEM;
	int sub = (in->modrm >> 3) & 7;
	uint8_t op = in->op;

	*dest2 = DEST_NONE;
	if (in->prefixes & ~(unsigned)(P_66 | P_SEG | P_F3))
		return UNKNOWN;
	if (in->prefixes & P_F3) /* only endbr64 */
		return in->map == 1 && op == 0x1e && (in->modrm == 0xfa || in->modrm == 0xfb) ?
			       DEST_NONE :
			       UNKNOWN;
	if (in->map == 0) {
		if (op < 0x40 && (op & 7) <= 5) {
			bool cmp = (op >> 3) == 7;

			if (cmp)
				return DEST_NONE;
			if ((op & 7) <= 1)
				return rm_dest;
			return (op & 7) <= 3 ? reg : 0;
		}
		if (op >= 0xb0 && op <= 0xbf)
			return ((in->rex & 1) << 3) | (op & 7);
		switch (op) {
		case 0x63:
		case 0x69:
		case 0x6b:
		case 0x8a:
		case 0x8b:
		case 0x8d: return reg;
		case 0x80:
		case 0x81:
		case 0x83: return sub == 7 ? DEST_NONE : rm_dest;
		case 0x84:
		case 0x85:
		case 0xa8:
		case 0xa9: return DEST_NONE;
		case 0x86:
		case 0x87: *dest2 = reg; return rm_dest;
		case 0x88:
		case 0x89:
		case 0xc0:
		case 0xc1:
		case 0xd0:
		case 0xd1:
		case 0xd2:
		case 0xd3: return rm_dest;
		case 0x90: return in->rex ? UNKNOWN : DEST_NONE;
		case 0xc6:
		case 0xc7: return sub == 0 && in->modrm != 0xf8 ? rm_dest : UNKNOWN;
		case 0xf6:
		case 0xf7:
			if (sub < 2)
				return DEST_NONE;
			if (sub < 4)
				return rm_dest;
			*dest2 = 2; /* mul/div: rax, rdx */
			return 0;
		}
		return UNKNOWN;
	}
	if (in->map == 1) {
		if (op >= 0x40 && op <= 0x4f)
			return reg; /* cmov */
		if (op >= 0x90 && op <= 0x9f)
			return rm_dest; /* setcc */
		switch (op) {
		case 0x1f: return DEST_NONE; /* nop r/m */
		case 0xa3: return DEST_NONE; /* bt */
		case 0xaf:
		case 0xb6:
		case 0xb7:
		case 0xbe:
		case 0xbf: return reg;
		}
	}
	return UNKNOWN;
}

#define PROBE_SCAN 64	    /* bytes of prologue looked at */
#define FUNC_MAX (64 << 10) /* longest function decoded whole */

size_t x86probe_point(const uint8_t *code, size_t size, unsigned keep_regs)
{
	unsigned forbidden = keep_regs | (1u << 4); /* and rsp */
	size_t pos = 0, probe = 0;
	bool found = false;

	/* the straight-line start, up to the first emulated instruction */
	while (pos < size && pos < PROBE_SCAN) {
		struct x86_insn in;
		int d1, d2;

		if (!decode(code + pos, size - pos, &in))
			return 0;
		if (emulated(&in)) {
			probe = pos;
			found = true;
			break;
		}
		d1 = dest_of(&in, &d2);
		if (d1 == UNKNOWN || (d1 >= 0 && (forbidden >> d1) & 1) ||
		    (d2 >= 0 && (forbidden >> d2) & 1))
			return 0;
		pos += (size_t)in.len;
	}
	if (!found || probe == 0)
		return 0;

	/* no branch in the function may land after the start and at or
	 * before the probe: that code would then run twice, or never; and
	 * the whole function must decode, or we cannot know */
	for (pos = 0; pos < size;) {
		struct x86_insn in;

		if (!decode(code + pos, size - pos, &in))
			return 0;
		if (in.branch && !in.call) {
			int64_t t = (int64_t)pos + in.target;

			if (t > 0 && t <= (int64_t)probe)
				return 0;
		}
		pos += (size_t)in.len;
	}
	return pos == size ? probe : 0;
}

uint64_t x86probe_offset(struct elfsym_file *f, const struct elfsym *sym, unsigned keep_regs,
			 uint64_t *delta)
{
	size_t size = sym->size, probe = 0;
	uint8_t *code;

	if (delta)
		*delta = 0;
	if (elfsym_machine(f) != EM_X86_64 || size == 0 || size > FUNC_MAX)
		return sym->offset;
	code = malloc(size);
	if (!code)
		return sym->offset;
	if (elfsym_read(f, sym, code, size) == 0)
		probe = x86probe_point(code, size, keep_regs);
	free(code);
	if (delta)
		*delta = probe;
	return sym->offset + probe;
}
