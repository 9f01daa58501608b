/* The run's counts and its human summary (see summary.h). */
#include <string.h>
#include "out/human.h"
#include "out/summary.h"

/* A warning or error about the traced program, not about forktrace's own view of it. */
static bool is_hazard(const struct event *ev)
{
	return ev->severity != SEV_INFO && ev->kind != EV_LOST_EVENTS && ev->kind != EV_SCAN;
}

void summary_add(struct summary *s, const struct event *ev)
{
	s->by_kind[ev->kind]++;
	s->by_severity[ev->severity]++;
	if (ev->kind == EV_LOST_EVENTS)
		s->lost += ev->lost.count;
	if (!is_hazard(ev))
		return;
	s->hazards_by_kind[ev->kind]++;
	for (int i = 0; i < s->nprocs; i++) {
		if (s->procs[i].pid == ev->pid) {
			s->procs[i].hazards++;
			return;
		}
	}
	if (s->nprocs == SUMMARY_PROCS) {
		s->other_proc_hazards++;
		return;
	}
	s->procs[s->nprocs].pid = ev->pid;
	memcpy(s->procs[s->nprocs].comm, ev->comm, EV_COMM_LEN);
	s->procs[s->nprocs++].hazards = 1;
}

bool summary_saw(const struct summary *s, enum severity sev)
{
	for (int v = sev; v <= SEV_ERROR; v++)
		if (s->by_severity[v])
			return true;
	return false;
}

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

static void print_scans(const struct summary *s, FILE *f)
{
	if (!s->scans_gone && !s->scans_busy)
		return;
	fprintf(f,
		"  not scanned: %llu fork%s whose child was gone first (exited or exec'd),"
		" %llu busy (the scan queue was full: --scan-queue, --scan-threads)\n",
		(unsigned long long)s->scans_gone, plural(s->scans_gone),
		(unsigned long long)s->scans_busy);
}

void summary_print(const struct summary *s, FILE *f, bool color)
{
	uint64_t hazards = 0;
	char comm[EV_COMM_LEN * 4 + 1];

	for (int k = 0; k < EV__COUNT; k++)
		hazards += s->hazards_by_kind[k];
	fprintf(f,
		"\n%sforktrace summary%s: %llu fork%s, %llu exec%s, %llu hazard%s, %llu lost record%s\n",
		color ? "\033[1m" : "", color ? "\033[0m" : "",
		(unsigned long long)s->by_kind[EV_FORK], plural(s->by_kind[EV_FORK]),
		(unsigned long long)s->by_kind[EV_EXEC], plural(s->by_kind[EV_EXEC]),
		(unsigned long long)hazards, plural(hazards), (unsigned long long)s->lost,
		plural(s->lost));
	for (int k = 0; k < EV__COUNT; k++)
		if (s->hazards_by_kind[k])
			fprintf(f, "  %-18s %llu\n", event_kind_name(k),
				(unsigned long long)s->hazards_by_kind[k]);
	if (s->nprocs)
		fprintf(f, "  by process:\n");
	for (int i = 0; i < s->nprocs; i++) {
		sanitize(s->procs[i].comm, comm, sizeof(comm));
		fprintf(f, "    %-16s pid %-8d %d\n", comm, s->procs[i].pid, s->procs[i].hazards);
	}
	if (s->other_proc_hazards)
		fprintf(f, "    (other processes)       %llu\n",
			(unsigned long long)s->other_proc_hazards);
	print_scans(s, f);
}

void summary_print_influx(const struct influx_stats *st, FILE *f)
{
	fprintf(f, "influx: %llu point%s delivered, %llu retried, %llu dropped",
		(unsigned long long)st->delivered, plural(st->delivered),
		(unsigned long long)st->retried, (unsigned long long)st->dropped);
	if (st->unknown)
		fprintf(f, ", %llu unknown (sent, never answered: the server may hold them)",
			(unsigned long long)st->unknown);
	fputc('\n', f);
}

