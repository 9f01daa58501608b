"""What the kernel side could not record is reported, with where it was lost."""
import harness
from harness import expect, expect_eq, trace

HELD_LOCK_MAP_SIZE = 65536


@harness.timeout(60)
def test_uprobe_lock_map_full_is_reported():
    """--locks=uprobe records every held lock in a map of 65,536 entries; a
    program holding 70,000 mutexes at once overflows it. The locks that could
    not be recorded are a lost_events error that says so (what: lock_map)."""
    r = trace("many_locks", options=("--json", "--locks=uprobe"), timeout=50, check=False)
    r.expect_rc(0)
    held = r.report.int("held")
    lost = r.where("lost_events", what="lock_map")
    expect(lost, "no lost_events with what=lock_map:\n" + r.stdout[-3000:])
    total = sum(e["count"] for e in lost)
    # every lock beyond the map's room, at least (the map may hold a few of libc's own)
    expect(total >= held - HELD_LOCK_MAP_SIZE,
           f"lost_events counted {total} locks, expected at least {held - HELD_LOCK_MAP_SIZE}")
    expect(total <= held, f"lost_events counted {total} of {held} locks")
    for e in lost:
        expect_eq("lost_events.severity", e["severity"], "error")
    r.none("lost_events", what="ring_buffer")
