/*
 * Strings, ints and dicts read from another process (py_priv.h), per the
 * layouts measured on every build: the string kinds (latin-1, UCS-2,
 * UCS-4), the two dict-keys layouts (3.6-3.10, 3.11+) and their split
 * tables, and the four homes of an instance's attributes.
 */
#include <string.h>
#include "python/py_priv.h"

#define STR_KIND(state) (((state) >> 2) & 7)
#define STR_COMPACT (1u << 5)
#define STR_ASCII (1u << 6)

#define TPFLAGS_INLINE_VALUES (1ull << 2)
#define TPFLAGS_MANAGED_DICT (1ull << 4)

/* A dict bigger than this is not one we read (sys.modules has hundreds). */
#define DICT_MAX_ENTRIES (1 << 16)
#define DICT_CHUNK 64

bool py_is_type(struct py_ctx *c, uint64_t obj, uint64_t type)
{
	uint64_t t;

	return type && py_ptr_ok(obj) && py_mem_u64(c->m, obj + c->l->ob_type, &t) == 0 &&
	       t == type;
}

/* Appends code point cp as UTF-8 if it fits whole in out[*n..cap-1). */
static bool put_utf8(char *out, size_t cap, size_t *n, uint32_t cp)
{
	char b[4];
	size_t k;

	if (cp >= 0xd800 && cp <= 0xdfff)
		cp = 0xfffd; /* a lone surrogate: valid in a str, not in UTF-8 */
	if (cp < 0x80) {
		b[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		k = 3;
	} else if (cp <= 0x10ffff) {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		k = 4;
	} else {
		return put_utf8(out, cap, n, 0xfffd);
	}
	if (*n + k >= cap)
		return false;
	memcpy(out + *n, b, k);
	*n += k;
	return true;
}

int py_str(struct py_ctx *c, uint64_t obj, char *out, size_t outlen)
{
	const struct py_layout *l = c->l;
	unsigned char data[4 * PY_NAME_MAX];
	uint64_t len, want;
	uint32_t state, kind;
	size_t n = 0;

	if (outlen == 0)
		return -1;
	out[0] = 0;
	if (!py_is_type(c, obj, c->p->s.str_type) || py_mem_u64(c->m, obj + l->str_length, &len) ||
	    py_mem_read(c->m, obj + l->str_state, &state, sizeof(state)))
		return -1;
	kind = STR_KIND(state);
	if (!(state & STR_COMPACT) || (kind != 1 && kind != 2 && kind != 4) || len > (1u << 30) ||
	    ((state & STR_ASCII) && kind != 1))
		return -1;
	/* no more code points than the output can take (each at least a byte) */
	want = len < outlen - 1 ? len : outlen - 1;
	if (want > sizeof(data) / kind)
		want = sizeof(data) / kind;
	if (want &&
	    py_mem_read(c->m, obj + ((state & STR_ASCII) ? l->str_ascii_data : l->str_compact_data),
			data, want * kind))
		return -1;
	for (uint64_t i = 0; i < want; i++) {
		uint32_t cp;

		if (kind == 1)
			cp = data[i];
		else if (kind == 2)
			cp = (uint32_t)data[2 * i] | (uint32_t)data[2 * i + 1] << 8;
		else
			memcpy(&cp, data + 4 * i, 4);
		if (cp == 0)
			cp = 0xfffd; /* an embedded NUL would cut the C string */
		if (!put_utf8(out, outlen, &n, cp))
			break;
	}
	out[n] = 0;
	return 0;
}

int py_long(struct py_ctx *c, uint64_t obj, uint64_t *v)
{
	const struct py_layout *l = c->l;
	uint64_t size, ndigits, r = 0;
	uint32_t digits[3];

	if (!py_is_type(c, obj, c->p->s.long_type) || py_mem_u64(c->m, obj + l->long_size, &size))
		return -1;
	if (l->long_tagged) {
		if ((size & 3) == 2)
			return -1; /* negative */
		ndigits = (size & 3) == 1 ? 0 : size >> 3;
	} else {
		if ((int64_t)size < 0)
			return -1;
		ndigits = size;
	}
	if (ndigits > 3)
		return -1;
	if (ndigits && py_mem_read(c->m, obj + l->long_digits, digits, ndigits * 4))
		return -1;
	for (uint64_t i = ndigits; i-- > 0;) {
		if (digits[i] >> 30 || (i == 2 && digits[i] >> 4))
			return -1;
		r = r << 30 | digits[i];
	}
	*v = r;
	return 0;
}

/* The entries of a keys object: where they start, how big, how many. */
struct dict_keys {
	uint64_t entries;
	unsigned entry_size, key_at, value_at;
	uint64_t n;
};

static int read_keys(struct py_ctx *c, uint64_t keys, struct dict_keys *k)
{
	const struct py_layout *l = c->l;
	unsigned char h[48];
	uint64_t nentries, size, index_bytes;

	if (!py_ptr_ok(keys) || py_mem_read(c->m, keys, h, sizeof(h)))
		return -1;
	memcpy(&nentries, h + l->dk_nentries, 8);
	if (l->dict_311) {
		unsigned log2_size = h[l->dk_size], log2_index = h[l->dk_size + 1];
		unsigned kind = h[l->dk_size + 2];

		if (log2_size < 3 || log2_size > 30 || log2_index > 33 || kind > 2)
			return -1;
		size = 1ull << log2_size;
		index_bytes = 1ull << log2_index;
		if (index_bytes < size)
			return -1;
		k->entries = keys + l->dk_indices + index_bytes;
		k->entry_size = kind == 0 ? 24 : 16;
		k->key_at = kind == 0 ? 8 : 0;
		k->value_at = kind == 0 ? 16 : 8;
	} else {
		unsigned width;

		memcpy(&size, h + l->dk_size, 8);
		if (size < 8 || size > (1ull << 30) || (size & (size - 1)))
			return -1;
		width = size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffffull ? 4 : 8;
		k->entries = keys + l->dk_indices + size * width;
		k->entry_size = 24;
		k->key_at = 8;
		k->value_at = 16;
	}
	if (nentries > size || nentries > DICT_MAX_ENTRIES)
		return -1;
	k->n = nentries;
	return 0;
}

/* Walks keys' entries, values from their entries or from values[] (split). */
static int scan_keys(struct py_ctx *c, uint64_t keys, uint64_t values, py_dict_fn fn, void *arg)
{
	unsigned char buf[DICT_CHUNK * 24];
	uint64_t vals[DICT_CHUNK];
	struct dict_keys k;

	if (read_keys(c, keys, &k))
		return -1;
	for (uint64_t i = 0; i < k.n; i += DICT_CHUNK) {
		uint64_t n = k.n - i < DICT_CHUNK ? k.n - i : DICT_CHUNK;

		if (py_mem_read(c->m, k.entries + i * k.entry_size, buf, n * k.entry_size))
			return -1;
		if (values && py_mem_read(c->m, values + i * 8, vals, n * 8))
			return -1;
		for (uint64_t j = 0; j < n; j++) {
			uint64_t key, value;
			int rc;

			memcpy(&key, buf + j * k.entry_size + k.key_at, 8);
			if (values)
				value = vals[j];
			else
				memcpy(&value, buf + j * k.entry_size + k.value_at, 8);
			if (!py_ptr_ok(key) || !py_ptr_ok(value))
				continue; /* deleted, or not yet filled */
			rc = fn(c, key, value, arg);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int py_dict_each(struct py_ctx *c, uint64_t dict, py_dict_fn fn, void *arg)
{
	uint64_t keys, values;

	if (!py_is_type(c, dict, c->p->s.dict_type) ||
	    py_mem_ptr(c->m, dict + c->l->ma_keys, &keys) ||
	    py_mem_u64(c->m, dict + c->l->ma_values, &values))
		return -1;
	if (values && !py_ptr_ok(values))
		return -1;
	return scan_keys(c, keys, values ? values + c->l->values_start : 0, fn, arg);
}

struct find {
	const char *name;
	uint64_t value;
};

static int match_name(struct py_ctx *c, uint64_t key, uint64_t value, void *arg)
{
	struct find *f = arg;
	char s[PY_NAME_MAX];

	if (py_str(c, key, s, sizeof(s)) == 0 && strcmp(s, f->name) == 0) {
		f->value = value;
		return 1;
	}
	return 0;
}

static int found(int rc, const struct find *f, uint64_t *value)
{
	if (rc < 0)
		return -1;
	if (rc == 0)
		return 1;
	*value = f->value;
	return 0;
}

int py_dict_get(struct py_ctx *c, uint64_t dict, const char *name, uint64_t *value)
{
	struct find f = { name, 0 };

	return found(py_dict_each(c, dict, match_name, &f), &f, value);
}

/* Split values of an instance with its type's cached (shared) keys. */
static int values_get(struct py_ctx *c, uint64_t type, uint64_t values, const char *name,
		      uint64_t *value)
{
	struct find f = { name, 0 };
	uint64_t keys;

	if (!py_ptr_ok(values) || py_mem_ptr(c->m, type + c->l->ht_cached_keys, &keys))
		return -1;
	return found(scan_keys(c, keys, values, match_name, &f), &f, value);
}

int py_attr(struct py_ctx *c, uint64_t obj, const char *name, uint64_t *value)
{
	const struct py_layout *l = c->l;
	uint64_t type, flags, basicsize, dictoffset, word, dict = 0;

	if (!py_ptr_ok(obj) || py_mem_ptr(c->m, obj + l->ob_type, &type) ||
	    py_mem_u64(c->m, type + l->tp_flags, &flags) ||
	    py_mem_u64(c->m, type + l->tp_basicsize, &basicsize) ||
	    py_mem_u64(c->m, type + l->tp_dictoffset, &dictoffset))
		return -1;
	if (l->idict == PY_IDICT_OFFSET || !(flags & TPFLAGS_MANAGED_DICT)) {
		if ((int64_t)dictoffset <= 0 || dictoffset > 4096 ||
		    py_mem_u64(c->m, obj + dictoffset, &dict))
			return -1;
		return dict ? py_dict_get(c, dict, name, value) : 1;
	}
	if (py_mem_u64(c->m, obj - 24, &word))
		return -1;
	switch (l->idict) {
	case PY_IDICT_MANAGED:
		if (word)
			return py_dict_get(c, word, name, value);
		if (py_mem_u64(c->m, obj - 32, &word))
			return -1;
		return word ? values_get(c, type, word + l->values_start, name, value) : 1;
	case PY_IDICT_TAGGED:
		if (word & 1) /* the stored word is values - 1 */
			return values_get(c, type, word + 1 + l->values_start, name, value);
		return word ? py_dict_get(c, word, name, value) : 1;
	case PY_IDICT_INLINE: {
		uint8_t hdr[4];

		if (word)
			return py_dict_get(c, word, name, value);
		if (!(flags & TPFLAGS_INLINE_VALUES) || basicsize < 16 || basicsize > 4096 ||
		    py_mem_read(c->m, obj + basicsize, hdr, sizeof(hdr)))
			return -1;
		if (!hdr[3]) /* valid: the values were not moved to a dict */
			return 1;
		return values_get(c, type, obj + basicsize + l->values_start, name, value);
	}
	default: return -1;
	}
}
