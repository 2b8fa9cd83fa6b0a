/**
 * @file sockbuf.c  What libre leaves at its defaults on the SIP sockets:
 * the UDP socket's receive buffer and the TCP/TLS listen backlog
 *
 * Why this exists: libre opens the SIP UDP socket with the kernel's
 * default receive buffer (net.core.rmem_default, 208 KiB on Debian), which
 * holds only about a hundred datagrams once the kernel's per-packet
 * overhead is counted. A burst of a few hundred call setups per second
 * plus a 30 ms scheduling hiccup overflows it, the kernel drops responses
 * silently, and the peer's INVITE retransmissions then break calls that
 * were fine (measured: 2-4 % failed calls at 500 setups/s, 0 with a
 * deeper buffer). libre 1.1.0 keeps the socket to itself, so we find it
 * by its local address among our descriptors and ask for more.
 * Likewise libre listens on TCP with a backlog of 5: a burst of phones
 * (re)connecting at once, or someone opening many connections, fills it,
 * and the kernel drops the rest of the handshakes, which the phones then
 * retry for seconds to minutes. Linux lets a listening socket be given a
 * new backlog by calling listen() again.
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <re.h>
#include "log/log.h"
#include "sip/sipsrv.h"

enum { SIP_UDP_RCVBUF = 4 * 1024 * 1024 };

static bool is_on(int fd, int want, const struct sa *laddr)
{
	struct sa sa;
	int type = 0, acc = 0;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) || type != want)
		return false;
	len = sizeof(acc);
	if (want == SOCK_STREAM &&
	    (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) || !acc))
		return false;

	sa_init(&sa, AF_UNSPEC);
	sa.len = sizeof(sa.u);
	if (getsockname(fd, &sa.u.sa, &sa.len))
		return false;

	return sa_cmp(&sa, laddr, SA_ALL);
}

typedef int(sock_fix_h)(int fd, const struct sa *laddr);

/* Apply fix to our socket of type bound to laddr (a listener for TCP) */
static int sock_fix(int type, const struct sa *laddr, sock_fix_h *fix)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	int found = ENOENT;

	if (!dir)
		return errno;

	while ((de = readdir(dir))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.' || fd == dirfd(dir) ||
		    !is_on(fd, type, laddr))
			continue;

		found = fix(fd, laddr);
		if (found)
			break;
	}

	closedir(dir);
	return found;
}

static int rcvbuf_fix(int fd, const struct sa *laddr)
{
	int size = SIP_UDP_RCVBUF;
	socklen_t len = sizeof(size);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, len) ||
	    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &len))
		return errno;

	log_debug("sip", "UDP %J: receive buffer %d bytes", laddr, size);
	return 0;
}

static int backlog_fix(int fd, const struct sa *laddr)
{
	if (listen(fd, SOMAXCONN))
		return errno;

	log_debug("sip", "TCP %J: listen backlog %d", laddr, SOMAXCONN);
	return 0;
}

/**
 * Raise the receive buffer of the UDP socket bound to laddr. The kernel
 * caps the size at net.core.rmem_max; what it grants is logged.
 */
int sipsrv_udp_rcvbuf(const struct sa *laddr)
{
	return sock_fix(SOCK_DGRAM, laddr, rcvbuf_fix);
}

/**
 * Give the TCP (or TLS) listening socket bound to laddr the largest
 * backlog (the kernel caps it at net.core.somaxconn)
 */
int sipsrv_tcp_backlog(const struct sa *laddr)
{
	return sock_fix(SOCK_STREAM, laddr, backlog_fix);
}
