/**
 * @file mixcost.c  Conference mixing cost: CPU per party per second of audio
 *
 * Usage: mixcost [-f frames] [-r runs] [parties ...]
 *
 *   -f frames  frames per run (default 5000: 100 s of audio)
 *   -r runs    runs per conference size; the median is printed (default 5)
 *   parties    conference sizes to measure after 3, 8 and 32 (2..300)
 *
 * Why: the "Conferences" issue asks what a conference costs per party, for
 * 3, 8 and 32 parties. The end-to-end media benchmark (bench/calls.py
 * media) answers for two-party calls only, with SIPp competing for the
 * same cores; here one conference of N parties runs on one media worker, with
 * nothing else, as fast as it goes (not paced), so that its CPU time is
 * the engine's alone.
 *
 * What: the worker's real frame path, driven by hand as
 * tests/unit/test_worker.c does (worker_frame(), no thread, no clock).
 * Each party is a real leg (bound RTP and RTCP sockets, playout buffer,
 * place in the call's mix) whose "phone" is a loopback UDP socket that
 * nobody reads, so every frame really sends N RTP packets. Before each
 * frame every leg's playout buffer gets that frame's 20 ms PCMU packet of
 * its party's own tone, decoded and put as rtp.c does on arrival; the
 * network receive itself is left out, because feeding N sockets from
 * here would put the phones' sending into the figure too. Counted per
 * frame: decode + jb_put of N packets, then worker_frame(): N recvmmsg
 * (finding nothing), N jb_get, mix_run, N encodes, N RTP headers and
 * sendto (with the kernel's loopback delivery, which ends in a drop at
 * the full socket), the RTCP drain once a second and the timeout checks.
 * A second table repeats the measurement with the same legs and no
 * system call at all (decode, jb_put, jb_get, mix_run, encode), so the
 * share of the system calls shows.
 *
 * Every party talks all the time: the worst case, and the mixer's cost
 * does not depend on what they say. Every 100th frame is checked, and the
 * check's CPU time left out of the figure: each party's playout buffer
 * gave its own tone, each listener's mix is exactly the N-1 sum of the
 * others, the packet that reached party 0's phone is that sum encoded,
 * and it holds every other party's tone and not party 0's own (Goertzel).
 * Exit status: 0 measured and checked, 1 a check failed, 2 usage or setup
 * error.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <re.h>
#include <rem.h>
#include "media/codec.h"
#include "media/jb.h"
#include "media/mix.h"
#include "media/media.h"
#include "media/priv.h"

enum {
	FRAMES_DEFAULT = 5000,
	RUNS_DEFAULT = 5,
	RUNS_MAX = 99,
	WARMUP = 500, /* frames: playout buffers primed, phones' sockets full */
	CHECK_EVERY = 100,
	PARTIES_MIN = 2,
	PARTIES_MAX = 300, /* three sockets each, under 1024 descriptors */
	SIZES_MAX = 32,
	CALL = 1,
	RTP_HDR = 12,
	DTMF_PT = 101,
	RTP_TIMEOUT = 60000, /* [ms] */
	/* tones on the 50 Hz bins of a 160-sample frame, 300..3400 Hz: a
	 * tone then repeats every frame and Goertzel sees no leakage */
	BIN_HZ = JB_RATE / MIX_FRAME,
	BIN_FIRST = 300 / BIN_HZ,
	BINS = 3400 / BIN_HZ - BIN_FIRST + 1,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
};

static const uint64_t NS = 1000000000ull;
static const int16_t LEVEL = 4000;     /* a tone's amplitude in a small call */
static const int32_t HEADROOM = 24000; /* the others' peaks add up to this */

/* One party: its worker leg, the phone's socket and the phone's tone */
struct party {
	struct wleg *wl;
	int phone;
	unsigned bin; /**< its tone, index from BIN_FIRST */
	uint32_t rx_ts;
	uint8_t pkt[MIX_FRAME];	 /**< the 20 ms its phone sends, every frame */
	int16_t pcm[MIX_FRAME];	 /**< pkt decoded: what the mix must get */
	uint8_t enc[MIX_FRAME];	 /**< compute-only path: what it would get */
	int16_t want[MIX_FRAME]; /**< the others' sum, saturated */
};

