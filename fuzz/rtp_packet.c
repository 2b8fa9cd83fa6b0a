/**
 * @file rtp_packet.c  Fuzz target: RTP packets into a media leg
 *
 * A worker's real frame path (worker_frame, as tests/unit/test_worker.c
 * drives it, with no thread and the engine's reports stubbed) on a call
 * of two legs. Leg a's socket is bound on loopback and its SDP names the
 * test's phone socket, so packets the phone sends reach rtp.c's receive
 * path exactly as from the network: recvmmsg, the source rule, header
 * decode (CSRCs, extensions, padding), sequence tracking, the playout
 * buffer, telephone-events relayed to leg b. A second socket on another
 * loopback host (127.0.0.2) is the stranger whose packets may be latched
 * as a NAT'd phone's, or must be dropped.
 *
 * Input: one byte of setup (a's codec, events on/off, rtp-timeout), then
 * packets, each a flags byte (bit 0: from the stranger; bits 1-2: frames
 * to run before it, each 20 ms later; bit 7: a 5 s gap first, past the
 * learning window and rtp-timeout), a 2-byte length and the bytes.
 * Everything a run makes (worker, legs, their sockets) goes at its end;
 * only the two senders' sockets live across runs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <re.h>
#include "media/codec.h"
#include "media/jb.h"
#include "media/mix.h"
#include "media/media.h"
#include "media/priv.h"

enum {
	CONNID = 1001,
	PT_EVENT = 101,
	MAX_PKTS = 64,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static int phone = -1, stranger = -1;
static struct sa phone_addr;

/* The engine's side of the reports: nothing to do without an engine */
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

static int udp_open(const char *host, struct sa *addr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sa a;
	socklen_t len = sizeof(a.u);

	if (fd < 0 || sa_set_str(&a, host, 0) || bind(fd, &a.u.sa, a.len) ||
	    getsockname(fd, &a.u.sa, &len))
		abort();
	a.len = len;
	if (addr)
		*addr = a;
	return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;

	phone = udp_open("127.0.0.1", &phone_addr);
	stranger = udp_open("127.0.0.2", NULL);
	return 0;
}

static void push(struct worker *w, enum cmd_type type, struct wleg *wl,
		 const struct media_remote *r)
{
	struct cmd *cmd = calloc(1, sizeof(*cmd));

	if (!cmd)
		abort();
	cmd->type = type;
	cmd->leg = wl;
	cmd->talk = cmd->listen = true;
	cmd->src = MEDIA_SRC_MIX;
	if (r)
		cmd->remote = *r;
	worker_push(w, cmd);
}

/* A leg as media_leg_alloc makes it, joined to the call with its SDP */
static struct wleg *leg_join(struct worker *w, uint32_t id, int fd,
			     const struct media_remote *r, uint32_t timeout)
{
	struct wleg *wl = calloc(1, sizeof(*wl));

	if (!wl || jb_alloc(&wl->jb, MEDIA_JB_DELAY))
		abort();
	wl->fd = fd;
	wl->fd_rtcp = -1;
	wl->id = id;
	wl->connid = CONNID;
	wl->ssrc = 0x1000 + id;
	wl->timeout_ms = timeout;

	push(w, CMD_ADD, wl, NULL);
	push(w, CMD_MODE, wl, NULL);
	push(w, CMD_REMOTE, wl, r);
	return wl;
}

static void drain(int fd)
{
	uint8_t buf[MEDIA_PKT_MAX];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct media_remote ra = {
		.addr = phone_addr, .send = true, .recv = true};
	struct media_remote rb = ra;
	struct worker *w;
	struct sa to;
	uint64_t now = 0;
	size_t pos = 1;
	int fd_a, fd_b;

	if (!size)
		return 0;

	w = calloc(1, sizeof(*w));
	if (!w || worker_init(w))
		abort();
	list_init(&w->mixl);
	list_init(&w->legl);

	ra.codec = data[0] & 1 ? CODEC_PCMA : CODEC_PCMU;
	ra.dtmf_pt = data[0] & 2 ? PT_EVENT : -1;
	rb.codec = CODEC_PCMU;
	rb.dtmf_pt = PT_EVENT;
	fd_a = udp_open("127.0.0.1", &to);
	fd_b = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd_b < 0)
		abort();
	(void)leg_join(w, 1, fd_a, &ra, data[0] & 4 ? 100 : 0);
	(void)leg_join(w, 2, fd_b, &rb, 0);
	worker_frame(w, now);

	for (int n = 0; n < MAX_PKTS && pos + 3 <= size; n++) {
		uint8_t flags = data[pos];
		size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];

		pos += 3;
		len = len < size - pos ? len : size - pos;
		if (flags & 0x80)
			now += 5000;
		for (int f = 0; f < ((flags >> 1) & 3); f++) {
			now += MEDIA_PTIME;
			worker_frame(w, now);
		}
		(void)sendto(flags & 1 ? stranger : phone, data + pos, len, 0,
			     &to.u.sa, to.len);
		pos += len;
	}

	worker_frame(w, now + MEDIA_PTIME);
	worker_free_all(w); /* closes the legs' sockets */
	worker_fini(w);
	free(w);
	drain(phone);
	return 0;
}
