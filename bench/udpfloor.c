/**
 * @file udpfloor.c  What the kernel charges for one RTP packet on loopback
 *
 * The media engine's own work per party and frame is about a microsecond
 * (bench/mixcost, "compute only"); the rest is the kernel's UDP path, which
 * no code of ours can make cheaper, only call less often. This benchmark
 * measures that floor on the machine at hand, so that a capacity target can
 * be checked against what the machine can do at all before the engine is
 * blamed: per packet, with N sockets as the engine has them (one per leg),
 * each way the engine could send and receive.
 *
 * Every figure is elapsed time per packet (CLOCK_MONOTONIC; the benchmark
 * runs alone on a core), median of the rounds. Not the process's CPU time:
 * on loopback the sender's system call also delivers the packet into the
 * receiving socket (a softirq run in the sender's context), and a kernel
 * with IRQ time accounting charges that to nobody, although the core is
 * busy with it. So "send" includes what a NIC would do on another CPU.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum {
	PKT = 172,   /* 12 bytes of RTP header and 160 of PCMU */
	BATCH = 64,  /* messages per sendmmsg / recvmmsg */
	ENGINE = 16, /* the engine's recvmmsg batch (MEDIA_BATCH) */
	ROUNDS_MAX = 1000,
};

struct pair {
	int rx, tx;
	struct sockaddr_in to;
};

static struct pair *pairs;
static int npairs;
static uint8_t pkt[PKT];

static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int udp_bound(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)sin, sizeof(*sin)) ||
	    getsockname(fd, (struct sockaddr *)sin, &len)) {
		perror("udpfloor: socket");
		exit(1);
	}

	return fd;
}

static void open_pairs(int n)
{
	struct rlimit rl = {.rlim_cur = 4096 + 2 * (rlim_t)n,
			    .rlim_max = 4096 + 2 * (rlim_t)n};
	struct sockaddr_in self;

	if (setrlimit(RLIMIT_NOFILE, &rl))
		perror("udpfloor: RLIMIT_NOFILE (fewer sockets may open)");

	pairs = calloc((size_t)n, sizeof(*pairs));
	if (!pairs)
		exit(1);
	for (int i = 0; i < n; i++) {
		pairs[i].rx = udp_bound(&pairs[i].to);
		pairs[i].tx = udp_bound(&self);
	}
	npairs = n;
}

/* Each receiving socket gets one packet (not timed) */
static void fill(void)
{
	for (int i = 0; i < npairs; i++)
		(void)sendto(pairs[i].tx, pkt, PKT, 0,
			     (struct sockaddr *)&pairs[i].to,
			     sizeof(pairs[i].to));
}

static void drain_all(void)
{
	uint8_t b[2048];

	for (int i = 0; i < npairs; i++)
		while (recv(pairs[i].rx, b, sizeof(b), MSG_DONTWAIT) > 0)
			;
}

typedef double(measure_h)(void);

/* --- the ways to send --- */

static double m_sendto(void)
{
	double t0 = cpu_ns();

	for (int i = 0; i < npairs; i++)
		(void)sendto(pairs[i].tx, pkt, PKT, 0,
			     (struct sockaddr *)&pairs[i].to,
			     sizeof(pairs[i].to));
	t0 = cpu_ns() - t0;
	drain_all();
	return t0 / npairs;
}

static double m_send_connected(void)
{
	double t0;

	for (int i = 0; i < npairs; i++)
		(void)connect(pairs[i].tx, (struct sockaddr *)&pairs[i].to,
			      sizeof(pairs[i].to));
	t0 = cpu_ns();
	for (int i = 0; i < npairs; i++)
		(void)send(pairs[i].tx, pkt, PKT, 0);
	t0 = cpu_ns() - t0;
	for (int i = 0; i < npairs; i++) {
		struct sockaddr sa = {.sa_family = AF_UNSPEC};

		(void)connect(pairs[i].tx, &sa, sizeof(sa));
	}
	drain_all();
	return t0 / npairs;
}

/* One socket to every destination: what a socket shared by all legs of
 * a worker would allow */
static double m_sendmmsg(void)
{
	struct mmsghdr mm[BATCH];
	struct iovec iov = {.iov_base = pkt, .iov_len = PKT};
	double t0 = cpu_ns();

	for (int i = 0; i < npairs; i += BATCH) {
		int n = npairs - i < BATCH ? npairs - i : BATCH;

		for (int j = 0; j < n; j++) {
			memset(&mm[j], 0, sizeof(mm[j]));
			mm[j].msg_hdr.msg_iov = &iov;
			mm[j].msg_hdr.msg_iovlen = 1;
			mm[j].msg_hdr.msg_name = &pairs[i + j].to;
			mm[j].msg_hdr.msg_namelen = sizeof(pairs[0].to);
		}
		(void)sendmmsg(pairs[0].tx, mm, (unsigned)n, 0);
	}
	t0 = cpu_ns() - t0;
	drain_all();
	return t0 / npairs;
}

/* --- the ways to receive --- */