struct conf {
	struct worker *w;
	struct party *pv;
	size_t n;
	int16_t amp;
	uint64_t now;	  /**< [ms] the worker's clock */
	uint64_t sent;	  /**< frames of the real path: each sends n */
	uint64_t checked; /**< [ns] CPU time of the checks, left out */
	unsigned nchecks;
	bool failed;
};

struct figure {
	size_t n;
	double frame_ns[RUNS_MAX]; /**< per run: CPU time per frame */
	double calc_ns[RUNS_MAX];
};

/* The engine's reports: nobody to report to */
void media_post(struct media *m, enum msg_type type, uint32_t id, uint16_t port,
		struct player *music)
{
	(void)m;
	(void)type;
	(void)id;
	(void)port;
	(void)music;
}

uint64_t media_now(void)
{
	return 0;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(EXIT_USAGE);
}

static bool fail(struct conf *c, const char *what)
{
	if (!c->failed)
		fprintf(stderr, "mixcost: %zu parties: %s\n", c->n, what);
	c->failed = true;
	return false;
}

/* A UDP socket on an ephemeral loopback port, as the engine binds legs */
static int sock_open(struct sa *laddr)
{
	struct sa a;
	socklen_t len = sizeof(a.u);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	sa_set_str(&a, "127.0.0.1", 0);
	if (bind(fd, &a.u.sa, a.len) || getsockname(fd, &a.u.sa, &len))
		die("bind");
	if (laddr)
		*laddr = a;
	return fd;
}

/* Party 0's tone is its own, so that its absence can be heard; beyond
 * BINS parties the others share bins */
static unsigned party_bin(size_t k)
{
	return k ? 1 + (unsigned)((k - 1) % (BINS - 1)) : 0;
}

/* Phase by bin: parties sharing a bin add up instead of cancelling */
static void tone_make(struct party *p, int16_t amp)
{
	const double w = 2.0 * M_PI * (BIN_FIRST + p->bin) / MIX_FRAME;
	int16_t s[MIX_FRAME];

	for (size_t i = 0; i < MIX_FRAME; i++)
		s[i] = (int16_t)lrint(amp * sin(w * (double)i + p->bin));
	codec_encode(CODEC_PCMU, s, p->pkt, MIX_FRAME);
	codec_decode(CODEC_PCMU, p->pkt, p->pcm, MIX_FRAME);
}

static void push(struct worker *w, enum cmd_type type, struct wleg *wl,
		 const struct media_remote *r)
{
	struct cmd *cmd = calloc(1, sizeof(*cmd));

	if (!cmd)
		die("calloc");
	cmd->type = type;
	cmd->leg = wl;
	cmd->connid = CALL;
	cmd->talk = cmd->listen = true;
	cmd->src = MEDIA_SRC_MIX;
	if (r)
		cmd->remote = *r;
	worker_push(w, cmd);
}

/* A leg as media_leg_alloc and media_leg_join make it, then the remote
 * and mode the B2BUA gives a conference party */
static void party_open(struct conf *c, size_t k)
{
	struct party *p = &c->pv[k];
	struct media_remote r = {.codec = CODEC_PCMU,
				 .dtmf_pt = DTMF_PT,
				 .send = true,
				 .recv = true};
	struct wleg *wl = calloc(1, sizeof(*wl));

	if (!wl || jb_alloc(&wl->jb, MEDIA_JB_DELAY))
		die("leg");
	wl->fd = sock_open(NULL);
	wl->fd_rtcp = sock_open(NULL);
	wl->id = (uint32_t)k + 1;
	wl->connid = CALL;
	wl->ssrc = 0x5000 + wl->id;
	wl->timeout_ms = RTP_TIMEOUT;
	p->wl = wl;
	p->phone = sock_open(&r.addr);
	p->bin = party_bin(k);
	p->rx_ts = 1000 * wl->id;
	tone_make(p, c->amp);

	push(c->w, CMD_ADD, wl, NULL);
	push(c->w, CMD_REMOTE, wl, &r);
	push(c->w, CMD_MODE, wl, NULL);
}

static struct worker *worker_new(void)
{
	struct worker *w = calloc(1, sizeof(*w));

	if (!w)
		die("calloc");
	pthread_mutex_init(&w->lock, NULL);
	list_init(&w->cmdl);
	list_init(&w->mixl);
	list_init(&w->legl);
	return w;
}

