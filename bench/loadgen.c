/**
 * @file loadgen.c  Media capacity: a load generator and the ramp that
 *                  finds how many conference parties sipserver mixes in time
 *
 * Usage: loadgen [--server ./build/sipserver] [--steps 400,800,...]
 *                [--seconds 20] [--media-threads 1] [--rate 50]
 *                [--settle 2] [--max-other 10] [--retries 3]
 *
 * Why: the media-capacity issue asks how many conference parties one
 * media worker serves without missing its 20 ms deadlines, with real
 * RTP on every party and the conferences set up as a customer's would be.
 * bench/mixcost measures the mixer alone; this measures the whole server.
 *
 * What: it starts sipserver on a generated configuration (server.c),
 * registers phones 2000-2002 and calls them as gen through the server's
 * SIP port (ua.c), makes every call a conference of 4 with
 * TSingleStepConference through the CTI port (cti.c), and plays every
 * party's RTP from one worker thread (rtp.c), each party sending its own
 * tone and checking what it receives. The ramp (ramp.c) grows the number
 * of parties step by step and prints, for each step, the media worker's
 * CPU, late frames, loss, jitter, RSS and the generator's own CPU,
 * stopping at the first step that misses its deadlines (late frames >=
 * 0.1 %, any loss, a wrong mix). 127.0.0.1 only, ports 50000-59999.
 *
 * A shared machine: two vCPUs leave no room for a neighbour. Each window
 * also reads the machine's CPU time (/proc/stat); when processes other
 * than the server and the generator used more than --max-other % of a
 * CPU in it, the line is printed as disturbed and the window is measured
 * again, up to --retries times.
 *
 * Exit status: 0 the ramp ran (whether or not a step missed), 1 a set-up
 * failure (a conference not built, the server died, ...), 2 usage. The
 * server is stopped with SIGTERM at the end, killed on any error.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <re.h>
#include "lg.h"

enum {
	EXIT_SETUP = 1,
	EXIT_USAGE = 2,
	DONE_POLL_MS = 50,
	MAX_FDS = 65536,
};

const char *const lg_dn[LG_CONF_SIZE] = {"gen", "2000", "2001", "2002"};

static struct lg_progress *sig_pg; /* what a signal sets */

struct loop {
	struct lg_progress *pg;
	struct tmr done;
};

/** The first fatal error wins; the ramp reports it */
void lg_fail(struct lg_progress *pg, const char *fmt, ...)
{
	va_list ap;

	if (atomic_flag_test_and_set(&pg->fail_claim))
		return;

	va_start(ap, fmt);
	(void)re_vsnprintf(pg->why, sizeof(pg->why), fmt, ap);
	va_end(ap);
	atomic_store(&pg->failed, true);
}

uint64_t lg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen [--server PATH] [--steps N,N,...] "
		"[--seconds S] [--media-threads N] [--rate CALLS/S] "
		"[--settle S] [--max-other PCT] [--retries N]\n"
		"  steps: parties, multiples of %u, increasing, at most %u\n",
		LG_CONF_SIZE, LG_MAX_PARTIES);
}

static int steps_parse(struct lg_ramp_opts *o, const char *list)
{
	char *end;

	o->nsteps = 0;
	do {
		unsigned long v = strtoul(list, &end, 10);

		if (end == list || v == 0 || v % LG_CONF_SIZE ||
		    v > LG_MAX_PARTIES || o->nsteps == ARRAY_SIZE(o->steps) ||
		    (o->nsteps && v <= o->steps[o->nsteps - 1]))
			return EINVAL;
		o->steps[o->nsteps++] = (unsigned)v;
		list = end + 1;
	} while (*end == ',');

	return *end ? EINVAL : 0;
}

static int number(const char *s, unsigned min, unsigned max, unsigned *vp)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s || *end || v < min || v > max)
		return EINVAL;

	*vp = (unsigned)v;
	return 0;
}