static int recv_batch(int fd, unsigned batch)
{
	static uint8_t bufs[BATCH][2048];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in from[BATCH];

	for (unsigned j = 0; j < batch; j++) {
		iov[j].iov_base = bufs[j];
		iov[j].iov_len = sizeof(bufs[j]);
		memset(&mm[j], 0, sizeof(mm[j]));
		mm[j].msg_hdr.msg_iov = &iov[j];
		mm[j].msg_hdr.msg_iovlen = 1;
		mm[j].msg_hdr.msg_name = &from[j];
		mm[j].msg_hdr.msg_namelen = sizeof(from[j]);
	}

	return recvmmsg(fd, mm, batch, MSG_DONTWAIT, NULL);
}

/* One packet waiting in each socket, read as the engine does */
static double m_recvmmsg_one(void)
{
	double t0;

	fill();
	t0 = cpu_ns();
	for (int i = 0; i < npairs; i++)
		(void)recv_batch(pairs[i].rx, ENGINE);
	return (cpu_ns() - t0) / npairs;
}

static double m_recv_one(void)
{
	uint8_t b[2048];
	double t0;

	fill();
	t0 = cpu_ns();
	for (int i = 0; i < npairs; i++)
		(void)recv(pairs[i].rx, b, sizeof(b), MSG_DONTWAIT);
	return (cpu_ns() - t0) / npairs;
}

static double m_recv_empty(void)
{
	double t0 = cpu_ns();

	for (int i = 0; i < npairs; i++)
		(void)recv_batch(pairs[i].rx, ENGINE);
	return (cpu_ns() - t0) / npairs;
}

/* Packets of every leg in one socket, BATCH per call: a shared socket's
 * reading (fed 128 at a time, which its receive buffer holds) */
static double m_recvmmsg_shared(void)
{
	double t = 0;
	int got = 0;

	for (int i = 0; i < npairs; i += 128) {
		double t0;

		for (int j = i; j < npairs && j < i + 128; j++)
			(void)sendto(pairs[j].tx, pkt, PKT, 0,
				     (struct sockaddr *)&pairs[0].to,
				     sizeof(pairs[0].to));
		t0 = cpu_ns();
		for (int n; (n = recv_batch(pairs[0].rx, BATCH)) > 0;)
			got += n;
		t += cpu_ns() - t0;
	}

	return got ? t / got : 0;
}

static double m_syscall(void)
{
	double t0 = cpu_ns();

	for (int i = 0; i < npairs; i++)
		(void)syscall(SYS_getppid);
	return (cpu_ns() - t0) / npairs;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(measure_h *m, int rounds)
{
	static double v[ROUNDS_MAX];

	(void)m(); /* warm-up */
	for (int r = 0; r < rounds; r++)
		v[r] = m();
	qsort(v, (size_t)rounds, sizeof(v[0]), cmp);
	return v[rounds / 2];
}

int main(int argc, char *argv[])
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	int rounds = argc > 2 ? atoi(argv[2]) : 50;
	double send, recv1, one_core, two_cores;
	struct {
		const char *what;
		measure_h *m;
		double ns;
	} t[] = {
		{"sendto, one socket per leg (sipserver today)", m_sendto, 0},
		{"send on a connected socket, one per leg", m_send_connected,
		 0},
		{"sendmmsg from one shared socket, 64 per call", m_sendmmsg, 0},
		{"recvmmsg (batch 16) of the one packet in each socket "
		 "(sipserver today)",
		 m_recvmmsg_one, 0},
		{"recv of the one packet in each socket", m_recv_one, 0},
		{"recvmmsg on an empty socket (EAGAIN)", m_recv_empty, 0},
		{"recvmmsg from one shared socket, 64 per call",
		 m_recvmmsg_shared, 0},
		{"a system call that does nothing (getppid)", m_syscall, 0},
	};

	if (n < BATCH || n > 20000 || rounds < 1 || rounds > ROUNDS_MAX) {
		fprintf(stderr, "usage: udpfloor [sockets 64..20000 [rounds "
				"1..1000]]\n");
		return 2;
	}
	open_pairs(n);
	memset(pkt, 0xff, sizeof(pkt));
	pkt[0] = 0x80;

	printf("%d socket pairs on 127.0.0.1, %d-byte packets, median of %d "
	       "rounds; elapsed time per packet\n\n",
	       n, PKT, rounds);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		t[i].ns = median(t[i].m, rounds);
		printf("%8.0f ns  %s\n", t[i].ns, t[i].what);
	}

	/* a party costs one packet out and one in per 20 ms frame */
	send = t[0].ns;
	recv1 = t[3].ns;
	one_core = 20e6 / (send + recv1);
	two_cores = 2 * 20e6 / (2 * (send + recv1));
	printf("\nfloor per party and frame, the way sipserver does it (sendto "
	       "+ recvmmsg per leg): %.1f us\n",
	       (send + recv1) / 1000);
	printf("  one core doing nothing else could carry at most %.0f "
	       "parties\n",
	       one_core);
	printf("  two cores, with a load generator on loopback paying the "
	       "same per packet: at most %.0f parties\n",
	       two_cores);
	printf("with one shared socket per worker (sendmmsg + recvmmsg of 64): "
	       "%.1f us per party and frame, at most %.0f parties per core\n",
	       (t[2].ns + t[6].ns) / 1000, 20e6 / (t[2].ns + t[6].ns));

	for (int i = 0; i < npairs; i++) {
		close(pairs[i].rx);
		close(pairs[i].tx);
	}
	free(pairs);
	return 0;
}
