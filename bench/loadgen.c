// Loopback connection churn for tcptop's overhead benchmark: opens and closes TCP
// connections to 127.0.0.1 as fast as it can for a given time, then prints how many it made.
//
//   loadgen single|threads graceful|reset SECONDS
//   loadgen single refused SECONDS
//
// single:   one thread connects, accepts and closes both ends in turn.
// threads:  one thread connects and closes, another accepts and closes.
// graceful: the server closes first, then the client: 10 state changes a connection
//           (client CLOSE>SYN_SENT>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSE, server
//           LISTEN>SYN_RECV>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>CLOSE). The server side keeps
//           the TIME_WAIT, so the client's ports are never held up and the rate stays steady.
// reset:    the client aborts (SO_LINGER 0): 6 state changes a connection.
// refused:  connects to a port bound but not listening: the kernel answers each SYN with a
//           reset and drops it (NO_SOCKET), 2 state changes a connect (CLOSE>SYN_SENT>CLOSE).
// Output, one line: {"port":P,"connections":N,"seconds":S}. The port is printed first, on
// its own line, as soon as the listener is up, so a tracer can filter on it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int listener;
static struct sockaddr_in server_address;
static int reset;
static int refused;
static atomic_int running = 1;
static atomic_long accepted;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static int connect_client(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&server_address, sizeof(server_address)) != 0 && !refused)
		die("connect");
	return fd;
}

static void wait_for_close(int fd)
{
	char byte;
	(void)read(fd, &byte, 1); /* returns at the peer's FIN (0) or RST (-1) */
}

static void close_client(int fd)
{
	if (reset) {
		struct linger abort_on_close = {.l_onoff = 1, .l_linger = 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close));
	} else {
		wait_for_close(fd); /* the server closes first */
	}
	close(fd);
}

static void close_server(int fd)
{
	if (reset)
		wait_for_close(fd); /* the client aborts first */
	close(fd);
}

static void *accept_loop(void *unused)
{
	(void)unused;
	while (atomic_load(&running)) {
		int fd = accept(listener, NULL, NULL);
		if (fd < 0)
			continue;
		close_server(fd);
		atomic_fetch_add(&accepted, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4 || (strcmp(argv[1], "single") && strcmp(argv[1], "threads")) ||
	    (strcmp(argv[2], "graceful") && strcmp(argv[2], "reset") && strcmp(argv[2], "refused")) ||
	    (strcmp(argv[2], "refused") == 0 && strcmp(argv[1], "single"))) {
		fprintf(stderr, "usage: loadgen single|threads graceful|reset SECONDS, loadgen single refused SECONDS\n");
		return 2;
	}
	int threaded = strcmp(argv[1], "threads") == 0;
	reset = strcmp(argv[2], "reset") == 0;
	refused = strcmp(argv[2], "refused") == 0;
	double seconds = atof(argv[3]);

	listener = socket(AF_INET, SOCK_STREAM, 0);
	int on = 1;
	setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	server_address.sin_family = AF_INET;
	server_address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(listener, (struct sockaddr *)&server_address, sizeof(server_address)) != 0)
		die("bind");
	if (!refused && listen(listener, 4096) != 0)
		die("listen");
	socklen_t length = sizeof(server_address);
	getsockname(listener, (struct sockaddr *)&server_address, &length);
	printf("%d\n", ntohs(server_address.sin_port));
	fflush(stdout);

	pthread_t acceptor;
	if (threaded && pthread_create(&acceptor, NULL, accept_loop, NULL) != 0)
		die("pthread_create");

	long connections = 0;
	double start = now();
	double elapsed = 0;
	while ((elapsed = now() - start) < seconds) {
		for (int i = 0; i < 64; i++) {
			int client = connect_client();
			if (refused) {
				close(client);
			} else if (threaded) {
				close_client(client);
			} else {
				int server = accept(listener, NULL, NULL);
				if (server < 0)
					die("accept");
				if (reset) {
					close_client(client);
					close_server(server);
				} else {
					close_server(server);
					close_client(client);
				}
			}
			connections++;
		}
	}
	if (threaded) {
		/* Let the acceptor finish what is queued, then wake it with one last connection. */
		while (atomic_load(&accepted) < connections)
			usleep(1000);
		atomic_store(&running, 0);
		close_client(connect_client());
		connections++;
		pthread_join(acceptor, NULL);
	}
	printf("{\"port\":%d,\"connections\":%ld,\"seconds\":%.3f}\n", ntohs(server_address.sin_port),
	       connections, elapsed);
	return 0;
}
