/**
 * @file test_worker.c  A media worker's frames, without its thread
 *
 * The frame path is driven by hand (worker_frame) on legs whose sockets
 * are bound to no port: each leg's playout buffer is fed a constant of its
 * own, so what a leg hears names the call it is in. One leg sends to a
 * socket of the test's own (an ephemeral port on 127.0.0.1), so the RTP
 * its phone would get is read back and checked across a move. This is where moving a leg between calls
 * is checked on the worker side: from which frame it takes effect, that
 * the playout buffer and the RTP stream run on, and that a call's mix goes
 * with its last leg. The engine's reports (media_post) are counted here
 * instead of going to a control thread, which also keeps engine.c, its
 * threads and its sockets out of this test. The RTP source rule's
 * latching is checked here too, with a real socket as the phone: latched
 * from another host after three packets in sequence within the learning
 * window, and never from the SDP's own host, out of sequence, or late.
 * So is loss by sequence number.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <re.h>
#include "media/codec.h"
#include "media/jb.h"
#include "media/mix.h"
#include "media/media.h"
#include "media/priv.h"

enum {
	CALL_1 = 1001,
	CALL_2 = 1002,
	PREROLL = MEDIA_JB_DELAY / MEDIA_PTIME + 1, /* frames to first audio */
};

static unsigned closed, unrefs;

/* The engine's side of the reports, for this test only */
void media_post(struct media *m, enum msg_type type, uint32_t id, uint16_t port,
		struct player *music)
{
	(void)m;
	(void)id;
	(void)port;
	(void)music;

	if (type == MSG_CLOSED)
		++closed;
	else if (type == MSG_UNREF)
		++unrefs;
}

uint64_t media_now(void)
{
	return 0;
}

/* A leg as media_leg_alloc makes it, minus the sockets, with a fixed
 * voice and its own RTP timestamps for what its phone "sends" */
struct tleg {
	struct wleg *wl;
	int16_t voice;
	uint32_t rx_ts;
};

static struct worker *worker_new(void)
{
	struct worker *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	assert_int_equal(0, worker_init(w));
	list_init(&w->mixl);
	list_init(&w->legl);
	closed = unrefs = 0;
	return w;
}

static void worker_del(struct worker *w)
{
	worker_free_all(w);
	worker_fini(w);
	free(w);
}

static struct cmd *push(struct worker *w, enum cmd_type type, struct wleg *wl)
{
	struct cmd *cmd = calloc(1, sizeof(*cmd));

	assert_non_null(cmd);
	cmd->type = type;
	cmd->leg = wl;
	worker_push(w, cmd);
	return cmd;
}

static void leg_join(struct worker *w, struct tleg *t, uint64_t connid,
		     uint32_t id, int16_t voice)
{
	struct wleg *wl = calloc(1, sizeof(*wl));
	struct cmd *cmd;

	assert_non_null(wl);
	assert_int_equal(0, jb_alloc(&wl->jb, MEDIA_JB_DELAY));
	/* unbound: nothing arrives, sending binds an ephemeral port */
	wl->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	wl->fd_rtcp = -1;
	assert_true(wl->fd >= 0);
	wl->id = id;
	wl->connid = connid;
	wl->ssrc = 0x1000 + id;
	wl->seq = (uint16_t)(100 * id);
	wl->ts = 5000 * id;

	t->wl = wl;
	t->voice = voice;
	t->rx_ts = 77777 * id;

	push(w, CMD_ADD, wl);
	cmd = push(w, CMD_MODE, wl);
	cmd->talk = cmd->listen = true;
	cmd->src = MEDIA_SRC_MIX;
}

static void move(struct worker *w, struct tleg *t, uint64_t connid)
{
	push(w, CMD_MOVE, t->wl)->connid = connid;
}

/* One frame: every phone's packet has arrived, then the worker runs */
static void tick(struct worker *w, struct tleg *tv, size_t n)
{
	int16_t pcm[MIX_FRAME];

	for (size_t k = 0; k < n; k++) {
		if (!tv[k].wl)
			continue;
		for (size_t i = 0; i < MIX_FRAME; i++)
			pcm[i] = tv[k].voice;
		jb_put(tv[k].wl->jb, tv[k].rx_ts, pcm, MIX_FRAME, false);
		tv[k].rx_ts += MIX_FRAME;
	}

	worker_frame(w, 0);
}

