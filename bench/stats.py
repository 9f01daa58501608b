"""What the benchmark scripts share: medians and their noise, number formats,
the order of alternating repetitions, and the results table."""
import statistics


def samples(xs):
    """The measured values of xs (a list, or a dict rep -> value), without the missing ones."""
    xs = xs.values() if isinstance(xs, dict) else xs
    return [x for x in xs if x is not None]


def fmt_num(v, unit, digits=None):
    if v is None:
        return "-"
    if digits is None:
        a = abs(v)
        digits = 0 if a >= 100 else 1 if a >= 10 else 2 if a >= 1 else 3
    return f"{v:,.{digits}f} {unit}".strip()


def median(xs):
    xs = samples(xs)
    return statistics.median(xs) if xs else None


def spread(xs, unit):
    xs = samples(xs)
    if len(xs) < 2:
        return ""
    return f"{len(xs)} reps, {fmt_num(min(xs), '')}-{fmt_num(max(xs), unit)}"


def ratio_noise(base, other, r):
    """One standard error of the ratio r of the two medians, estimated from each side's
    median absolute deviation (1.4826 MAD ~ one sigma; the median's standard error
    is ~1.25 sigma / sqrt(n)). 0 when a side has fewer than 3 samples."""
    var = 0.0
    for xs in (samples(base), samples(other)):
        if len(xs) < 3:
            return 0.0
        m = statistics.median(xs)
        if m <= 0:
            return 0.0
        mad = statistics.median(abs(x - m) for x in xs) / m
        var += (1.2533 * 1.4826 * mad) ** 2 / len(xs)
    return r * var ** 0.5


def interleave(rep, sides):
    """The order of the sides in repetition `rep`: rotated each time, so that neither
    side is always first (warm caches, CPU frequency, the neighbours' load)."""
    k = rep % len(sides)
    return sides[k:] + sides[:k]


def render(rows, cols, markdown):
    """The table of rows (dicts keyed by cols, plus an optional verdict), as markdown
    or as aligned text with the notes last."""
    def cell(r, c):
        v = r[c]
        if c == "target" and r.get("verdict"):
            v = f"{v} ({r['verdict']})"
        return str(v).replace("|", "/")
    if markdown:
        lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
        for r in rows:
            lines.append("| " + " | ".join(cell(r, c) for c in cols) + " |")
        return "\n".join(lines)
    widths = {c: max(len(c), *(len(cell(r, c)) for r in rows)) for c in cols[:-1]}
    lines = [" | ".join(c.ljust(widths[c]) for c in cols[:-1]) + " | notes"]
    lines.append("-+-".join("-" * widths[c] for c in cols[:-1]) + "-+------")
    for r in rows:
        lines.append(" | ".join(cell(r, c).ljust(widths[c]) for c in cols[:-1]) + " | " +
                     cell(r, "notes"))
    return "\n".join(lines)
