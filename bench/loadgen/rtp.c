/**
 * @file rtp.c  Every party's RTP: one worker thread plays them all
 *
 * Each party is a UDP socket of its own on 127.0.0.1 (the server takes a
 * leg's RTP only from the address and port its SDP named, so parties
 * cannot share a socket), connected to the server's port for that leg
 * once SIP has told it. Every 20 ms, on an absolute clock
 * (clock_nanosleep, TIMER_ABSTIME), the worker sends each party's next
 * packet (160 bytes of PCMU, its own SSRC, sequence and timestamp; the
 * payload is its tone, encoded once at start: the tones sit on multiples
 * of 50 Hz, so one 20 ms packet repeats seamlessly) and then drains every
 * socket with recvmmsg, one call per socket however many packets wait.
 * Arrival times are the kernel's (SO_TIMESTAMPNS), so draining once a
 * frame does not blur the jitter figure.
 *
 * Per party, the worker keeps what RFC 3550 keeps: the highest sequence
 * number (sequence gaps are loss), and the transit difference D of
 * consecutive packets, which goes into one histogram of |D| for all
 * parties and into each party's smoothed jitter J. Once a second one
 * party in 50 (a different fiftieth each second) has its next packet
 * decoded and checked with Goertzel filters: the three other tones of
 * its conference present, its own absent.
 *
 * Threads: the main thread opens parties (binds) and starts them
 * (connects, then publishes with a release store); from then on only the
 * worker touches them. The ramp reads the figures through snapshots that
 * the worker fills at a frame boundary, under a lock.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <re.h>
#include <rem.h>
#include "media/codec.h"
#include "lg.h"

enum {
	RTP_HDR = 12,
	PKT_LEN = RTP_HDR + LG_FRAME,
	RX_BATCH = 4,
	RX_MAX = 256,
	RATE = 8000,
	NS_PER_SAMPLE = 125000,
	SEQ_JUMP = 3000,  /* a sequence step at least this big: an old packet */
	CHECK_EVERY = 50, /* frames: once a second ... */
	CHECK_SHARE = 50, /* ... one party in this many */
	LATE_NS = 5000000,
	RESYNC_NS = 200000000,
	SNAP_WAIT_S = 2,
};

static const double TONE_HZ[LG_CONF_SIZE] = {400, 700, 1000, 1400};
static const double LEVEL = 6000; /* three of them: no saturation */

struct party {
	int fd;
	uint16_t port;
	uint8_t tone;
	atomic_bool active;
	/* sending */
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	/* receiving */
	bool started;
	bool check; /**< decode and check the next packet */
	uint32_t rx_ssrc;
	uint16_t max_seq;
	uint32_t last_ts;
	int64_t last_arr; /**< [ns] 0: no reference for D */
	double jitter;	  /**< [ns] RFC 3550 J */
	uint64_t received;
	uint64_t rx_mark; /**< received at the last snapshot */
};

