/* UTF-8 validation: the one rule both machine formats escape by. */
#ifndef FT_UTF8_H
#define FT_UTF8_H

/*
 * Length (1-4) of the valid UTF-8 sequence that starts at p, or 0 if p
 * starts an invalid one: a stray continuation byte, a truncated sequence
 * (it stops at the NUL), an overlong form, a UTF-16 surrogate or a value
 * past U+10FFFF.
 */
int utf8_seq_len(const unsigned char *p);

#endif /* FT_UTF8_H */
