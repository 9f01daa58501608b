"""An asyncio event loop carried across os.fork(), and the two ways to avoid it.

    py_asyncio_fork.py MODE [MODE...]

A loop runs in the parent; a coroutine calls os.fork() once per MODE, in the
order given, and waits until that child is blocked in epoll_wait before the
next fork. The child, by MODE:

    inherited  goes on running the coroutine, on the loop it inherited: it
               waits in epoll_wait on the parent's epoll instance
    new_loop   leaves the inherited loop (the loop stops, its epoll fd stays
               open) and runs asyncio.new_event_loop(): a new instance
    exec       exec's at once a Python that runs a loop of its own

Every child waits forever; the trigger is its own process group (pgid) so
that a test can kill all of it.
Reports: pid, pgid, epoll_fd (the parent loop's), child.MODE=PID,
child_epoll_fd.MODE=FD (the fd the child waits on, inherited and new_loop),
waiting.MODE=1 once the child is in epoll_wait, all_waiting=1.
"""
import asyncio
import os
import sys

from ftlib import report

EPOLL_WAITS = ("232", "281", "441")       # epoll_wait, epoll_pwait, epoll_pwait2 (x86_64)
FOREVER = 3600


class LeaveInheritedLoop(Exception):
    """Raised in a new_loop child: unwinds out of the loop it inherited."""


def selector_fd(loop):
    return loop._selector._selector.fileno()


def in_epoll_wait(pid):
    try:
        with open(f"/proc/{pid}/syscall") as f:
            return f.read().split(" ", 1)[0] in EPOLL_WAITS
    except OSError:
        return False


async def fork(loop, mode):
    pid = os.fork()
    if pid:
        return pid
    if mode == "inherited":
        # Python 3.11.7+ and 3.12 forget the running loop in a forked child
        # (asyncio.sleep would raise), but the loop object still runs here
        report(**{f"child_epoll_fd.{mode}": selector_fd(loop)})
        never = loop.create_future()
        loop.call_later(FOREVER, never.set_result, None)
        await never
        os._exit(0)
    if mode == "exec":
        code = "import asyncio; asyncio.run(asyncio.sleep(%d))" % FOREVER
        os.execv(sys.executable, [sys.executable, "-c", code])
    raise LeaveInheritedLoop()


async def parent(modes):
    loop = asyncio.get_running_loop()
    report(epoll_fd=selector_fd(loop))
    for mode in modes:
        pid = await fork(loop, mode)
        report(**{f"child.{mode}": pid})
        while not in_epoll_wait(pid):
            await asyncio.sleep(0.01)
        report(**{f"waiting.{mode}": 1})
    report(all_waiting=1)
    await asyncio.sleep(FOREVER)


def main():
    modes = sys.argv[1:]
    if not modes or any(m not in ("inherited", "new_loop", "exec") for m in modes):
        sys.exit("usage: py_asyncio_fork.py inherited|new_loop|exec ...")
    os.setpgid(0, 0)
    report(pid=os.getpid(), pgid=os.getpgid(0))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(parent(modes))
    except LeaveInheritedLoop:
        # only a new_loop child gets here; the inherited loop is left as it is, fd open
        own = asyncio.new_event_loop()
        asyncio.set_event_loop(own)
        report(**{"child_epoll_fd.new_loop": selector_fd(own)})
        own.run_until_complete(asyncio.sleep(FOREVER))
    os._exit(0)


if __name__ == "__main__":
    main()
