// Holds loopback connections in network namespaces for bench/netns-passes.ts: for each
// namespace named on the command line (a /run/netns name, its loopback up), one listener on
// 127.0.0.1 and CONNS connections to it (both ends open), then "ready" on stdout, and all of it
// held until stdin ends. A socket stays in the namespace it was made in, so one process can
// hold many namespaces' (as many as its open-file limit allows: two descriptors a connection).
//
// Usage: netns-hold CONNS NAME... (CONNS 0: no listener either)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what, const char *name)
{
	fprintf(stderr, "netns-hold: %s (%s): %m\n", what, name);
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: netns-hold CONNS NAME...\n");
		return 2;
	}
	int conns = atoi(argv[1]);
	struct rlimit files;
	getrlimit(RLIMIT_NOFILE, &files);
	files.rlim_cur = files.rlim_max;
	setrlimit(RLIMIT_NOFILE, &files);
	int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	for (int n = 2; n < argc; n++) {
		char path[512];
		snprintf(path, sizeof(path), "/run/netns/%s", argv[n]);
		int space = open(path, O_RDONLY | O_CLOEXEC);
		if (space < 0 || setns(space, CLONE_NEWNET) != 0)
			die("enter", argv[n]);
		close(space);
		if (conns == 0)
			continue; /* an empty namespace */
		struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t length = sizeof(address);
		int listener = socket(AF_INET, SOCK_STREAM, 0);
		if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof(address)) != 0 ||
		    listen(listener, 4096) != 0 || getsockname(listener, (struct sockaddr *)&address, &length) != 0)
			die("listen", argv[n]);
		for (int i = 0; i < conns; i++) {
			int client = socket(AF_INET, SOCK_STREAM, 0);
			if (client < 0 || connect(client, (struct sockaddr *)&address, sizeof(address)) != 0)
				die("connect", argv[n]);
			if (accept(listener, NULL, NULL) < 0)
				die("accept", argv[n]);
		}
	}
	if (setns(home, CLONE_NEWNET) != 0)
		die("return", "home");
	printf("ready\n");
	fflush(stdout);
	char buffer[64];
	while (read(0, buffer, sizeof(buffer)) > 0) {
	}
	return 0;
}