struct lg_rtp {
	struct party *pv;
	size_t cap;
	size_t nopen;	    /**< main thread: parties opened */
	uint16_t port_next; /**< main thread: next port to try */
	atomic_size_t nslots;
	uint8_t tone[LG_CONF_SIZE][LG_FRAME];
	pthread_t thread;
	bool running;
	atomic_bool stop;
	struct lg_rtp_stats tot; /**< the worker's own */
	/* snapshots */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_uint snap_req;
	unsigned snap_done; /**< under lock */
	struct lg_rtp_stats *snap_dst;
	/* receiving */
	struct mmsghdr mm[RX_BATCH];
	struct iovec iov[RX_BATCH];
	uint8_t buf[RX_BATCH][RX_MAX];
	uint8_t ctl[RX_BATCH][CMSG_SPACE(sizeof(struct timespec))];
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* --- sending --- */

static void party_send(struct lg_rtp *r, struct party *p)
{
	uint8_t pkt[PKT_LEN];

	pkt[0] = 0x80;
	pkt[1] = 0; /* PCMU */
	pkt[2] = (uint8_t)(p->seq >> 8);
	pkt[3] = (uint8_t)p->seq;
	put32(pkt + 4, p->ts);
	put32(pkt + 8, p->ssrc);
	memcpy(pkt + RTP_HDR, r->tone[p->tone], LG_FRAME);

	if (send(p->fd, pkt, sizeof(pkt), MSG_DONTWAIT) == (ssize_t)PKT_LEN)
		++r->tot.sent;
	else
		++r->tot.send_err;

	++p->seq;
	p->ts += LG_FRAME;
}

/* --- receiving --- */

/* Goertzel: the amplitude of hz in one frame, as a share of LEVEL */
static double tone_level(const int16_t *s, double hz)
{
	struct goertzel g;

	goertzel_init(&g, hz, RATE);
	for (size_t i = 0; i < LG_FRAME; i++)
		goertzel_update(&g, s[i]);

	return sqrt(2.0 * goertzel_result(&g)) / LG_FRAME / (LEVEL / M_SQRT2);
}

/* By ear: the three others at (nearly) full level, its own not at all */
static void tone_check(struct lg_rtp *r, struct party *p, const uint8_t *pl)
{
	int16_t s[LG_FRAME];
	bool ok = true;

	codec_decode(CODEC_PCMU, pl, s, LG_FRAME);
	for (unsigned k = 0; k < LG_CONF_SIZE; k++) {
		double lv = tone_level(s, TONE_HZ[k]);

		ok = ok && (k == p->tone ? lv < 0.1 : lv > 0.7);
	}

	if (ok) {
		++r->tot.tones_ok;
	} else {
		++r->tot.tones_bad;
		r->tot.bad_port = p->port;
	}
	p->check = false;
}

static void jitter_add(struct lg_rtp *r, struct party *p, int64_t arr,
		       uint32_t ts)
{
	int64_t d = (arr - p->last_arr) -
		    (int64_t)(uint32_t)(ts - p->last_ts) * NS_PER_SAMPLE;
	uint64_t ad = (uint64_t)(d < 0 ? -d : d);
	uint64_t b = ad / (LG_HIST_US * 1000);

	++r->tot.hist[b < LG_HIST_N ? b : LG_HIST_N - 1];
	p->jitter += ((double)ad - p->jitter) / 16.0;
}

/* A new stream (the first packet, or another SSRC) */
static void stream_start(struct lg_rtp *r, struct party *p, uint16_t seq,
			 uint32_t ssrc)
{
	if (p->started)
		++r->tot.bad;

	p->started = true;
	p->rx_ssrc = ssrc;
	p->max_seq = seq;
	p->last_arr = 0;
	++r->tot.expected;
}

static void packet_take(struct lg_rtp *r, struct party *p, const uint8_t *b,
			size_t len, int64_t arr)
{
	uint16_t seq, step;
	uint32_t ts, ssrc;

	if (len < RTP_HDR || (b[0] >> 6) != 2 || (b[1] & 0x7f) != 0) {
		++r->tot.bad;
		return;
	}

	seq = be16(b + 2);
	ts = be32(b + 4);
	ssrc = be32(b + 8);
	step = (uint16_t)(seq - p->max_seq);
	if (!p->started || ssrc != p->rx_ssrc) {
		stream_start(r, p, seq, ssrc);
		step = 0;
	} else if (step == 0) {
		++r->tot.bad; /* a duplicate */
		return;
	} else if (step < SEQ_JUMP) {
		r->tot.expected += step;
		r->tot.gaps += step - 1u;
		p->max_seq = seq;
		if (step == 1 && p->last_arr)
			jitter_add(r, p, arr, ts);
	} else if (r->tot.gaps) {
		--r->tot.gaps; /* late: it was counted missing */
	}

	if (step < SEQ_JUMP) {
		p->last_arr = arr;
		p->last_ts = ts;
	}
	++p->received;
	++r->tot.received;
	if (p->check && len == PKT_LEN)
		tone_check(r, p, b + RTP_HDR);
}

/* The kernel's arrival time [ns], or now */
static int64_t arrival(struct msghdr *mh)
{
	struct timespec ts;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPNS) {
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		}
	}

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void party_drain(struct lg_rtp *r, struct party *p)
{
	int n;

	do {
		for (size_t k = 0; k < RX_BATCH; k++)
			r->mm[k].msg_hdr.msg_controllen = sizeof(r->ctl[k]);

		n = recvmmsg(p->fd, r->mm, RX_BATCH, MSG_DONTWAIT, NULL);
		for (int k = 0; k < n; k++) {
			struct msghdr *mh = &r->mm[k].msg_hdr;

			if (mh->msg_flags & MSG_TRUNC)
				++r->tot.bad;
			else
				packet_take(r, p, r->buf[k], r->mm[k].msg_len,
					    arrival(mh));
		}
	} while (n == RX_BATCH);
}