static int args_parse(int argc, char **argv, struct lg_ramp_opts *o,
		      const char **serverp)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, 'S'},
		{"steps", required_argument, NULL, 's'},
		{"seconds", required_argument, NULL, 't'},
		{"media-threads", required_argument, NULL, 'm'},
		{"rate", required_argument, NULL, 'r'},
		{"settle", required_argument, NULL, 'w'},
		{"max-other", required_argument, NULL, 'o'},
		{"retries", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	unsigned v = 0;
	int c, err = 0;

	while (!err && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			*serverp = optarg;
			break;
		case 's':
			err = steps_parse(o, optarg);
			break;
		case 't':
			err = number(optarg, 1, 3600, &o->seconds);
			break;
		case 'm':
			err = number(optarg, 1, 64, &o->media_threads);
			break;
		case 'r':
			err = number(optarg, 1, 1000, &o->rate);
			break;
		case 'w':
			err = number(optarg, 1, 600, &o->settle);
			break;
		case 'o':
			err = number(optarg, 0, 200, &v);
			o->max_other = v;
			break;
		case 'n':
			err = number(optarg, 0, 100, &o->retries);
			break;
		default:
			err = EINVAL;
			break;
		}
	}

	return err || optind != argc ? EINVAL : 0;
}

static void signal_h(int sig)
{
	(void)sig;
	atomic_store(&sig_pg->interrupted, true);
}

static void signals_watch(struct lg_progress *pg)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = signal_h;
	sigemptyset(&sa.sa_mask);
	sig_pg = pg;
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
}

/* One socket per party: lift the soft limit to the hard one */
static void fds_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		(void)fd_setsize((int)MIN(rl.rlim_cur, (rlim_t)MAX_FDS));
}

static void done_h(void *arg)
{
	struct loop *lp = arg;

	if (atomic_load(&lp->pg->done))
		re_cancel();
	else
		tmr_start(&lp->done, DONE_POLL_MS, done_h, lp);
}

/* The ramp on its thread, the loop here until the ramp is over */
static int run(struct lg_ramp *rp)
{
	struct loop lp = {.pg = rp->pg};
	sigset_t all, old;
	pthread_t thread;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&thread, NULL, lg_ramp_main, rp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return err;

	tmr_init(&lp.done);
	tmr_start(&lp.done, DONE_POLL_MS, done_h, &lp);
	(void)re_main(NULL);
	tmr_cancel(&lp.done);
	pthread_join(thread, NULL);
	return 0;
}

/* The parts on the main thread, then the run */
static int parts_run(struct lg_ramp *rp)
{
	const char *what = "RTP worker";
	struct lg_cti *cti = NULL;
	struct lg_ua *ua = NULL;
	int err;

	err = lg_rtp_alloc(&rp->rtp, LG_MAX_PARTIES);
	if (!err) {
		what = "CTI client";
		err = lg_cti_alloc(&cti, rp->pg);
	}
	if (!err) {
		what = "SIP user agent";
		err = lg_ua_alloc(&ua, rp->rtp, rp->pg, rp->opts->rate);
	}

	if (err)
		fprintf(stderr, "loadgen: %s: %s\n", what, strerror(err));
	else
		err = run(rp);
	if (ua)
		lg_ua_stopping(ua);

	/* the server goes first: no BYE storm, no events after the loop */
	if (lg_server_stop(rp->srv, err || rp->status) && !err && !rp->status) {
		fprintf(stderr, "loadgen: sipserver did not stop cleanly\n");
		rp->status = EXIT_SETUP;
	}
	mem_deref(ua);
	mem_deref(cti);
	rp->rtp = mem_deref(rp->rtp);
	return err;
}

int main(int argc, char **argv)
{
	struct lg_ramp_opts o = {.steps = {400, 800, 1200, 1600, 2000, 2400},
				 .nsteps = 6,
				 .seconds = 20,
				 .settle = 2,
				 .media_threads = 1,
				 .rate = 50,
				 .max_other = 10,
				 .retries = 3};
	struct lg_progress pg;
	struct lg_ramp rp = {.opts = &o, .pg = &pg};
	const char *server = "./build/sipserver";
	unsigned problems;
	int err;

	memset(&pg, 0, sizeof(pg));
	atomic_flag_clear(&pg.fail_claim);
	if (args_parse(argc, argv, &o, &server)) {
		usage();
		return EXIT_USAGE;
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* first, before any socket of ours exists for it to inherit */
	err = lg_server_start(&rp.srv, server, o.media_threads);
	if (err)
		return EXIT_SETUP;

	signals_watch(&pg);
	err = libre_init();
	if (!err) {
		fds_raise();
		err = parts_run(&rp);
		libre_close();
	}

	problems = lg_server_log_problems(rp.srv);
	if (problems)
		printf("sipserver logged %u warnings or errors\n", problems);
	if (problems || err || rp.status)
		fprintf(stderr, "loadgen: sipserver's log: %s/sipserver.log\n",
			lg_server_dir(rp.srv));
	mem_deref(rp.srv);
	return err ? EXIT_SETUP : rp.status;
}
