/**
 * @file ramp.c  The ramp: grow the conferences step by step, measure
 *               each step, stop at the first that misses its deadlines
 *
 * Runs on a thread of its own, as a plain sequence of waits, so that the
 * main thread's loop (SIP, CTI) never blocks. It only sets the target
 * number of conferences, which the loop's pacer reads, and reads the
 * progress counters; at the end it sets pg->done. Every wait also
 * watches for a fatal error, a signal and the server's death. A window
 * in which other processes used more than --max-other % of a CPU is
 * printed as disturbed and measured again. For each step: wait until the conferences are built
 * (CTI, SIP and RTP all agree, and so does the server's status line),
 * let the media settle, check that every party hears something, then
 * measure a window: the server's CPU (process, and its busiest threads
 * besides the control thread: the media workers), late frames from two
 * status lines, loss (sequence gaps towards the parties and socket drops
 * at the server's RTP ports), jitter, RSS, the generator's own CPU and
 * the sampled tone checks. One line per step on stdout.
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <re.h>
#include "lg.h"

enum {
	POLL_MS = 50,
	REG_WAIT_MS = 10000,
	SETUP_SLACK_MS = 20000,
};

static const double LATE_MAX_PCT = 0.1;

/** One end of a measuring window */
struct mark {
	struct lg_status st;
	struct lg_cpu cpu;
	struct lg_host host;
	uint64_t gen_ns; /**< the generator's CPU time */
	uint64_t drops;	 /**< at the server's RTP sockets */
	uint64_t t_ns;
	struct lg_rtp_stats *rtp;
};

/** One step's figures */
struct row {
	unsigned parties;
	double media_cpu, srv_cpu, gen_cpu;
	double sirq_cpu, other_cpu; /**< softirq; what else ran */
	double late_pct, loss_pct;
	uint64_t late, lost;
	double jit_p99, j_p99; /**< [ms] */
	uint64_t rss, rss_idle;
	uint64_t tones_ok, tones_bad;
	uint16_t bad_port;
	uint64_t foreign;
	uint64_t gen_late; /**< the generator's own late frames */
	bool disturbed;	   /**< others used more than --max-other */
};

static void nap_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Is everything still well? A message says why not */
static int guard(struct lg_ramp *rp)
{
	int err = lg_server_alive(rp->srv); /* the cause before its effects */

	if (err)
		return err;
	if (atomic_load(&rp->pg->failed)) {
		fprintf(stderr, "loadgen: %s\n", rp->pg->why);
		return EPROTO;
	}
	if (atomic_load(&rp->pg->interrupted)) {
		fprintf(stderr, "loadgen: interrupted\n");
		return EINTR;
	}

	return 0;
}

static int sleep_guarded(struct lg_ramp *rp, unsigned ms)
{
	uint64_t end = lg_now_ns() + ms * 1000000ull;
	int err;

	while (!(err = guard(rp)) && lg_now_ns() < end)
		nap_ms(POLL_MS);

	return err;
}

static bool built(const struct lg_progress *pg, unsigned confs)
{
	return atomic_load(&pg->confs) >= confs &&
	       atomic_load(&pg->out_estab) >= confs &&
	       atomic_load(&pg->in_estab) >= confs * (LG_CONF_SIZE - 1) &&
	       atomic_load(&pg->parties) >= confs * LG_CONF_SIZE;
}

static int registered_wait(struct lg_ramp *rp)
{
	uint64_t end = lg_now_ns() + REG_WAIT_MS * 1000000ull;
	int err;

	while (!(err = guard(rp)) &&
	       atomic_load(&rp->pg->registered) < LG_CONF_SIZE - 1) {
		if (lg_now_ns() > end) {
			fprintf(stderr, "loadgen: the callee DNs did not "
					"register\n");
			return ETIMEDOUT;
		}
		nap_ms(POLL_MS);
	}

	return err;
}

/* The server must count what the generator counts */
static int server_agrees(struct lg_ramp *rp, unsigned confs)
{
	struct lg_status st;
	int err = lg_server_status(rp->srv, &st);

	if (err) {
		fprintf(stderr, "loadgen: no status line from sipserver\n");
		return err;
	}
	if (st.calls != confs || st.parties != confs * LG_CONF_SIZE ||
	    st.rtp_legs != confs * LG_CONF_SIZE || st.mixes != confs) {
		fprintf(stderr,
			"loadgen: sipserver has calls=%llu parties=%llu "
			"rtp_legs=%llu mixes=%llu for %u conferences of %u\n",
			(unsigned long long)st.calls,
			(unsigned long long)st.parties,
			(unsigned long long)st.rtp_legs,
			(unsigned long long)st.mixes, confs,
			(unsigned)LG_CONF_SIZE);
		return EPROTO;
	}

	return 0;
}