/* --- the frame --- */

static struct party *party_active(struct lg_rtp *r, size_t i)
{
	struct party *p = &r->pv[i];

	return atomic_load_explicit(&p->active, memory_order_acquire) ? p
								      : NULL;
}

static void snapshot_fill(struct lg_rtp *r, struct lg_rtp_stats *d, size_t n)
{
	double *jit = d->jitter;
	size_t room = d->njitter;

	*d = r->tot;
	d->jitter = jit;
	d->njitter = 0;
	for (size_t i = 0; i < n; i++) {
		struct party *p = party_active(r, i);

		if (!p)
			continue;
		++d->active;
		if (p->received == p->rx_mark) {
			++d->silent;
			d->silent_port = p->port;
		}
		p->rx_mark = p->received;
		if (jit && d->njitter < room)
			jit[d->njitter++] = p->jitter / 1e6;
	}
}

static void snapshot_serve(struct lg_rtp *r, size_t n)
{
	unsigned req = atomic_load(&r->snap_req);

	if (req == r->snap_done) /* only the worker writes snap_done */
		return;

	pthread_mutex_lock(&r->lock);
	if (r->snap_dst) /* NULL: the asker gave up */
		snapshot_fill(r, r->snap_dst, n);
	r->snap_done = req;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static void frame(struct lg_rtp *r)
{
	size_t n = atomic_load_explicit(&r->nslots, memory_order_acquire);
	bool sample = r->tot.ticks % CHECK_EVERY == 0;
	size_t share = (size_t)(r->tot.ticks / CHECK_EVERY) % CHECK_SHARE;
	struct party *p;

	for (size_t i = 0; i < n; i++) {
		p = party_active(r, i);
		if (p)
			party_send(r, p);
	}

	for (size_t i = 0; i < n; i++) {
		p = party_active(r, i);
		if (!p)
			continue;
		if (sample && i % CHECK_SHARE == share)
			p->check = true;
		party_drain(r, p);
	}

	++r->tot.ticks;
	snapshot_serve(r, n);
}

static void sleep_until(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000),
			      .tv_nsec = (long)(ns % 1000000000)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

static void *worker_main(void *arg)
{
	struct lg_rtp *r = arg;
	uint64_t next = lg_now_ns();

	while (!atomic_load(&r->stop)) {
		uint64_t now;

		sleep_until(next);
		now = lg_now_ns();
		if (now > next + LATE_NS)
			++r->tot.late;
		if (now > next + RESYNC_NS)
			next = now;

		frame(r);
		next += LG_PTIME * 1000000ull;
	}

	return NULL;
}

/* --- set-up --- */

static void rtp_destructor(void *arg)
{
	struct lg_rtp *r = arg;

	if (r->running) {
		atomic_store(&r->stop, true);
		pthread_join(r->thread, NULL);
	}

	for (size_t i = 0; i < r->nopen; i++)
		(void)close(r->pv[i].fd);

	mem_deref(r->pv);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
}

static void tones_encode(struct lg_rtp *r)
{
	int16_t pcm[LG_FRAME];

	for (unsigned k = 0; k < LG_CONF_SIZE; k++) {
		for (size_t i = 0; i < LG_FRAME; i++)
			pcm[i] = (int16_t)lrint(
				LEVEL *
				sin(2 * M_PI * TONE_HZ[k] * (double)i / RATE));
		codec_encode(CODEC_PCMU, pcm, r->tone[k], LG_FRAME);
	}
}

static void rx_buffers_init(struct lg_rtp *r)
{
	for (size_t k = 0; k < RX_BATCH; k++) {
		r->iov[k].iov_base = r->buf[k];
		r->iov[k].iov_len = sizeof(r->buf[k]);
		r->mm[k].msg_hdr.msg_iov = &r->iov[k];
		r->mm[k].msg_hdr.msg_iovlen = 1;
		r->mm[k].msg_hdr.msg_control = r->ctl[k];
	}
}

/* The worker takes no signal: they are the main thread's */
static int worker_start(struct lg_rtp *r)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&r->thread, NULL, worker_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	r->running = !err;
	return err;
}

