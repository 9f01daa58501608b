/*
 * forktrace report: the process tree of a --json recording on a time axis.
 *
 * The recording is in the page as data (#ft-events, one JSON object per event,
 * exactly as forktrace wrote it; #ft-meta says what the C side left out). Every
 * string in it comes from the traced programs and is untrusted: it reaches the
 * page only as text (textContent, title), never as markup.
 */
"use strict";
(function () {
	/* Events drawn as marks: a hazard at any severity, or anything that is not info. */
	const HAZARDS = new Set(["held_lock", "orphaned_threads", "fork_in_thread", "child_deadlock",
		"exit_with_threads", "inherited_epoll", "lost_events"]);
	const LIFECYCLE = new Set(["fork", "exec", "exit", "attach", "detach", "scan"]);
	/* Reported by the parent at a fork, about the child it made: drawn on the child's lane. */
	const AT_FORK = new Set(["held_lock", "orphaned_threads", "fork_in_thread", "scan"]);
	const RANK = { error: 3, warning: 2, info: 1 };
	/* What stays usable in a browser: beyond these, lanes and marks are aggregated (and the page says so). */
	const MAX_LANES = 1500;
	const MAX_MARKS_PER_LANE = 300;
	const BUCKETS = 200;
	const LANE_INDENT = 14;

	const $ = (id) => document.getElementById(id);

	function el(tag, cls, text) {
		const e = document.createElement(tag);
		if (cls)
			e.className = cls;
		if (text !== undefined && text !== null)
			e.textContent = String(text);
		return e;
	}

	const SVG = "http://www.w3.org/2000/svg";

	/* The severity's shape: a diamond for errors, a triangle for warnings, a circle for info. */
	function shape(sev) {
		const svg = document.createElementNS(SVG, "svg");
		svg.setAttribute("viewBox", "0 0 16 16");
		svg.setAttribute("class", "shape sev-" + sevOf(sev));
		let s;
		if (sev === "error") {
			s = document.createElementNS(SVG, "path");
			s.setAttribute("d", "M8 1 15 8 8 15 1 8Z");
		} else if (sev === "warning") {
			s = document.createElementNS(SVG, "path");
			s.setAttribute("d", "M8 1.5 15 14.5H1Z");
		} else {
			s = document.createElementNS(SVG, "circle");
			s.setAttribute("cx", "8");
			s.setAttribute("cy", "8");
			s.setAttribute("r", "5.5");
		}
		svg.appendChild(s);
		return svg;
	}

	function sevOf(s) {
		return s === "error" || s === "warning" ? s : "info";
	}

	function readJSON(id, fallback) {
		const node = $(id);
		try {
			return node ? JSON.parse(node.textContent) : fallback;
		} catch (e) {
			notes.push("The page's " + id + " data could not be read (" + e.message + ").");
			return fallback;
		}
	}

	const isInt = (v) => typeof v === "number" && Number.isInteger(v);
	const str = (v) => (typeof v === "string" ? v : v === undefined || v === null ? "" : String(v));
	const plural = (n, one, many) => n.toLocaleString("en-US") + " " + (n === 1 ? one : many || one + "s");

	/* ------------------------------------------------------------ time */

	const TIME_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

	/* RFC 3339 with nanoseconds → [seconds since the epoch, nanoseconds], or null. */
	function parseTime(s) {
		const m = typeof s === "string" ? TIME_RE.exec(s) : null;
		if (!m)
			return null;
		const ms = Date.parse(m[1] + m[3]);
		return isNaN(ms) ? null : [ms / 1000, Number((m[2] || "").padEnd(9, "0"))];
	}

	function fmtDur(ns) {
		const a = Math.abs(ns);
		if (a < 1e3)
			return Math.round(ns) + " ns";
		if (a < 1e6)
			return +(ns / 1e3).toPrecision(3) + " µs";
		if (a < 1e9)
			return +(ns / 1e6).toPrecision(3) + " ms";
		if (a < 60e9)
			return +(ns / 1e9).toPrecision(3) + " s";
		const m = Math.floor(a / 60e9);
		return (ns < 0 ? "-" : "") + m + " min " + Math.round((a - m * 60e9) / 1e9) + " s";
	}

	/* ------------------------------------------------------------ the recording */

	const notes = [];
	const events = readJSON("ft-events", []);
	const meta = readJSON("ft-meta", {});
	const recs = [];
	let untimed = 0, notEvents = 0, secMin = Infinity;

	(Array.isArray(events) ? events : []).forEach((ev, i) => {
		if (!ev || typeof ev !== "object" || typeof ev.event !== "string") {
			notEvents++;
			return;
		}
		const t = parseTime(ev.time);
		if (!t) {
			untimed++;
			return;
		}
		secMin = Math.min(secMin, t[0]);
		recs.push({ ev: ev, i: i, sec: t[0], ns: t[1], t: 0 });
	});
	for (const r of recs)
		r.t = (r.sec - secMin) * 1e9 + r.ns;
	recs.sort((a, b) => a.t - b.t || a.i - b.i);
	const tMin = recs.length ? recs[0].t : 0;
	const tMax = recs.length ? recs[recs.length - 1].t : 0;
	const span = Math.max(tMax - tMin, 1e6);
	const byIndex = new Map(recs.map((r) => [r.i, r]));

	/* ------------------------------------------------------------ processes */

	class Proc {
		constructor(pid, t, how) {
			this.pid = pid;
			this.birth = t;
			this.how = how; /* "fork", "attach" or "seen" (first seen in an event) */
			this.parent = null;
			this.children = [];
			this.comms = [];
			this.forkRec = null;
			this.forks = [];
			this.execs = [];
			this.exitRec = null;
			this.marks = [];
			this.recs = [];
		}
		get comm() {
			return this.comms.length ? this.comms[this.comms.length - 1] : "?";
		}
		get end() {
			return this.exitRec ? this.exitRec.t : tMax;
		}
		worst() {
			return this.marks.reduce((w, r) => Math.max(w, RANK[r.ev.severity] || 1), 0);
		}
	}

	const procs = [];
	const byPid = new Map();
	const runMarks = []; /* events about the run, not a process: lost events */

	function newProc(pid, t, how) {
		const p = new Proc(pid, t, how);
		procs.push(p);
		if (!byPid.has(pid))
			byPid.set(pid, []);
		byPid.get(pid).push(p);
		return p;
	}

	/* The process that had pid at time t: pids are reused. */
	function procAt(pid, t) {
		const list = byPid.get(pid);
		if (!list)
			return null;
		for (let k = list.length - 1; k >= 0; k--)
			if (list[k].birth <= t)
				return list[k];
		return list[0];
	}

	function noteComm(p, comm) {
		if (typeof comm === "string" && comm !== "" && comm !== p.comms[p.comms.length - 1])
			p.comms.push(comm);
	}

	function procFor(pid, t, comm) {
		const p = procAt(pid, t) || newProc(pid, t, "seen");
		noteComm(p, comm);
		return p;
	}

	function adopt(parent, child, r) {
		child.how = "fork";
		child.forkRec = r;
		child.birth = Math.min(child.birth, r.t);
		if (parent && !child.parent && parent !== child) {
			child.parent = parent;
			parent.children.push(child);
		}
	}

	/* The child a fork made: from the fork event, or from one of its hazards when that
	 * comes first or the fork event is missing. A second fork naming the pid is a reused pid. */
	function childOf(parent, cpid, r, comm) {
		const isFork = r.ev.event === "fork";
		let c = procAt(cpid, r.t);
		if (c && c.how === "seen" && !c.forkRec) {
			adopt(parent, c, r);
		} else if (!c || (isFork && (c.how === "attach" || (c.forkRec && c.forkRec.t < r.t)))) {
			c = newProc(cpid, r.t, "fork");
			adopt(parent, c, r);
		} else if (isFork && c.forkRec && c.forkRec.ev.event !== "fork") {
			c.forkRec = r;
		}
		if (!c.comms.length)
			noteComm(c, comm);
		return c;
	}

	/* A process found at attach (-p) has no fork in the recording; an event that names its
	 * parent (child_deadlock, inherited_epoll) still puts it under that parent. */
	function adoptParent(p, q) {
		for (let a = q; a; a = a.parent)
			if (a === p)
				return;
		if (q) {
			p.parent = q;
			q.children.push(p);
		}
	}

	function isMark(ev) {
		if (ev.event === "scan")
			return ev.severity === "warning" || ev.severity === "error";
		return HAZARDS.has(ev.event) || ev.severity === "warning" || ev.severity === "error" ||
			!LIFECYCLE.has(ev.event);
	}

	for (const r of recs) {
		const ev = r.ev, t = r.t;
		const pid = isInt(ev.pid) ? ev.pid : null;
		let p = null;

		if (ev.event === "lost_events" || pid === null) {
			if (isMark(ev))
				runMarks.push(r);
			continue;
		}
		switch (ev.event) {
		case "fork":
			p = procFor(pid, t, ev.comm);
			p.forks.push(r);
			if (isInt(ev.child_pid))
				childOf(p, ev.child_pid, r, ev.comm);
			break;
		case "attach":
			p = procAt(pid, t);
			if (!p || p.exitRec)
				p = newProc(pid, t, "attach");
			noteComm(p, ev.comm);
			break;
		case "exec":
			p = procFor(pid, t, null);
			p.execs.push(r);
			noteComm(p, ev.comm);
			break;
		case "exit":
			p = procFor(pid, t, ev.comm);
			p.exitRec = r;
			break;
		default:
			p = procFor(pid, t, ev.comm);
		}
		p.recs.push(r);
		if (!p.parent && isInt(ev.parent_pid))
			adoptParent(p, procAt(ev.parent_pid, t));
		if (isMark(ev)) {
			let lane = p;
			if (AT_FORK.has(ev.event) && isInt(ev.child_pid) && ev.child_pid !== pid)
				lane = childOf(p, ev.child_pid, r, ev.comm);
			lane.marks.push(r);
			if (lane !== p)
				lane.recs.push(r);
		}
	}

	/* ------------------------------------------------------------ lanes */

	const byBirth = (a, b) => a.birth - b.birth || a.pid - b.pid;
	for (const p of procs)
		p.children.sort(byBirth);
	const roots = procs.filter((p) => !p.parent).sort(byBirth);

	/* Which processes get a lane of their own: all, or (too many to draw) the ones with the
	 * worst hazards, then forkers, with their ancestors; the rest are folded, per parent,
	 * into one aggregate lane. */
	let shown = null;
	if (procs.length > MAX_LANES) {
		shown = new Set();
		const score = (p) => p.worst() * 2 + (p.children.length ? 1 : 0) + (p.parent ? 0 : 10);
		const order = procs.slice().sort((a, b) => score(b) - score(a) || byBirth(a, b));
		for (const p of order) {
			const chain = [];
			for (let q = p; q && !shown.has(q); q = q.parent)
				chain.push(q);
			if (shown.size + chain.length > MAX_LANES - 50)
				break;
			chain.forEach((q) => shown.add(q));
		}
	}

	const rows = [];
	if (runMarks.length)
		rows.push({ kind: "run", depth: 0, marks: runMarks, label: "forktrace itself" });

	/* Depth first, so that each process sits under its parent; iterative: a chain of forks can be long. */
	const stack = [];
	const pushLevel = (list, depth, parent) => {
		const folded = shown ? list.filter((p) => !shown.has(p)) : [];
		const kept = shown ? list.filter((p) => shown.has(p)) : list;
		const level = kept.map((p) => ({ kind: "proc", proc: p, depth: depth }));
		if (folded.length)
			level.push(aggregate(folded, depth, parent));
		for (let k = level.length - 1; k >= 0; k--)
			stack.push(level[k]);
	};
	pushLevel(roots, 0, null);
	while (stack.length) {
		const row = stack.pop();
		rows.push(row);
		if (row.kind === "proc" && row.proc.children.length)
			pushLevel(row.proc.children, row.depth + 1, row.proc);
	}

	/* Folded processes and all their descendants as one lane. */
	function aggregate(list, depth, parent) {
		const all = [];
		const todo = list.slice();
		while (todo.length) {
			const p = todo.pop();
			all.push(p);
			todo.push(...p.children);
		}
		const marks = [];
		for (const p of all)
			marks.push(...p.marks);
		marks.sort((a, b) => a.t - b.t);
		return { kind: "aggregate", depth: depth, procs: all, marks: marks, parent: parent };
	}

	/* ------------------------------------------------------------ drawing */

	const pct = (t) => ((t - tMin) / span) * 100 + "%";
	const lanesNode = $("lanes");
	const buckets = new Map(); /* id → the records in an aggregated mark */
	let marksDrawn = 0;

	function describeThread(t) {
		if (!t || typeof t !== "object")
			return str(t);
		return str(t.comm) + (t.name ? ' "' + str(t.name) + '"' : "") + " (tid " + str(t.tid) + ")";
	}

	function holderOf(ev) {
		if (!isInt(ev.holder_tid) || ev.holder_tid === 0)
			return "";
		return describeThread({ comm: ev.holder_comm, name: ev.holder_name, tid: ev.holder_tid });
	}

	function lockOf(ev) {
		const what = ev.lock_object ? "<" + str(ev.lock_object) + ">" : str(ev.lock_type || "lock");
		return what + (ev.lock ? " " + str(ev.lock) : "");
	}

	/* One sentence: what happened, to whom, what it causes. */
	function describe(ev) {
		const who = str(ev.comm) + "[" + str(ev.pid) + "]";
		const n = Array.isArray(ev.threads) ? ev.threads.length + (ev.threads_omitted || 0) : 0;
		switch (ev.event) {
		case "held_lock":
			return (holderOf(ev) || "a thread") + " held " + lockOf(ev) + " when " + who +
				" forked child " + str(ev.child_pid) + ": the child was born with it locked" +
				(ev.holder_is_forker ? " (by the forking thread itself: it can release it)" : "") + ".";
		case "orphaned_threads":
			return "Child " + str(ev.child_pid) + " of " + who + " was born without " +
				plural(n, "thread") + ": any lock they held stays locked there, and what they " +
				"were doing never finishes.";
		case "fork_in_thread":
			return "Thread " + str(ev.tid) + (ev.name ? ' "' + str(ev.name) + '"' : "") + " of " + who +
				", not the main thread, forked child " + str(ev.child_pid) + ".";
		case "child_deadlock": {
			const head = "Thread " + str(ev.tid) + " of " + who + " waits on " + lockOf(ev);
			if (ev.reason === "held_at_fork")
				return head + ", held at the fork by " + (holderOf(ev) || "a thread") +
					", which was not copied into the child: deadlocked, nothing can release it.";
			if (ev.reason === "owner_gone")
				return head + ", whose owner " + (holderOf(ev) || "") +
					" does not exist in this process: deadlocked.";
			if (ev.reason === "no_waker")
				return head + " without a timeout, and it is the only thread: only a signal " +
					"handler could wake it.";
			return head + " (" + str(ev.reason) + ").";
		}
		case "exit_with_threads":
			return who + " exited (code " + str(ev.exit_code) + ") while " + plural(n, "other thread") +
				" still ran: they were killed mid-work.";
		case "inherited_epoll":
			return who + " waits on epoll fd " + str(ev.fd) + ", inherited from its parent " +
				str(ev.parent_pid) + ": both share one kernel event queue.";
		case "lost_events":
			return "forktrace lost " + str(ev.count) + " " + str(ev.what || "events") +
				": the picture of this run is incomplete.";
		case "scan":
			return "The lock scan of child " + str(ev.child_pid) + " is incomplete (" +
				str(ev.reason) + "): locks held at the fork may be missing.";
		case "fork":
			return who + " forked child " + str(ev.child_pid) + ".";
		case "exec":
			return who + " exec'd " + str(ev.filename) + ".";
		case "exit":
			return who + (ev.signal ? " was killed by signal " + str(ev.signal) : " exited with code " +
				str(ev.exit_code)) + ".";
		}
		return str(ev.event) + " in " + who + ".";
	}

	/* The worst thing that happened to a process, in a few words beside its name. */
	const BADGE_ORDER = ["child_deadlock", "held_lock", "exit_with_threads", "inherited_epoll",
		"orphaned_threads", "fork_in_thread", "scan"];
	function badgeOf(p) {
		let best = null;
		for (const r of p.marks) {
			const rank = (RANK[r.ev.severity] || 1) * 100 - (BADGE_ORDER.indexOf(r.ev.event) + 1 || 99);
			if (!best || rank > best[0])
				best = [rank, r.ev];
		}
		if (!best || (RANK[best[1].severity] || 1) < 2)
			return null;
		const ev = best[1], sev = sevOf(ev.severity);
		const count = (kind) => p.marks.filter((r) => r.ev.event === kind).length;
		const n = Array.isArray(ev.threads) ? ev.threads.length + (ev.threads_omitted || 0) : 0;
		switch (ev.event) {
		case "child_deadlock": return [sev, sev === "error" ? "deadlocked" : "blocked, nothing to wake it"];
		case "held_lock": return [sev, "born with " + plural(count("held_lock"), "lock") + " held"];
		case "orphaned_threads": return [sev, "born without " + plural(n, "thread")];
		case "exit_with_threads": return [sev, "exited with threads running"];
		case "inherited_epoll": return [sev, "shares its parent's epoll"];
		case "fork_in_thread": return [sev, "forked from a thread"];
		case "scan": return [sev, "lock scan incomplete"];
		}
		return [sev, str(ev.event)];
	}

	function laneLabel(row) {
		const b = el("button", "proc");
		b.type = "button";
		b.style.paddingLeft = 8 + row.depth * LANE_INDENT + "px";
		if (row.kind === "proc") {
			const p = row.proc;
			if (row.depth)
				b.appendChild(document.createTextNode("↳ "));
			b.appendChild(el("span", "name", p.comm));
			b.appendChild(el("span", "pid", " [" + p.pid + "]"));
			if (p.comms.length > 1)
				b.appendChild(el("span", "was", " was " + p.comms.slice(0, -1).join(", ")));
			const badge = badgeOf(p);
			if (badge)
				b.appendChild(el("span", "badge sev-" + badge[0], badge[1]));
			b.title = p.comms.join(" → ") + " [" + p.pid + "]" +
				(p.parent ? ", child of " + p.parent.comm + " [" + p.parent.pid + "]" : "");
		} else if (row.kind === "aggregate") {
			const n = row.procs.length;
			b.textContent = "⋯ " + plural(n, "more process", "more processes") + " (aggregated)";
			b.title = plural(n, "process", "processes") + (row.parent ? " under " + row.parent.comm +
				" [" + row.parent.pid + "]" : "") + " are drawn as one lane: too many to draw one by one";
		} else {
			b.textContent = row.label;
		}
		return b;
	}

	function markButton(r, offset) {
		const ev = r.ev;
		const b = el("button", "mark hazard sev-" + sevOf(ev.severity));
		b.type = "button";
		b.dataset.event = String(r.i);
		b.dataset.kind = ev.event;
		b.dataset.severity = sevOf(ev.severity);
		b.style.left = pct(r.t);
		if (offset)
			b.style.marginLeft = -9 + offset * 14 + "px";
		b.title = ev.event + " (" + sevOf(ev.severity) + "): " + describe(ev);
		b.appendChild(shape(ev.severity));
		marksDrawn++;
		return b;
	}

	/* Too many marks for one lane: one mark per time bucket and severity, with its count. */
	function bucketMarks(track, list) {
		const groups = new Map();
		for (const r of list) {
			const k = Math.min(BUCKETS - 1, Math.floor(((r.t - tMin) / span) * BUCKETS)) * 4 +
				(RANK[r.ev.severity] || 1);
			if (!groups.has(k))
				groups.set(k, []);
			groups.get(k).push(r);
		}
		for (const [k, g] of groups) {
			const sev = ["", "info", "warning", "error"][k % 4];
			const id = "b" + buckets.size;
			buckets.set(id, g);
			const b = el("button", "mark bucket sev-" + sev);
			b.type = "button";
			b.dataset.bucket = id;
			b.dataset.severity = sev;
			b.style.left = pct(g[0].t);
			b.style.marginLeft = -9 + (3 - (RANK[sev] || 1)) * 4 + "px";
			b.title = plural(g.length, sev + " event") + " here, aggregated: click to list them";
			b.appendChild(shape(sev));
			b.appendChild(el("span", "count", "×" + g.length.toLocaleString("en-US")));
			track.appendChild(b);
		}
	}

	function drawMarks(track, list) {
		if (list.length > MAX_MARKS_PER_LANE) {
			bucketMarks(track, list);
			return true;
		}
		/* marks at (nearly) one instant, such as a fork's hazards, side by side */
		let start = -Infinity, k = 0;
		const sorted = list.slice().sort((a, b) => a.t - b.t || (RANK[b.ev.severity] || 1) -
			(RANK[a.ev.severity] || 1) || a.i - b.i);
		for (const r of sorted) {
			if (r.t - start > span * 0.004) {
				start = r.t;
				k = 0;
			} else {
				k++;
			}
			track.appendChild(markButton(r, k));
		}
		return false;
	}

	function drawTicks(track, list, cls, title) {
		if (list.length > MAX_MARKS_PER_LANE) {
			const counts = new Array(BUCKETS).fill(0);
			for (const r of list)
				counts[Math.min(BUCKETS - 1, Math.floor(((r.t - tMin) / span) * BUCKETS))]++;
			counts.forEach((n, k) => {
				if (!n)
					return;
				const d = el("div", cls + " many");
				d.style.left = (k / BUCKETS) * 100 + "%";
				d.title = plural(n, title) + " here";
				track.appendChild(d);
			});
			return;
		}
		for (const r of list) {
			const d = el("div", cls);
			d.style.left = pct(r.t);
			d.title = title + " at +" + fmtDur(r.t - tMin) + ": " + describe(r.ev);
			track.appendChild(d);
		}
	}

	function drawBar(track, p) {
		const exec = p.execs.length ? p.execs[0].t : null;
		const end = p.end;
		const seg = (from, to, cls) => {
			const d = el("div", "bar " + cls);
			d.style.left = pct(from);
			d.style.width = ((Math.max(to - from, 0) / span) * 100) + "%";
			track.appendChild(d);
			return d;
		};
		let last;
		if (p.how === "fork" && (exec === null || exec > p.birth))
			last = seg(p.birth, exec === null ? end : exec, "forked");
		if (exec !== null || p.how !== "fork")
			last = seg(exec === null ? p.birth : exec, end, "execd");
		if (!p.exitRec && last)
			last.classList.add("open");
		drawTicks(track, p.execs, "exec-tick", "exec");
		drawTicks(track, p.forks, "fork-tick", "fork");
		if (p.exitRec) {
			const ev = p.exitRec.ev;
			const killed = isInt(ev.signal) && ev.signal > 0;
			const d = el("div", "exit-mark" + (killed ? " killed" : ""), killed ? "✕" : null);
			d.style.left = pct(p.exitRec.t);
			d.title = killed ? "killed by signal " + ev.signal : "exit code " + str(ev.exit_code);
			track.appendChild(d);
		}
	}

	/* An aggregate lane: how many of its processes were alive when, as a density strip. */
	function drawDensity(track, row) {
		const counts = new Array(BUCKETS).fill(0);
		for (const p of row.procs) {
			const a = Math.floor(((p.birth - tMin) / span) * BUCKETS);
			const b = Math.floor(((p.end - tMin) / span) * BUCKETS);
			for (let k = Math.max(0, a); k <= Math.min(BUCKETS - 1, b); k++)
				counts[k]++;
		}
		const max = Math.max(1, ...counts);
		counts.forEach((n, k) => {
			if (!n)
				return;
			const d = el("div", "density");
			d.style.left = (k / BUCKETS) * 100 + "%";
			d.style.width = 100 / BUCKETS + "%";
			d.style.opacity = String(0.15 + 0.6 * (n / max));
			d.title = plural(n, "process", "processes") + " alive here";
			track.appendChild(d);
		});
	}

	let bucketedLanes = 0;
	const frag = document.createDocumentFragment();
	rows.forEach((row, n) => {
		const lane = el("div", "lane " + row.kind);
		lane.dataset.row = String(n);
		const label = el("div", "label-col");
		label.appendChild(laneLabel(row));
		lane.appendChild(label);
		const track = el("div", "track");
		if (row.kind === "proc") {
			lane.dataset.pid = String(row.proc.pid);
			if (row.proc.parent)
				lane.dataset.parent = String(row.proc.parent.pid);
			drawBar(track, row.proc);
			if (drawMarks(track, row.proc.marks))
				bucketedLanes++;
		} else {
			if (row.kind === "aggregate")
				drawDensity(track, row);
			if (row.kind === "aggregate" || row.marks.length > MAX_MARKS_PER_LANE) {
				bucketMarks(track, row.marks);
				bucketedLanes++;
			} else {
				drawMarks(track, row.marks);
			}
		}
		lane.appendChild(track);
		frag.appendChild(lane);
	});
	lanesNode.appendChild(frag);
	drawForkLinks();

	/* Which process forked which, when: a thin line from the parent's lane down to the child's
	 * birth. Its x follows the zoom through the same custom properties as the tracks. */
	function drawForkLinks() {
		const rowOf = new Map();
		rows.forEach((row, n) => {
			if (row.kind === "proc")
				rowOf.set(row.proc, n);
		});
		const links = document.createDocumentFragment();
		rows.forEach((row, n) => {
			const p = row.proc;
			if (row.kind !== "proc" || !p.parent || !p.forkRec || !rowOf.has(p.parent))
				return;
			const from = rowOf.get(p.parent);
			const d = el("div", "fork-link");
			const frac = (p.birth - tMin) / span;
			d.style.left = "calc(var(--label-w) + 14px + var(--track-w) * " + frac.toFixed(6) + ")";
			d.style.top = "calc(var(--lane-h) * " + (from + 0.5) + ")";
			d.style.height = "calc(var(--lane-h) * " + (n - from) + ")";
			links.appendChild(d);
		});
		lanesNode.appendChild(links);
	}

	/* ------------------------------------------------------------ the header */

	function stat(parent, label, value, bad) {
		const s = el("span", "stat" + (bad ? " bad" : ""));
		s.appendChild(document.createTextNode(label + " "));
		s.appendChild(el("b", null, value));
		parent.appendChild(s);
	}

	function summary() {
		$("title").textContent = str(meta.title) || "report";
		document.title = "forktrace: " + (str(meta.title) || "report");
		const box = $("summary");
		const count = (name) => recs.filter((r) => r.ev.event === name).length;
		if (recs.length) {
			stat(box, "from", recs[0].ev.time.replace("T", " ").replace(/\.(\d{3})\d*/, ".$1"));
			stat(box, "span", fmtDur(tMax - tMin));
		}
		stat(box, "events", recs.length.toLocaleString("en-US"));
		stat(box, "processes", procs.length.toLocaleString("en-US"));
		stat(box, "forks", count("fork").toLocaleString("en-US"));
		stat(box, "execs", count("exec").toLocaleString("en-US"));
		stat(box, "exits", count("exit").toLocaleString("en-US"));
		const lost = recs.filter((r) => r.ev.event === "lost_events")
			.reduce((s, r) => s + (isInt(r.ev.count) ? r.ev.count : 0), 0);
		stat(box, "lost events", lost.toLocaleString("en-US"), lost > 0);

		const kinds = new Map();
		for (const r of recs) {
			if (!isMark(r.ev))
				continue;
			if (!kinds.has(r.ev.event))
				kinds.set(r.ev.event, { error: 0, warning: 0, info: 0 });
			kinds.get(r.ev.event)[sevOf(r.ev.severity)]++;
		}
		const hz = el("span", "stat");
		hz.appendChild(document.createTextNode(kinds.size ? "hazards:" : "hazards: none"));
		for (const [kind, c] of [...kinds].sort((a, b) => b[1].error - a[1].error ||
			b[1].warning - a[1].warning)) {
			for (const sev of ["error", "warning", "info"]) {
				if (!c[sev])
					continue;
				const h = el("span", "hz");
				h.dataset.kind = kind;
				h.dataset.severity = sev;
				h.title = plural(c[sev], sev);
				h.appendChild(document.createTextNode(" "));
				h.appendChild(shape(sev));
				h.appendChild(el("b", null, c[sev].toLocaleString("en-US")));
				h.appendChild(document.createTextNode(" " + kind + (sev === "info" ? " (info)" : "")));
				hz.appendChild(h);
			}
		}
		box.appendChild(hz);

		if (meta.malformed)
			notes.push(plural(meta.malformed, "line") + " of the recording " +
				(meta.malformed === 1 ? "is" : "are") + " not a JSON object and " +
				(meta.malformed === 1 ? "is" : "are") + " left out (the first is line " +
				meta.first_malformed + ").");
		if (meta.repaired)
			notes.push(plural(meta.repaired, "line") + " had bytes that are not UTF-8: shown as �.");
		if (untimed)
			notes.push(plural(untimed, "event") + " without a valid time " +
				(untimed === 1 ? "is" : "are") + " not drawn.");
		if (notEvents)
			notes.push(plural(notEvents, "JSON object") + " without an \"event\" name " +
				(notEvents === 1 ? "is" : "are") + " not drawn.");
		if (shown)
			notes.push("Too many processes to draw one by one: " + shown.size.toLocaleString("en-US") +
				" of " + procs.length.toLocaleString("en-US") + " have a lane of their own (the worst " +
				"hazards first, with their ancestors); the others are drawn per parent as aggregated " +
				"lanes (⋯).");
		if (bucketedLanes)
			notes.push(plural(bucketedLanes, "lane") + " with too many marks to draw one by one " +
				(bucketedLanes === 1 ? "shows" : "show") + " them aggregated, with their count (×N).");
		verdict();
		const nb = $("notes");
		for (const n of notes)
			nb.appendChild(el("p", null, n));
	}

	/* The run in one line: what went wrong, worst first, naming the first processes. */
	function verdict() {
		const having = (kind, pred) => procs.filter((p) => p.marks.some((r) => r.ev.event === kind && pred(r.ev)));
		const bad = (ev) => ev.severity === "warning" || ev.severity === "error";
		const dead = having("child_deadlock", (ev) => ev.severity === "error");
		const stuck = having("child_deadlock", (ev) => ev.severity !== "error").filter((p) => !dead.includes(p));
		const parts = [
			[dead, "deadlocked on a lock no thread can release", "error"],
			[stuck, "blocked on a lock with nothing to wake them", "warning"],
			[having("held_lock", bad), "born with a lock held by a thread they do not have", "warning"],
			[having("orphaned_threads", bad), "born without threads of their parent, and did not exec", "warning"],
			[having("exit_with_threads", bad), "exited while other threads still ran", "warning"],
			[having("inherited_epoll", bad), "share an epoll instance with their parent", "warning"],
		];
		const box = $("verdict");
		for (const [list, what, sev] of parts) {
			if (!list.length)
				continue;
			const names = list.slice(0, 3).map((p) => p.comm + " [" + p.pid + "]").join(", ") +
				(list.length > 3 ? ", …" : "");
			const line = el("p", "verdict-line sev-" + sev);
			line.appendChild(shape(sev));
			line.appendChild(el("b", null, plural(list.length, "process", "processes")));
			line.appendChild(document.createTextNode(" " + what + ": " + names));
			box.appendChild(line);
		}
		if (!box.childNodes.length)
			box.appendChild(el("p", "verdict-line", recs.length ?
				"No hazard: no child was born holding a lock or without threads it needed." :
				"This recording has no events."));
	}

	/* ------------------------------------------------------------ the detail panel */

	const detail = $("detail");
	let selected = null;

	function select(node) {
		if (selected)
			selected.classList.remove("selected");
		selected = node;
		if (node)
			node.classList.add("selected");
	}

	function row(dl, label, value) {
		if (value === undefined || value === null || value === "")
			return;
		dl.appendChild(el("dt", null, label));
		dl.appendChild(el("dd", null, value));
	}

	function isFrames(v) {
		return Array.isArray(v) && v.length > 0 && v.every((f) => f && typeof f === "object" &&
			!("tid" in f) && ("func" in f || "file" in f || "module" in f || "offset" in f));
	}

	function isThreads(v) {
		return Array.isArray(v) && v.length > 0 && v.every((t) => t && typeof t === "object" && "tid" in t);
	}

	/* A stack as SPEC's frames: func, file:line or module+offset, and its language. */
	function stackList(frames) {
		const ol = el("ol", "stack");
		for (const f of frames) {
			const li = el("li");
			if (!f || typeof f !== "object") {
				li.textContent = str(f);
			} else {
				if (f.func !== undefined)
					li.appendChild(el("span", "func", str(f.func) +
						(f.offset !== undefined && f.lang !== "python" ? "+" + str(f.offset) : "")));
				let loc = "";
				if (f.file !== undefined)
					loc = str(f.file) + (f.line !== undefined ? ":" + str(f.line) : "");
				else if (f.module !== undefined)
					loc = str(f.module) + (f.func === undefined && f.offset !== undefined ? "+" + str(f.offset) : "");
				if (f.lang !== undefined)
					li.appendChild(el("span", "lang lang-" + (f.lang === "python" ? "python" : "c"), str(f.lang)));
				if (loc)
					li.appendChild(el("span", "loc", (f.func !== undefined ? "at " : "") + loc));
			}
			ol.appendChild(li);
		}
		return ol;
	}

	function section(title, node) {
		detail.appendChild(el("h3", null, title));
		detail.appendChild(node);
	}

	function threadsList(threads) {
		const box = el("div", "threads");
		for (const t of threads) {
			const d = el("div", "thread");
			d.appendChild(el("div", "thread-head", describeThread(t)));
			if (isFrames(t.stack))
				d.appendChild(stackList(t.stack));
			else if (t && typeof t === "object" && "stack" in t)
				d.appendChild(el("div", "none", "no stack"));
			for (const k of Object.keys(t || {}))
				if (!["tid", "comm", "name", "stack"].includes(k))
					d.appendChild(el("div", "none", k + ": " + JSON.stringify(t[k])));
			box.appendChild(d);
		}
		return box;
	}

	const STACK_TITLES = {
		stack: { child_deadlock: "the blocked thread's stack", fork_in_thread: "the forking thread's stack",
			fork: "the forking thread's stack" },
		holder_stack: { "": "the holder's stack at the fork" },
	};
	const LABELS = {
		child_pid: "child", tid: "thread", lock: "lock address", lock_type: "lock type",
		lock_object: "lock object", holder_is_forker: "holder is the forker", held_ns: "held for",
		found_by: "found by", parent_pid: "parent", since_fork_ns: "since the fork", reason: "reason",
		threads_omitted: "threads not listed", exit_code: "exit code", main_thread: "main thread",
		held_locks: "held locks", scan_complete: "scan complete", locks_found: "locks found",
	};

	function showEvent(i, node) {
		const ev = events[i];
		const r = byIndex.get(i);
		if (!ev)
			return;
		select(node || document.querySelector('.mark[data-event="' + i + '"]'));
		detail.replaceChildren();
		detail.dataset.event = String(i);
		const h = el("h2");
		h.appendChild(shape(ev.severity));
		h.appendChild(el("span", "kind", ev.event));
		h.appendChild(el("span", "sev sev-" + sevOf(ev.severity), sevOf(ev.severity)));
		detail.appendChild(h);
		detail.appendChild(el("p", "what", describe(ev)));
		const dl = el("dl");
		row(dl, "time", str(ev.time) + (r ? "  (+" + fmtDur(r.t - tMin) + ")" : ""));
		row(dl, "process", str(ev.comm) + " [" + str(ev.pid) + "]");
		const used = new Set(["time", "event", "severity", "pid", "comm"]);
		const holder = holderOf(ev);
		if (holder || ev.holder_tid === 0) {
			row(dl, "holder", holder || "unknown: this lock records no owner");
			["holder_tid", "holder_comm", "holder_name"].forEach((k) => used.add(k));
		}
		if (ev.lock !== undefined || ev.lock_object !== undefined) {
			row(dl, "lock", lockOf(ev));
			["lock", "lock_object"].forEach((k) => used.add(k));
		}
		const stacks = [], threads = [];
		for (const k of Object.keys(ev)) {
			if (used.has(k))
				continue;
			const v = ev[k];
			if (isFrames(v)) {
				stacks.push(k);
			} else if (isThreads(v)) {
				threads.push(k);
			} else {
				let text = v !== null && typeof v === "object" ? JSON.stringify(v) : str(v);
				if (/_ns$/.test(k) && isInt(v))
					text = fmtDur(v) + "  (" + v + " ns)";
				row(dl, LABELS[k] || k, text);
			}
		}
		detail.appendChild(dl);
		for (const k of threads)
			section(k === "threads" && ev.event === "orphaned_threads" ? "threads the child was born without" :
				k === "threads" && ev.event === "exit_with_threads" ? "threads killed by the exit" : k,
			threadsList(ev[k]));
		for (const k of stacks) {
			const titles = STACK_TITLES[k] || {};
			section(titles[ev.event] || titles[""] || k, stackList(ev[k]));
		}
		if (ev.event === "child_deadlock" && !stacks.length)
			detail.appendChild(el("p", "none", "No stack in this event (--stacks=off, or not readable)."));
		const raw = el("details");
		raw.appendChild(el("summary", null, "the event as recorded"));
		raw.appendChild(el("pre", "raw", JSON.stringify(ev, null, 1)));
		detail.appendChild(raw);
		try {
			history.replaceState(null, "", "#event=" + i);
		} catch (e) {
			/* a page opened from a ticket attachment may not allow it */
		}
	}

	function eventList(list, max) {
		const ul = el("ul", "events");
		for (const r of list.slice(0, max)) {
			const li = el("li");
			const b = el("button", null, "+" + fmtDur(r.t - tMin) + "  " + r.ev.event + " (" +
				sevOf(r.ev.severity) + ") " + str(r.ev.comm) + "[" + str(r.ev.pid) + "]" +
				(isInt(r.ev.child_pid) ? " → child " + r.ev.child_pid : ""));
			b.type = "button";
			b.dataset.event = String(r.i);
			li.appendChild(b);
			ul.appendChild(li);
		}
		if (list.length > max)
			ul.appendChild(el("li", "none", "… and " + (list.length - max).toLocaleString("en-US") + " more"));
		return ul;
	}

	function showBucket(id, node) {
		const list = buckets.get(id) || [];
		select(node);
		detail.replaceChildren();
		delete detail.dataset.event;
		detail.appendChild(el("h2", null, plural(list.length, "event") + ", aggregated"));
		if (list.length)
			detail.appendChild(el("p", "what", "From +" + fmtDur(list[0].t - tMin) + " to +" +
				fmtDur(list[list.length - 1].t - tMin) + ". Too many to draw one by one: click one to see it."));
		detail.appendChild(eventList(list, 200));
	}

	function showProc(row, node) {
		select(node.closest(".lane"));
		detail.replaceChildren();
		delete detail.dataset.event;
		if (row.kind !== "proc") {
			detail.appendChild(el("h2", null, row.kind === "run" ? row.label :
				plural(row.procs.length, "process", "processes") + ", aggregated"));
			if (row.kind === "aggregate") {
				const pids = row.procs.slice(0, 400).map((p) => p.comm + "[" + p.pid + "]").join(", ");
				detail.appendChild(el("p", "what", pids + (row.procs.length > 400 ? ", …" : "")));
			}
			detail.appendChild(eventList(row.marks, 200));
			return;
		}
		const p = row.proc;
		detail.appendChild(el("h2", null, p.comm + " [" + p.pid + "]"));
		const dl = el("dl");
		processRows(dl, p);
		detail.appendChild(dl);
		if (p.marks.length)
			section("hazards", eventList(p.marks, 200));
		section("every event of this process", eventList(p.recs, 300));
	}

	function processRows(dl, p) {
		row(dl, "names", p.comms.join(" → "));
		row(dl, "parent", p.parent ? p.parent.comm + " [" + p.parent.pid + "]" : "");
		row(dl, p.how === "fork" ? "forked" : p.how === "attach" ? "attached" : "first seen",
			"+" + fmtDur(p.birth - tMin));
		for (const e of p.execs)
			row(dl, "exec", "+" + fmtDur(e.t - tMin) + "  " + str(e.ev.filename) +
				(isInt(e.ev.since_fork_ns) && p.how === "fork" ? "  (" + fmtDur(e.ev.since_fork_ns) +
				" after the fork)" : ""));
		if (p.exitRec)
			row(dl, "exit", "+" + fmtDur(p.exitRec.t - tMin) + "  " + (p.exitRec.ev.signal ?
				"killed by signal " + str(p.exitRec.ev.signal) : "code " + str(p.exitRec.ev.exit_code)) +
				", after " + fmtDur(p.exitRec.t - p.birth));
		else
			row(dl, "exit", "not seen: still running when the recording ends");
		row(dl, "children", String(p.children.length));
		row(dl, "forks", String(p.forks.length));
	}

	$("timeline").addEventListener("click", (e) => {
		const m = e.target.closest("[data-event], [data-bucket], button.proc");
		if (!m)
			return;
		if (m.dataset.event !== undefined)
			showEvent(Number(m.dataset.event), m);
		else if (m.dataset.bucket !== undefined)
			showBucket(m.dataset.bucket, m);
		else
			showProc(rows[Number(m.closest(".lane").dataset.row)], m);
	});
	detail.addEventListener("click", (e) => {
		const b = e.target.closest("button[data-event]");
		if (b)
			showEvent(Number(b.dataset.event));
	});

	/* ------------------------------------------------------------ the time axis and zoom */

	const timeline = $("timeline");
	let trackW = 1000;

	function drawAxis() {
		const ticks = $("ticks");
		ticks.replaceChildren();
		const raw = (span * 110) / trackW;
		const mag = Math.pow(10, Math.floor(Math.log10(raw)));
		const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
		for (let t = 0; t <= span; t += step) {
			const d = el("div", "tick", t ? "+" + fmtDur(t) : "0");
			d.style.left = (t / span) * 100 + "%";
			ticks.appendChild(d);
		}
	}

	function labelWidth() {
		return parseFloat(getComputedStyle(document.documentElement).getPropertyValue("--label-w")) || 300;
	}

	function setWidth(w) {
		trackW = Math.max(200, Math.min(w, 400000));
		document.documentElement.style.setProperty("--track-w", trackW + "px");
		drawAxis();
	}

	function fit() {
		setWidth(timeline.clientWidth - labelWidth() - 40);
	}

	function zoom(factor, clientX) {
		const left = timeline.getBoundingClientRect().left + labelWidth() + 14;
		const x = clientX === undefined ? (timeline.clientWidth - labelWidth()) / 2 : clientX - left;
		const frac = (timeline.scrollLeft + x) / trackW;
		setWidth(trackW * factor);
		timeline.scrollLeft = frac * trackW - x;
	}

	$("zoom-in").addEventListener("click", () => zoom(2));
	$("zoom-out").addEventListener("click", () => zoom(0.5));
	$("zoom-fit").addEventListener("click", fit);
	timeline.addEventListener("wheel", (e) => {
		if (!e.ctrlKey)
			return;
		e.preventDefault();
		zoom(e.deltaY < 0 ? 1.25 : 0.8, e.clientX);
	}, { passive: false });

	summary();
	fit();
	const m = /^#event=(\d+)$/.exec(location.hash);
	if (m)
		showEvent(Number(m[1]));
	/* for whoever drives the page (the tests): it is drawn */
	document.body.dataset.ready = "1";
	document.body.dataset.lanes = String(rows.length);
	document.body.dataset.marks = String(marksDrawn);
})();