/* Grow to confs conferences through SIP and CTI; all must be built */
static int step_build(struct lg_ramp *rp, unsigned confs)
{
	struct lg_progress *pg = rp->pg;
	unsigned now = atomic_load(&pg->confs);
	uint64_t wait_ms = SETUP_SLACK_MS +
			   (uint64_t)(confs - now) * 3000 / rp->opts->rate;
	uint64_t end = lg_now_ns() + wait_ms * 1000000;
	int err;

	atomic_store(&pg->target, confs); /* the loop's pacer reads it */
	while (!(err = guard(rp)) && !built(pg, confs)) {
		if (lg_now_ns() > end) {
			fprintf(stderr,
				"loadgen: %u conferences not built within "
				"%llu s: placed %u, gen answered %u, callees "
				"answered %u, built %u, parties %u\n",
				confs, (unsigned long long)wait_ms / 1000,
				atomic_load(&pg->placed),
				atomic_load(&pg->out_estab),
				atomic_load(&pg->in_estab),
				atomic_load(&pg->confs),
				atomic_load(&pg->parties));
			return ETIMEDOUT;
		}
		nap_ms(POLL_MS);
	}

	return err ? err : server_agrees(rp, confs);
}

/* Every party hears something during the settling time */
static int step_settle(struct lg_ramp *rp, unsigned parties,
		       struct lg_rtp_stats *s)
{
	int err = lg_rtp_snapshot(rp->rtp, s);

	err = err ? err : sleep_guarded(rp, rp->opts->settle * 1000);
	err = err ? err : lg_rtp_snapshot(rp->rtp, s);
	if (err)
		return err;

	if (s->active != parties || s->silent) {
		fprintf(stderr,
			"loadgen: %zu of %zu parties received nothing in "
			"%u s (port %u, for one)\n",
			s->silent, s->active, rp->opts->settle, s->silent_port);
		return EPROTO;
	}

	return 0;
}