/* The others' peaks stay within HEADROOM, so the mix never saturates
 * and no distortion can put party 0's own tone into what it hears */
static void conf_open(struct conf *c, size_t n)
{
	memset(c, 0, sizeof(*c));
	c->n = n;
	c->amp = (int16_t)MIN((int32_t)LEVEL, HEADROOM / (int32_t)(n - 1));
	c->w = worker_new();
	c->pv = calloc(n, sizeof(*c->pv));
	if (!c->pv)
		die("calloc");
	for (size_t k = 0; k < n; k++)
		party_open(c, k);
}

static void conf_close(struct conf *c)
{
	worker_free_all(c->w); /* closes the legs' sockets */
	pthread_mutex_destroy(&c->w->lock);
	free(c->w);
	for (size_t k = 0; k < c->n; k++)
		close(c->pv[k].phone);
	free(c->pv);
}

/* Each phone's packet of this frame has arrived: decoded and put into
 * its playout buffer as rtp.c's audio_put does, marked alive as
 * pkt_handle does */
static void feed(struct conf *c)
{
	int16_t pcm[MIX_FRAME];

	for (size_t k = 0; k < c->n; k++) {
		struct party *p = &c->pv[k];
		struct wleg *wl = p->wl;

		codec_decode((enum codec)wl->remote.codec, p->pkt, pcm,
			     MIX_FRAME);
		jb_put(wl->jb, p->rx_ts, pcm, MIX_FRAME, false);
		p->rx_ts += MIX_FRAME;
		wl->last_rx = c->now;
		atomic_fetch_add(&c->w->rx, 1);
	}
}

/* The real frame */
static void frame_path(struct conf *c)
{
	feed(c);
	worker_frame(c->w, c->now);
	c->now += MEDIA_PTIME;
	++c->sent;
}

/* The same work without a system call */
static void calc_path(struct conf *c)
{
	feed(c);
	for (size_t k = 0; k < c->n; k++) {
		struct wleg *wl = c->pv[k].wl;

		wl->mp.has_in = jb_get(wl->jb, wl->mp.in);
	}
	mix_run(&c->pv[0].wl->mix->mix);
	for (size_t k = 0; k < c->n; k++) {
		struct party *p = &c->pv[k];

		codec_encode((enum codec)p->wl->remote.codec, p->wl->mp.out,
			     p->enc, MIX_FRAME);
	}
	c->now += MEDIA_PTIME;
}

static int16_t saturate(int32_t v)
{
	return (int16_t)MAX(INT16_MIN, MIN(INT16_MAX, v));
}

/* From the phones' tones alone, not from anything the engine holds */
static void want_make(struct conf *c)
{
	int32_t sum[MIX_FRAME] = {0};

	for (size_t k = 0; k < c->n; k++)
		for (size_t i = 0; i < MIX_FRAME; i++)
			sum[i] += c->pv[k].pcm[i];

	for (size_t k = 0; k < c->n; k++)
		for (size_t i = 0; i < MIX_FRAME; i++)
			c->pv[k].want[i] = saturate(sum[i] - c->pv[k].pcm[i]);
}

/* Every tone repeats each frame, so the playout delay (whole frames)
 * does not matter: each party's input is its own tone, each party's
 * output the sum of the others' */
static bool mix_check(struct conf *c)
{
	want_make(c);
	for (size_t k = 0; k < c->n; k++) {
		const struct party *p = &c->pv[k];

		if (memcmp(p->wl->mp.in, p->pcm, sizeof(p->pcm)))
			return fail(c, "a playout buffer lost its tone");
		if (memcmp(p->wl->mp.out, p->want, sizeof(p->want)))
			return fail(c, "a listener's mix is not the N-1 sum");
	}
	return true;
}

/* Amplitude of a bin's sine in a frame: librem's result is 2|X|^2 and
 * |X| = A n / 2 */
static double bin_amp(const int16_t *s, unsigned bin)
{
	struct goertzel g;

	goertzel_init(&g, (double)(BIN_FIRST + bin) * BIN_HZ, JB_RATE);
	for (size_t i = 0; i < MIX_FRAME; i++)
		goertzel_update(&g, s[i]);
	return sqrt(2.0 * goertzel_result(&g)) / MIX_FRAME;
}

