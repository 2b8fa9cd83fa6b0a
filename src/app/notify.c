/**
 * @file notify.c  Telling systemd where the server is in its life
 *
 * Under a unit of Type=notify, systemd passes a datagram socket in
 * $NOTIFY_SOCKET and waits for "READY=1" before it counts the service as
 * started: so `systemctl start` returns once every port is bound, and a
 * start that fails is reported as failed, not as started and gone. The
 * protocol is one datagram of "KEY=value" lines (sd_notify(3)); written
 * here with libc so that libsystemd is not a dependency. Without the
 * variable (started by hand, by the tests) nothing is sent.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <re.h>
#include "app/app.h"

/**
 * Send one state ("READY=1", "RELOADING=1\nMONOTONIC_USEC=...", ...)
 *
 * @return 0 (also when there is no NOTIFY_SOCKET), or an errno value
 */
int app_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	int fd, err = 0;

	if (!state || !path || !path[0])
		return 0;
	if (path[0] != '/' && path[0] != '@')
		return EAFNOSUPPORT;
	if (strlen(path) >= sizeof(sun.sun_path))
		return ENAMETOOLONG;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0'; /* the abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
			  strlen(path));

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		   (struct sockaddr *)&sun, len) < 0)
		err = errno;
	close(fd);

	return err;
}