static int mark_take(struct lg_ramp *rp, struct mark *m)
{
	int err = lg_server_status(rp->srv, &m->st);

	if (m->rtp->jitter) /* room for every party's J, each time */
		m->rtp->njitter = LG_MAX_PARTIES;
	err = err ? err : lg_server_cpu(rp->srv, &m->cpu);
	err = err ? err : lg_host_cpu(&m->host);
	err = err ? err
		  : lg_udp_drops(LG_SRV_RTP_MIN, LG_SRV_RTP_MAX, &m->drops);
	err = err ? err : lg_rtp_snapshot(rp->rtp, m->rtp);
	m->gen_ns = cpu_ns();
	m->t_ns = lg_now_ns();
	if (err)
		fprintf(stderr, "loadgen: cannot measure: %s\n", strerror(err));
	return err;
}

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* CPU ticks of the busiest threads besides the control thread (the
 * process's first), that is the media workers */
static uint64_t media_ticks(const struct lg_cpu *a, const struct lg_cpu *b,
			    int pid, unsigned nthreads)
{
	uint64_t d[ARRAY_SIZE(b->tid)] = {0}, sum = 0;
	size_t n = 0;

	for (size_t i = 0; i < b->ntask; i++) {
		uint64_t before = 0;

		if (b->tid[i] == pid)
			continue;
		for (size_t j = 0; j < a->ntask; j++) {
			if (a->tid[j] == b->tid[i])
				before = a->ticks[j];
		}
		d[n++] = b->ticks[i] - before;
	}

	qsort(d, n, sizeof(d[0]), cmp_desc);
	for (size_t i = 0; i < n && i < nthreads; i++)
		sum += d[i];
	return sum;
}

/* p99 of |D| [ms] from two histograms */
static double hist_p99(const struct lg_rtp_stats *a,
		       const struct lg_rtp_stats *b)
{
	uint64_t total = 0, acc = 0, want;

	for (size_t i = 0; i < LG_HIST_N; i++)
		total += b->hist[i] - a->hist[i];
	if (!total)
		return NAN;

	want = (total * 99 + 99) / 100;
	for (size_t i = 0; i < LG_HIST_N; i++) {
		acc += b->hist[i] - a->hist[i];
		if (acc >= want)
			return (double)(i + 1) * LG_HIST_US / 1000.0;
	}

	return NAN;
}

static double jitter_p99(struct lg_rtp_stats *s)
{
	if (!s->njitter)
		return NAN;

	qsort(s->jitter, s->njitter, sizeof(double), cmp_double);
	return s->jitter[(s->njitter * 99 + 99) / 100 - 1];
}

static double pct(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : NAN;
}

/* The machine's softirq (the loopback's packet delivery, both ways;
 * charged to the process it interrupted as well, so it overlaps the
 * other figures) and what else ran (neither the server nor the
 * generator: other processes, ksoftirqd), in % of one CPU. Busy time
 * is the CPUs' wall time less their idle time: the kernel samples user
 * and system time at its tick, which misses much of the short bursts of
 * threads woken by timers, but accounts idle time exactly */
static void host_fill(struct row *r, const struct lg_host *a,
		      const struct lg_host *b, double secs)
{
	double ncpu = (double)sysconf(_SC_NPROCESSORS_ONLN);
	double hz = (double)sysconf(_SC_CLK_TCK);
	double idle = (double)(b->idle - a->idle) / hz;

	r->sirq_cpu = pct((double)(b->softirq - a->softirq) / hz, secs);
	r->other_cpu = pct(ncpu * secs - idle, secs) - r->srv_cpu - r->gen_cpu;
}

static void row_fill(struct lg_ramp *rp, struct row *r, const struct mark *a,
		     const struct mark *b)
{
	const struct lg_rtp_stats *x = a->rtp, *y = b->rtp;
	double secs = (double)(b->t_ns - a->t_ns) / 1e9;
	double hz = (double)sysconf(_SC_CLK_TCK);
	uint64_t sent = y->sent - x->sent;
	uint64_t expected = y->expected - x->expected;
	uint64_t mt = media_ticks(&a->cpu, &b->cpu, lg_server_pid(rp->srv),
				  rp->opts->media_threads);

	r->media_cpu = pct((double)mt / hz, secs);
	r->srv_cpu = pct((double)(b->cpu.total - a->cpu.total) / hz, secs);
	r->gen_cpu = pct((double)(b->gen_ns - a->gen_ns) / 1e9, secs);
	host_fill(r, &a->host, &b->host, secs);
	r->late = b->st.late - a->st.late;
	r->late_pct =
		pct((double)r->late, (double)(b->st.frames - a->st.frames));
	r->lost = (y->gaps - x->gaps) + (b->drops - a->drops) +
		  (y->send_err - x->send_err);
	r->loss_pct = pct((double)r->lost, (double)(expected + sent));
	r->jit_p99 = hist_p99(x, y);
	r->j_p99 = jitter_p99(b->rtp);
	r->tones_ok = y->tones_ok - x->tones_ok;
	r->tones_bad = y->tones_bad - x->tones_bad;
	r->bad_port = y->bad_port;
	r->gen_late = y->late - x->late;
	r->foreign = (b->st.rx_foreign - a->st.rx_foreign) +
		     (b->st.rx_bad - a->st.rx_bad);
}

static void header_print(void)
{
	printf("%7s %5s %6s %7s %5s %5s %6s %6s %6s %8s %6s %8s %9s "
	       "%11s\n",
	       "parties", "confs", "media%", "server%", "gen%", "sirq%",
	       "other%", "late%", "loss%", "jit99 ms", "J99 ms", "RSS KiB",
	       "KiB/party", "tones ok");
}

static void row_print(const struct row *r)
{
	char tones[32];

	snprintf(tones, sizeof(tones), "%llu/%llu",
		 (unsigned long long)r->tones_ok,
		 (unsigned long long)(r->tones_ok + r->tones_bad));
	printf("%7u %5u %6.1f %7.1f %5.1f %5.1f %6.1f %6.3f %6.3f %8.2f "
	       "%6.2f %8llu %9.1f %11s\n",
	       r->parties, r->parties / LG_CONF_SIZE, r->media_cpu, r->srv_cpu,
	       r->gen_cpu, r->sirq_cpu, r->other_cpu, r->late_pct, r->loss_pct,
	       r->jit_p99, r->j_p99, (unsigned long long)r->rss,
	       (double)(r->rss - r->rss_idle) / r->parties, tones);
	if (r->foreign)
		printf("        (sipserver dropped %llu foreign or bad RTP "
		       "packets)\n",
		       (unsigned long long)r->foreign);
	if (r->gen_late)
		printf("        (the generator itself started %llu frames more "
		       "than 5 ms late)\n",
		       (unsigned long long)r->gen_late);
	fflush(stdout);
}

/* Did the step miss? Say why */
static bool missed(const struct row *r)
{
	if (r->late_pct >= LATE_MAX_PCT || r->lost || r->tones_bad) {
		printf("deadlines missed at %u parties: %llu late frames "
		       "(%.3f %%), %llu packets lost, %llu wrong mixes%s\n",
		       r->parties, (unsigned long long)r->late, r->late_pct,
		       (unsigned long long)r->lost,
		       (unsigned long long)r->tones_bad,
		       r->disturbed ? " (while disturbed: not conclusive)"
				    : "");
		if (r->tones_bad)
			printf("    a wrong mix was heard at generator port "
			       "%u\n",
			       r->bad_port);
		return true;
	}

	return false;
}

static int step_measure(struct lg_ramp *rp, struct row *r, struct mark *a,
			struct mark *b)
{
	int err;

	fprintf(stderr,
		"loadgen: measuring %u parties for %u s "
		"(sipserver pid %d)\n",
		r->parties, rp->opts->seconds, lg_server_pid(rp->srv));
	err = mark_take(rp, a);
	err = err ? err : sleep_guarded(rp, rp->opts->seconds * 1000);
	err = err ? err : mark_take(rp, b);
	err = err ? err : lg_server_rss(rp->srv, &r->rss);
	if (!err)
		row_fill(rp, r, a, b);
	return err;
}

/* Build, settle, measure; a window in which other processes used more
 * than max-other % of a CPU is printed, and measured again (retries) */
static int step_run(struct lg_ramp *rp, struct row *r, struct mark *a,
		    struct mark *b)
{
	unsigned confs = r->parties / LG_CONF_SIZE;
	int err;

	fprintf(stderr, "loadgen: %u parties: building %u conferences\n",
		r->parties, confs - atomic_load(&rp->pg->confs));
	err = step_build(rp, confs);
	err = err ? err : step_settle(rp, r->parties, a->rtp);
	for (unsigned n = 0; !err; n++) {
		err = step_measure(rp, r, a, b);
		r->disturbed = r->other_cpu > rp->opts->max_other;
		if (err || !r->disturbed || n == rp->opts->retries)
			break;
		row_print(r);
		printf("        (disturbed: other processes used %.0f %% of a "
		       "CPU; measuring again)\n",
		       r->other_cpu);
	}

	return err;
}

static int ramp_run(struct lg_ramp *rp, struct mark *a, struct mark *b)
{
	const struct lg_ramp_opts *o = rp->opts;
	unsigned good = 0;
	struct row r;
	uint64_t idle;
	int err;

	err = registered_wait(rp);
	err = err ? err : lg_server_rss(rp->srv, &idle);
	if (err)
		return err;

	printf("sipserver pid %d, media-threads %u, idle RSS %llu KiB, "
	       "%u s per step\n",
	       lg_server_pid(rp->srv), o->media_threads,
	       (unsigned long long)idle, o->seconds);
	header_print();
	for (size_t i = 0; i < o->nsteps; i++) {
		memset(&r, 0, sizeof(r));
		r.parties = o->steps[i];
		r.rss_idle = idle;
		err = step_run(rp, &r, a, b);
		if (err)
			return err;
		row_print(&r);
		if (r.disturbed)
			printf("        (disturbed: other processes used %.0f "
			       "%% of a CPU; figures not the server's alone)\n",
			       r.other_cpu);
		if (missed(&r))
			break;
		good = r.parties;
	}

	if (good == o->steps[o->nsteps - 1])
		printf("every step met the deadlines (late < %.1f %%, no "
		       "loss, every sampled mix right)\n",
		       LATE_MAX_PCT);
	else
		printf("last step that met the deadlines: %u parties\n", good);
	return 0;
}

static int marks_alloc(struct mark *a, struct mark *b)
{
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	a->rtp = mem_zalloc(sizeof(*a->rtp), NULL);
	b->rtp = mem_zalloc(sizeof(*b->rtp), NULL);
	if (b->rtp) {
		b->rtp->jitter =
			mem_zalloc(LG_MAX_PARTIES * sizeof(double), NULL);
		b->rtp->njitter = LG_MAX_PARTIES;
	}

	return a->rtp && b->rtp && b->rtp->jitter ? 0 : ENOMEM;
}

static void marks_free(struct mark *a, struct mark *b)
{
	if (b->rtp)
		mem_deref(b->rtp->jitter);
	mem_deref(a->rtp);
	mem_deref(b->rtp);
}

/** The ramp thread: runs the steps, then asks the loop to end */
void *lg_ramp_main(void *arg)
{
	struct lg_ramp *rp = arg;
	struct mark a, b;
	int err = marks_alloc(&a, &b);

	err = err ? err : ramp_run(rp, &a, &b);
	marks_free(&a, &b);
	rp->status = err ? 1 : 0;
	atomic_store(&rp->pg->done, true);
	return NULL;
}