/* By ear: party 0 hears every other tone (bins shared beyond BINS
 * parties add up) and not its own. The thresholds sit either side of
 * half a tone: G.711's distortion of a sum of many tones puts products
 * on every bin (0.22 of a tone on party 0's own bin with 300 parties,
 * under 0.01 with 32) */
static bool tones_check(struct conf *c, const uint8_t *payload)
{
	unsigned count[BINS] = {0};
	int16_t s[MIX_FRAME];

	codec_decode(CODEC_PCMU, payload, s, MIX_FRAME);
	for (size_t k = 1; k < c->n; k++)
		++count[c->pv[k].bin];

	if (bin_amp(s, c->pv[0].bin) >= 0.4 * c->amp)
		return fail(c, "party 0 hears its own tone");
	for (unsigned b = 0; b < BINS; b++) {
		if (count[b] && bin_amp(s, b) < 0.6 * count[b] * c->amp)
			return fail(c, "party 0 misses another's tone");
	}
	return true;
}

static bool payload_check(struct conf *c, const uint8_t *payload)
{
	uint8_t enc[MIX_FRAME];

	codec_encode(CODEC_PCMU, c->pv[0].want, enc, MIX_FRAME);
	if (memcmp(enc, payload, MIX_FRAME))
		return fail(c, "party 0's payload is not its mix encoded");
	return tones_check(c, payload);
}

/* Party 0's phone socket has been full since the warm-up: emptied before
 * a checked frame, it then holds that frame's packet alone */
static void phone_drain(const struct conf *c)
{
	uint8_t b[MEDIA_PKT_MAX];

	while (recv(c->pv[0].phone, b, sizeof(b), MSG_DONTWAIT) >= 0)
		;
}

static bool wire_check(struct conf *c)
{
	const uint32_t ssrc = c->pv[0].wl->ssrc;
	uint8_t b[MEDIA_PKT_MAX];
	ssize_t len = recv(c->pv[0].phone, b, sizeof(b), MSG_DONTWAIT);

	if (len != RTP_HDR + MIX_FRAME)
		return fail(c, "party 0's phone got no packet of the frame");
	if (b[0] != 0x80 || (b[1] & 0x7f) != CODEC_PCMU ||
	    b[8] != (uint8_t)(ssrc >> 24) || b[11] != (uint8_t)ssrc)
		return fail(c, "party 0's phone got a wrong RTP header");
	return payload_check(c, b + RTP_HDR);
}

static void frame_verify(struct conf *c, bool real)
{
	if (!mix_check(c))
		return;
	if (real)
		wire_check(c);
	else
		payload_check(c, c->pv[0].enc);
}

static void frame_checked(struct conf *c, bool real)
{
	uint64_t t = cpu_ns();

	if (real)
		phone_drain(c);
	c->checked += cpu_ns() - t;

	if (real)
		frame_path(c);
	else
		calc_path(c);

	t = cpu_ns();
	frame_verify(c, real);
	++c->nchecks;
	c->checked += cpu_ns() - t;
}

/* Nothing lost on the way: no playout buffer had a hole or a late
 * packet, and every leg sent every frame */
static void run_check(struct conf *c)
{
	const uint64_t tx = atomic_load(&c->w->tx);

	for (size_t k = 0; k < c->n; k++) {
		const struct jb_stats *st = jb_stats(c->pv[k].wl->jb);

		if (st->lost || st->late || st->resyncs)
			fail(c, "a playout buffer lost or dropped audio");
	}
	if (tx != c->n * c->sent)
		fail(c, "a leg did not send every frame");
}

/** One run; returns CPU time per frame [ns], the checks left out */
static double run(struct conf *c, unsigned frames, bool real)
{
	uint64_t t;

	c->checked = 0;
	t = cpu_ns();
	for (unsigned f = 1; f <= frames; f++) {
		if (f % CHECK_EVERY == 0)
			frame_checked(c, real);
		else if (real)
			frame_path(c);
		else
			calc_path(c);
	}
	t = cpu_ns() - t - c->checked;

	return (double)t / frames;
}