/**
 * The RTP worker, started at once with no party
 *
 * @param cap Most parties there will be
 */
int lg_rtp_alloc(struct lg_rtp **rp, size_t cap)
{
	struct lg_rtp *r = mem_zalloc(sizeof(*r), rtp_destructor);
	int err;

	if (!r)
		return ENOMEM;

	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->cap = cap;
	r->port_next = LG_PARTY_MIN;
	r->pv = mem_zalloc(cap * sizeof(*r->pv), NULL);
	tones_encode(r);
	rx_buffers_init(r);
	err = r->pv ? worker_start(r) : ENOMEM;
	if (err)
		mem_deref(r);
	else
		*rp = r;

	return err;
}

static int udp_bind(uint16_t port, int *fdp)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int on = 1;

	if (fd < 0)
		return errno;

	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		int err = errno;

		(void)close(fd);
		return err;
	}

	*fdp = fd;
	return 0;
}

/**
 * A new party's socket, on the next free port of LG_PARTY_MIN..MAX (a
 * port in use by someone else is skipped); main thread only
 *
 * @param tone  0..3: which tone it sends
 * @param portp Its port, for the SDP
 * @param idxp  Its index, for lg_rtp_party_start
 *
 * @return 0, ENOSPC (no port or no room left), or an errno value
 */
int lg_rtp_party_open(struct lg_rtp *r, unsigned tone, uint16_t *portp,
		      size_t *idxp)
{
	struct party *p;
	int err = ENOSPC;
	int fd = -1;

	if (r->nopen >= r->cap || tone >= LG_CONF_SIZE)
		return ENOSPC;

	while (r->port_next && r->port_next <= LG_PARTY_MAX) {
		uint16_t port = r->port_next++;

		err = udp_bind(port, &fd);
		if (err != EADDRINUSE)
			break;
	}
	if (err)
		return err;

	p = &r->pv[r->nopen];
	p->fd = fd;
	p->port = (uint16_t)(r->port_next - 1);
	p->tone = (uint8_t)tone;
	p->ssrc = rand_u32();
	p->seq = rand_u16();
	p->ts = rand_u32();
	*portp = p->port;
	*idxp = r->nopen++;
	return 0;
}

/** The server's port for the party is known: it starts sending */
int lg_rtp_party_start(struct lg_rtp *r, size_t idx, const struct sa *remote)
{
	struct party *p;

	if (idx >= r->nopen || !remote || remote->u.sa.sa_family != AF_INET)
		return EINVAL;

	p = &r->pv[idx];
	if (atomic_load(&p->active))
		return EALREADY;
	if (connect(p->fd, &remote->u.sa, remote->len))
		return errno;

	atomic_store_explicit(&p->active, true, memory_order_release);
	atomic_store_explicit(&r->nslots, r->nopen, memory_order_release);
	return 0;
}

/**
 * The worker's figures at its next frame boundary (any thread but the
 * worker); st->jitter/njitter: room for each party's J, or NULL/0
 *
 * @return 0 or ETIMEDOUT (the worker is stuck)
 */
int lg_rtp_snapshot(struct lg_rtp *r, struct lg_rtp_stats *st)
{
	struct timespec until;
	unsigned req;
	bool done;
	int err = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += SNAP_WAIT_S;

	pthread_mutex_lock(&r->lock);
	r->snap_dst = st;
	req = atomic_fetch_add(&r->snap_req, 1) + 1;
	while (!err && r->snap_done != req)
		err = pthread_cond_timedwait(&r->cond, &r->lock, &until);
	r->snap_dst = NULL;
	done = r->snap_done == req;
	pthread_mutex_unlock(&r->lock);

	return done ? 0 : ETIMEDOUT;
}