/* The test's phone: a socket on an ephemeral port the leg sends to */
static int phone_open(struct worker *w, const struct tleg *t)
{
	struct media_remote r = {
		.codec = CODEC_PCMU, .dtmf_pt = -1, .send = true};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	socklen_t len = sizeof(r.addr.u);

	assert_true(fd >= 0);
	assert_int_equal(0, sa_set_str(&r.addr, "127.0.0.1", 0));
	assert_int_equal(0, bind(fd, &r.addr.u.sa, r.addr.len));
	assert_int_equal(0, getsockname(fd, &r.addr.u.sa, &len));
	push(w, CMD_REMOTE, t->wl)->remote = r;
	return fd;
}

struct rtp {
	bool marker;
	uint16_t seq;
	uint32_t ts, ssrc;
	uint8_t payload[MIX_FRAME];
};

/* The one packet of the last frame (loopback delivers at once) */
static void phone_recv(int fd, struct rtp *p)
{
	uint8_t b[12 + MIX_FRAME];

	assert_int_equal(sizeof(b), recv(fd, b, sizeof(b), MSG_DONTWAIT));
	assert_true(recv(fd, b, sizeof(b), MSG_DONTWAIT) < 0);
	assert_int_equal(0x80, b[0]);
	assert_int_equal(CODEC_PCMU, b[1] & 0x7f);
	p->marker = b[1] & 0x80;
	p->seq = (uint16_t)(b[2] << 8 | b[3]);
	p->ts = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 |
		(uint32_t)b[6] << 8 | b[7];
	p->ssrc = (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 |
		  (uint32_t)b[10] << 8 | b[11];
	memcpy(p->payload, b + 12, MIX_FRAME);
}

/* What a phone gets for a mix of this constant */
static void expect_payload(const struct rtp *p, int16_t v)
{
	int16_t pcm[MIX_FRAME];
	uint8_t enc[MIX_FRAME];

	for (size_t i = 0; i < MIX_FRAME; i++)
		pcm[i] = v;
	codec_encode(CODEC_PCMU, pcm, enc, MIX_FRAME);
	assert_memory_equal(enc, p->payload, MIX_FRAME);
}

static void hears(const struct tleg *t, int16_t want)
{
	for (size_t i = 0; i < MIX_FRAME; i++)
		assert_int_equal(want, t->wl->mp.out[i]);
}

/* a and b talk in call 1, c alone in call 2; a moves to call 2 */
static void test_move(void **state)
{
	struct worker *w = worker_new();
	struct tleg tv[3];
	struct tleg *a = &tv[0], *b = &tv[1], *c = &tv[2];
	struct rtp before, after;
	struct jb *jb;
	int phone, fd;

	(void)state;

	leg_join(w, a, CALL_1, 1, 100);
	leg_join(w, b, CALL_1, 2, 200);
	leg_join(w, c, CALL_2, 3, 400);
	phone = phone_open(w, a);
	for (int f = 0; f < PREROLL; f++) {
		tick(w, tv, 3);
		phone_recv(phone, &before);
	}
	hears(a, 200);
	hears(b, 100);
	hears(c, 0);
	expect_payload(&before, 200);
	assert_int_equal(2, atomic_load(&w->nmixes));

	jb = a->wl->jb;
	fd = a->wl->fd;

	/* queued, not applied: this frame is still the old call's */
	move(w, a, CALL_2);
	assert_int_equal(CALL_1, a->wl->connid);
	assert_int_equal(CALL_1, a->wl->mix->connid);

	/* the next frame is wholly the new call's, and a's own audio
	 * reaches c at once: its playout buffer ran on, no new pre-roll */
	tick(w, tv, 3);
	assert_int_equal(CALL_2, a->wl->connid);
	assert_int_equal(CALL_2, a->wl->mix->connid);
	assert_ptr_equal(c->wl->mix, a->wl->mix);
	hears(a, 400);
	hears(c, 100);
	hears(b, 0);
	assert_true(jb == a->wl->jb);
	assert_int_equal(0, jb_stats(jb)->resyncs);
	assert_int_equal(PREROLL - 1, jb_stats(jb)->empty); /* the first only */

	/* the phone sees one stream: same socket and SSRC, the next
	 * sequence number and timestamp, no marker; the new call's audio */
	phone_recv(phone, &after);
	assert_int_equal(fd, a->wl->fd);
	assert_int_equal(before.ssrc, after.ssrc);
	assert_int_equal((uint16_t)(before.seq + 1), after.seq);
	assert_int_equal(before.ts + MIX_FRAME, after.ts);
	assert_false(after.marker);
	expect_payload(&after, 400);
	assert_int_equal(0, closed);

	/* its mode too */
	assert_true(a->wl->mp.talk && a->wl->mp.listen);
	assert_int_equal(MEDIA_SRC_MIX, a->wl->src);

	assert_int_equal(2, atomic_load(&w->nmixes));
	assert_int_equal(3, atomic_load(&w->nlegs));

	worker_del(w);
	assert_int_equal(3, closed);
	close(phone);
}

/* A call's mix goes with its last leg, by move as by removal; moving
 * back makes it afresh; a move to the same call changes nothing */
static void test_move_last_leg(void **state)
{
	struct worker *w = worker_new();
	struct tleg tv[2];
	struct tleg *a = &tv[0], *b = &tv[1];

	(void)state;

	leg_join(w, a, CALL_1, 1, 100);
	leg_join(w, b, CALL_2, 2, 200);
	tick(w, tv, 2);
	assert_int_equal(2, atomic_load(&w->nmixes));

	move(w, a, CALL_2);
	tick(w, tv, 2);
	assert_int_equal(1, atomic_load(&w->nmixes));
	assert_int_equal(1, list_count(&w->mixl));
	assert_int_equal(2, list_count(&b->wl->mix->mix.partyl));

	move(w, a, CALL_2);
	tick(w, tv, 2);
	assert_int_equal(1, atomic_load(&w->nmixes));
	assert_int_equal(2, list_count(&b->wl->mix->mix.partyl));

	/* there and back within one frame: ends where it started */
	move(w, a, CALL_1);
	move(w, a, CALL_2);
	tick(w, tv, 2);
	assert_int_equal(1, atomic_load(&w->nmixes));
	assert_int_equal(CALL_2, a->wl->mix->connid);

	move(w, a, CALL_1);
	for (int f = 0; f < PREROLL; f++)
		tick(w, tv, 2);
	assert_int_equal(2, atomic_load(&w->nmixes));
	assert_int_equal(CALL_1, a->wl->mix->connid);
	hears(a, 0);
	hears(b, 0);

	/* moved, then removed in the same frame: its mix goes */
	move(w, a, CALL_2);
	push(w, CMD_REMOVE, a->wl);
	a->wl = NULL;
	tick(w, tv, 2);
	assert_int_equal(1, atomic_load(&w->nmixes));
	assert_int_equal(1, atomic_load(&w->nlegs));
	assert_int_equal(1, list_count(&b->wl->mix->mix.partyl));
	assert_int_equal(1, closed);

	worker_del(w);
	assert_int_equal(2, closed);
}

/* On music, a moved leg keeps its player and its place in it, and stays
 * out of the new call's sum */
static void test_move_music(void **state)
{
	static int fake; /* never read: the leg has no remote to send to */
	struct player *music = (struct player *)(void *)&fake;
	struct worker *w = worker_new();
	struct tleg tv[2];
	struct tleg *a = &tv[0], *c = &tv[1];
	struct cmd *cmd;

	(void)state;

	leg_join(w, a, CALL_1, 1, 100);
	leg_join(w, c, CALL_2, 2, 400);
	cmd = push(w, CMD_MODE, a->wl);
	cmd->talk = true;
	cmd->src = MEDIA_SRC_MUSIC;
	cmd->music = music;
	tick(w, tv, 2);
	a->wl->music_pos = 1234;

	move(w, a, CALL_2);
	for (int f = 0; f < PREROLL; f++)
		tick(w, tv, 2);
	assert_int_equal(CALL_2, a->wl->mix->connid);
	assert_ptr_equal(music, a->wl->music);
	assert_int_equal(1234, a->wl->music_pos);
	assert_int_equal(MEDIA_SRC_MUSIC, a->wl->src);
	assert_int_equal(MIX_SRC_MUSIC, a->wl->mp.source);
	hears(c, 0);
	assert_int_equal(0, unrefs);

	worker_del(w);
	assert_int_equal(1, unrefs);
	assert_int_equal(2, closed);
}

/* --- RTP latching (rtp.c): a stream from another host than its SDP --- */

/* A leg whose socket is bound, so a test phone can send to it */
static struct sa leg_bind(struct tleg *t)
{
	struct sa a;
	socklen_t len = sizeof(a.u);

	assert_int_equal(0, sa_set_str(&a, "127.0.0.1", 0));
	assert_int_equal(0, bind(t->wl->fd, &a.u.sa, a.len));
	assert_int_equal(0, getsockname(t->wl->fd, &a.u.sa, &len));
	a.len = len;
	return a;
}

/* The test's phone on 127.0.0.1; the SDP says `sdp_host`, its port plus
 * `skew` */
static int latch_setup(struct worker *w, struct tleg *t, const char *sdp_host,
		       uint16_t skew, struct sa *legp)
{
	struct media_remote r = {
		.codec = CODEC_PCMU, .dtmf_pt = -1, .send = true};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sa a;
	socklen_t len = sizeof(a.u);

	assert_true(fd >= 0);
	leg_join(w, t, CALL_1, 1, 100);
	*legp = leg_bind(t);
	assert_int_equal(0, sa_set_str(&a, "127.0.0.1", 0));
	assert_int_equal(0, bind(fd, &a.u.sa, a.len));
	assert_int_equal(0, getsockname(fd, &a.u.sa, &len));
	assert_int_equal(0, sa_set_str(&r.addr, sdp_host,
				       (uint16_t)(sa_port(&a) + skew)));
	push(w, CMD_REMOTE, t->wl)->remote = r;
	worker_frame(w, 0); /* the SDP is set at 0 ms: learning till 2000 */
	return fd;
}

static void phone_send(int fd, const struct sa *to, uint16_t seq)
{
	uint8_t b[12 + MIX_FRAME] = {0x80, CODEC_PCMU};

	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	memset(b + 12, 0xff, MIX_FRAME);
	assert_int_equal(sizeof(b),
			 sendto(fd, b, sizeof(b), 0, &to->u.sa, to->len));
}

static size_t drain(int fd)
{
	uint8_t b[512];
	size_t n = 0;

	while (recv(fd, b, sizeof(b), MSG_DONTWAIT) > 0)
		++n;
	return n;
}

static void test_latch_other_host(void **state)
{
	struct worker *w = worker_new();
	struct tleg t = {0};
	struct sa leg;
	int fd;

	(void)state;
	/* SDP 127.0.0.2 (behind NAT, say), packets from 127.0.0.1 */
	fd = latch_setup(w, &t, "127.0.0.2", 0, &leg);
	for (uint16_t seq = 7; seq < 10; seq++)
		phone_send(fd, &leg, seq);
	worker_frame(w, 40);
	/* two on probation, the third latched and taken */
	assert_int_equal(2, atomic_load(&w->rx_foreign));
	assert_int_equal(1, atomic_load(&w->rx));
	/* and the leg now sends where the stream comes from */
	(void)drain(fd);
	worker_frame(w, 60);
	assert_int_equal(1, drain(fd));

	close(fd);
	worker_del(w);
}

static void test_latch_refused(void **state)
{
	struct worker *w = worker_new();
	struct tleg t = {0};
	struct sa leg;
	int fd;

	(void)state;
	/* the SDP's own host on another port: never a NAT, never latched */
	fd = latch_setup(w, &t, "127.0.0.1", 1, &leg);
	for (uint16_t seq = 7; seq < 12; seq++)
		phone_send(fd, &leg, seq);
	worker_frame(w, 40);
	assert_int_equal(5, atomic_load(&w->rx_foreign));
	close(fd);
	worker_del(w);

	/* after the learning window: nothing is latched */
	w = worker_new();
	memset(&t, 0, sizeof(t));
	fd = latch_setup(w, &t, "127.0.0.2", 0, &leg);
	for (uint16_t seq = 7; seq < 12; seq++)
		phone_send(fd, &leg, seq);
	worker_frame(w, 2000);
	assert_int_equal(5, atomic_load(&w->rx_foreign));
	close(fd);
	worker_del(w);

	/* out of sequence: no three in a row, nothing latched */
	w = worker_new();
	memset(&t, 0, sizeof(t));
	fd = latch_setup(w, &t, "127.0.0.2", 0, &leg);
	phone_send(fd, &leg, 7);
	phone_send(fd, &leg, 9);
	phone_send(fd, &leg, 11);
	worker_frame(w, 40);
	assert_int_equal(3, atomic_load(&w->rx_foreign));
	close(fd);
	worker_del(w);
}

/* --- RTP loss by sequence number (rtp.c) --- */

/* from..to (wrapping) but skip (-1: none); a frame reads every 16, so
 * that the leg's socket buffer never overflows */
static void send_seqs(struct worker *w, int fd, const struct sa *leg,
		      uint16_t from, uint16_t to, int skip)
{
	unsigned n = 0;

	for (uint16_t seq = from; seq != (uint16_t)(to + 1); seq++) {
		if (seq != skip)
			phone_send(fd, leg, seq);
		if (++n % 16 == 0)
			worker_frame(w, 20);
	}
	worker_frame(w, 20);
}

/* A number is lost once it is 64 behind the highest without having come:
 * reordering within that is not loss, a restarted sender is not either */
static void test_rtp_loss(void **state)
{
	struct worker *w = worker_new();
	struct tleg t = {0};
	struct sa leg;
	int fd;

	(void)state;
	fd = latch_setup(w, &t, "127.0.0.1", 0, &leg);
	/* 1..3, 5, 4 (reordered), 7..69: 6 is missing, not yet out */
	send_seqs(w, fd, &leg, 1, 3, -1);
	phone_send(fd, &leg, 5);
	phone_send(fd, &leg, 4);
	send_seqs(w, fd, &leg, 7, 69, -1);
	assert_int_equal(68, atomic_load(&w->rx));
	assert_int_equal(0, atomic_load(&w->rx_lost));
	/* 70 pushes 6 out of the window: lost, once */
	send_seqs(w, fd, &leg, 70, 75, -1);
	assert_int_equal(1, atomic_load(&w->rx_lost));
	/* wrapping past 65535 is not loss; 65530 is, once out */
	send_seqs(w, fd, &leg, 76, 65535, 65530);
	send_seqs(w, fd, &leg, 0, 70, -1);
	assert_int_equal(2, atomic_load(&w->rx_lost));
	/* a jump of thousands: a restarted sender, a new count */
	send_seqs(w, fd, &leg, 20000, 20100, -1);
	assert_int_equal(2, atomic_load(&w->rx_lost));
	close(fd);
	worker_del(w);
}

/* --- a switch to music or silence is heard at once (worker.c) --- */

static void set_mode(struct worker *w, struct tleg *t, enum media_source src)
{
	struct cmd *cmd = push(w, CMD_MODE, t->wl);

	cmd->talk = cmd->listen = src == MEDIA_SRC_MIX;
	cmd->src = src;
}

static bool phone_quiet(int fd)
{
	uint8_t b[12 + MIX_FRAME];

	return recv(fd, b, sizeof(b), MSG_DONTWAIT) < 0;
}

/* Between frames, a leg switched to silence gets its next packet at once
 * and none at its place in the next frame; the stream stays one stream.
 * A switch back to the call waits for the next frame's sum. */
static void test_send_ahead(void **state)
{
	struct worker *w = worker_new();
	struct tleg tv[2];
	struct tleg *a = &tv[0], *b = &tv[1];
	struct rtp last, early, next;
	int phone;

	(void)state;

	leg_join(w, a, CALL_1, 1, 100);
	leg_join(w, b, CALL_1, 2, 200);
	phone = phone_open(w, a);
	for (int f = 0; f < PREROLL; f++) {
		tick(w, tv, 2);
		phone_recv(phone, &last);
	}
	expect_payload(&last, 200);

	/* nothing queued: the idle worker sends nothing */
	worker_idle(w);
	assert_true(phone_quiet(phone));

	set_mode(w, a, MEDIA_SRC_SILENCE);
	worker_idle(w);
	phone_recv(phone, &early);
	assert_int_equal(last.ssrc, early.ssrc);
	assert_int_equal((uint16_t)(last.seq + 1), early.seq);
	assert_int_equal(last.ts + MIX_FRAME, early.ts);
	expect_payload(&early, 0);
	assert_int_equal(0, atomic_load(&w->pending));

	/* that was this frame's packet: none now, then one per frame */
	tick(w, tv, 2);
	assert_true(phone_quiet(phone));
	tick(w, tv, 2);
	phone_recv(phone, &next);
	assert_int_equal((uint16_t)(early.seq + 1), next.seq);
	assert_int_equal(early.ts + MIX_FRAME, next.ts);
	expect_payload(&next, 0);

	/* back to the call: not ahead, the next frame brings the mix; till
	 * then what it hears is silence, not the sum from before it left */
	set_mode(w, a, MEDIA_SRC_MIX);
	worker_idle(w);
	assert_true(phone_quiet(phone));
	hears(a, 0);
	tick(w, tv, 2);
	phone_recv(phone, &last);
	assert_int_equal((uint16_t)(next.seq + 1), last.seq);
	expect_payload(&last, 200);

	worker_del(w);
	close(phone);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_move),
		cmocka_unit_test(test_move_last_leg),
		cmocka_unit_test(test_move_music),
		cmocka_unit_test(test_latch_other_host),
		cmocka_unit_test(test_latch_refused),
		cmocka_unit_test(test_send_ahead),
		cmocka_unit_test(test_rtp_loss),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