static void measure(struct figure *fg, size_t n, unsigned frames, unsigned runs,
		    bool *failed)
{
	struct conf c;

	conf_open(&c, n);
	fg->n = n;
	for (unsigned f = 0; f < WARMUP; f++)
		frame_path(&c);

	for (unsigned r = 0; r < runs; r++) {
		fg->frame_ns[r] = run(&c, frames, true);
		fg->calc_ns[r] = run(&c, frames, false);
	}

	run_check(&c);
	if (c.nchecks != 2 * runs * (frames / CHECK_EVERY))
		fail(&c, "frames were not checked");
	*failed |= c.failed;
	conf_close(&c);
}

static int dbl_cmp(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void row(size_t n, unsigned frames, double *v, unsigned runs)
{
	double ns, pf;

	qsort(v, runs, sizeof(*v), dbl_cmp);
	ns = runs % 2 ? v[runs / 2] : (v[runs / 2 - 1] + v[runs / 2]) / 2;
	pf = ns / (double)n;

	/* 50 frames a second: a party costs 50 * pf ns per second of
	 * audio, and one core has 1e9 */
	printf("%7zu  %6u  %9.0f  %14.0f  %7.0f..%-7.0f  %10.4f  %12.0f\n", n,
	       frames, ns, pf, v[0] / (double)n, v[runs - 1] / (double)n,
	       pf * 50.0 / 1e7, 1e9 / (pf * 50.0));
}

static void table(const char *title, const struct figure *fv, size_t nf,
		  unsigned frames, unsigned runs, bool real)
{
	printf("\n%s\n", title);
	printf("parties  frames   ns/frame  ns/party-frame  (min..max of runs)"
	       "  cpu%%/party  parties/core\n");
	for (size_t i = 0; i < nf; i++) {
		double v[RUNS_MAX];

		memcpy(v, real ? fv[i].frame_ns : fv[i].calc_ns,
		       runs * sizeof(*v));
		row(fv[i].n, frames, v, runs);
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: mixcost [-f frames] [-r runs] [parties ...]\n"
		"  sizes 3, 8 and 32 always; extra sizes %d..%d\n",
		PARTIES_MIN, PARTIES_MAX);
	exit(EXIT_USAGE);
}

static unsigned arg_num(const char *s, unsigned lo, unsigned hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		usage();
	return (unsigned)v;
}

static void report(const struct figure *fv, size_t nf, unsigned frames,
		   unsigned runs)
{
	printf("mixcost: one conference of N parties on one media worker, "
	       "every party talking;\n%u frames (%u s of audio) per run, "
	       "median of %u runs, process CPU time, checks left out\n",
	       frames, frames / (1000 / MEDIA_PTIME), runs);
	table("frame path: decode + jb_put of each party's packet, then "
	      "worker_frame()\n(recvmmsg finding nothing, jb_get, mix_run, "
	      "encode, RTP sendto over loopback)",
	      fv, nf, frames, runs, true);
	table("compute only, no system call: decode, jb_put, jb_get, "
	      "mix_run, encode",
	      fv, nf, frames, runs, false);
}

int main(int argc, char **argv)
{
	size_t sizes[SIZES_MAX] = {3, 8, 32}, nsizes = 3;
	struct figure fv[SIZES_MAX];
	unsigned frames = FRAMES_DEFAULT, runs = RUNS_DEFAULT;
	bool failed = false;
	int opt;

	while ((opt = getopt(argc, argv, "f:r:h")) != -1) {
		if (opt == 'f')
			frames = arg_num(optarg, CHECK_EVERY, 10000000);
		else if (opt == 'r')
			runs = arg_num(optarg, 1, RUNS_MAX);
		else
			usage();
	}
	for (int i = optind; i < argc; i++) {
		if (nsizes == SIZES_MAX)
			usage();
		sizes[nsizes++] = arg_num(argv[i], PARTIES_MIN, PARTIES_MAX);
	}

	for (size_t i = 0; i < nsizes; i++)
		measure(&fv[i], sizes[i], frames, runs, &failed);

	report(fv, nsizes, frames, runs);
	if (failed) {
		fprintf(stderr, "mixcost: checks FAILED: figures not valid\n");
		return EXIT_FAIL;
	}
	printf("\nchecked: every %dth frame, every party's input, every "
	       "listener's N-1 mix,\nparty 0's packet and its tones "
	       "(the others' present, its own absent)\n",
	       CHECK_EVERY);
	return 0;
}
