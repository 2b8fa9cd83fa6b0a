/**
 * @file sockbuf.c  A deep receive buffer for the SIP UDP socket
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
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <re.h>
#include "log/log.h"
#include "sip/sipsrv.h"

enum { SIP_UDP_RCVBUF = 4 * 1024 * 1024 };

static bool is_udp_on(int fd, const struct sa *laddr)
{
	struct sa sa;
	int type = 0;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) ||
	    type != SOCK_DGRAM)
		return false;

	sa_init(&sa, AF_UNSPEC);
	sa.len = sizeof(sa.u);
	if (getsockname(fd, &sa.u.sa, &sa.len))
		return false;

	return sa_cmp(&sa, laddr, SA_ALL);
}

/**
 * Raise the receive buffer of the UDP socket bound to laddr. The kernel
 * caps the size at net.core.rmem_max; what it grants is logged.
 */
int sipsrv_udp_rcvbuf(const struct sa *laddr)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	int found = ENOENT;

	if (!dir)
		return errno;

	while ((de = readdir(dir))) {
		int fd = atoi(de->d_name), size = SIP_UDP_RCVBUF;
		socklen_t len = sizeof(size);

		if (de->d_name[0] == '.' || fd == dirfd(dir) ||
		    !is_udp_on(fd, laddr))
			continue;

		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, len) ||
		    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &len)) {
			found = errno;
			break;
		}

		log_debug("sip", "UDP %J: receive buffer %d bytes", laddr,
			  size);
		found = 0;
	}

	closedir(dir);
	return found;
}
