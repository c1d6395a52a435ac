/*
 * Kernel floor of one port allocation: the exact system calls ports' default allocation and
 * `new ServerSocket(0)` make on Linux (as strace shows them; see docs/BENCHMARKS.md), timed
 * without a JVM. Not built by Maven.
 *
 *   gcc -O2 -o /tmp/syscall_floor ports-bench/src/main/c/syscall_floor.c && /tmp/syscall_floor
 *
 * Binds port 40000 (wildcard, never listens on it, no traffic) and port 0; locks bytes of a
 * temporary file.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define N 20000
#define PORT 40000

static int lockfd;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void byte_lock(int port, short type) {
    struct flock f = {0};
    f.l_type = type;
    f.l_whence = SEEK_SET;
    f.l_start = port;
    f.l_len = 1;
    if (fcntl(lockfd, F_SETLK, &f) != 0) { perror("fcntl"); exit(1); }
}

static struct sockaddr_in6 any6(int port) {
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_any;
    a.sin6_port = htons(port);
    return a;
}

/* PortAllocator default (hold, then lease.close()): 8 calls, or 6 without Netty's two extras. */
static void ports_default(int netty_extras) {
    int zero = 0, one = 1;
    byte_lock(PORT, F_WRLCK);
    int s = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (netty_extras) {
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero); /* Netty's newSocketStream0(true) */
        struct sockaddr_storage ss;
        socklen_t l = sizeof ss;
        getsockname(s, (struct sockaddr *) &ss, &l);                   /* Netty's Socket(int) -> isIPv6(fd) */
    }
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in6 a = any6(PORT);
    if (bind(s, (struct sockaddr *) &a, sizeof a) != 0) { perror("bind"); exit(1); }
    close(s);
    byte_lock(PORT, F_UNLCK);
}

/* JDK 17 new ServerSocket(0), getLocalPort(), close(): 10 calls. */
static void server_socket_zero(void) {
    int zero = 0, one = 1;
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in6 a = any6(0);
    bind(s, (struct sockaddr *) &a, sizeof a);
    struct sockaddr_storage ss;
    socklen_t l = sizeof ss;
    getsockname(s, (struct sockaddr *) &ss, &l);
    l = sizeof ss;
    getsockname(s, (struct sockaddr *) &ss, &l);
    listen(s, 50);
    struct linger lg;
    l = sizeof lg;
    getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &l);
    shutdown(s, SHUT_WR);
    close(s);
}

int main(void) {
    char path[] = "/tmp/syscall-floor-XXXXXX";
    lockfd = mkstemp(path);
    if (lockfd < 0) { perror("mkstemp"); return 1; }
    unlink(path);
    for (int round = 1; round <= 3; round++) {
        double t = now();
        for (int i = 0; i < N; i++) ports_default(1);
        printf("round %d: ports default sequence, 8 calls (as made)            %6.2f us\n", round, (now() - t) / N / 1000);
        t = now();
        for (int i = 0; i < N; i++) ports_default(0);
        printf("round %d: ports default sequence, 6 calls (no Netty extras)    %6.2f us\n", round, (now() - t) / N / 1000);
        t = now();
        for (int i = 0; i < N; i++) server_socket_zero();
        printf("round %d: new ServerSocket(0) sequence, 10 calls               %6.2f us\n", round, (now() - t) / N / 1000);
        t = now();
        for (int i = 0; i < N; i++) close(socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0));
        printf("round %d: socket(AF_INET6)+close                               %6.2f us\n", round, (now() - t) / N / 1000);
    }
    return 0;
}
