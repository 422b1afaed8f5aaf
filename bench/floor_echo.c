/*
 * The physical floor of the in-process echo benchmark: the same work as
 * bench/benchmarks/echo.py (client and server over one loopback TCP connection,
 * one message in flight, TCP_NODELAY), driven by one level-triggered epoll loop
 * in C, with one read per readiness event like the Python event loops.
 *
 * Usage: echo_floor ROUND_TRIPS SIZE
 * Prints: ELAPSED_SECONDS ROUND_TRIPS_DONE
 * Compiled at run time by bench/floor.py into bench/_floor/ (ignored by git).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_SIZE (256 * 1024)

static void die(const char *what) {
    perror(what);
    exit(2);
}

static void nonblock_nodelay(int fd) {
    int one = 1;
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) die("fcntl");
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) die("TCP_NODELAY");
}

/* A connection with a pending-output buffer, flushed on EPOLLOUT when needed. */
typedef struct {
    int fd;
    char *out;
    size_t out_len, out_cap;
    int want_out;
} conn_t;

static void watch(int ep, conn_t *c, int op) {
    struct epoll_event ev = {.events = EPOLLIN | (c->want_out ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(ep, op, c->fd, &ev) < 0) die("epoll_ctl");
}

static void flush(int ep, conn_t *c) {
    while (c->out_len > 0) {
        ssize_t k = write(c->fd, c->out, c->out_len);
        if (k < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            die("write");
        }
        memmove(c->out, c->out + k, c->out_len - (size_t)k);
        c->out_len -= (size_t)k;
    }
    int want = c->out_len > 0;
    if (want != c->want_out) {
        c->want_out = want;
        watch(ep, c, EPOLL_CTL_MOD);
    }
}

static void send_bytes(int ep, conn_t *c, const char *data, size_t len) {
    if (c->out_len + len > c->out_cap) {
        c->out_cap = (c->out_len + len) * 2;
        c->out = realloc(c->out, c->out_cap);
        if (!c->out) die("realloc");
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    flush(ep, c);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s ROUND_TRIPS SIZE\n", argv[0]);
        return 2;
    }
    long n = atol(argv[1]);
    size_t size = (size_t)atol(argv[2]);
    if (n <= 0 || size == 0) return 2;

    int lsock = socket(AF_INET, SOCK_STREAM, 0);
    if (lsock < 0) die("socket");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lsock, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(lsock, 16) < 0) die("listen");
    socklen_t alen = sizeof addr;
    if (getsockname(lsock, (struct sockaddr *)&addr, &alen) < 0) die("getsockname");

    int cfd = socket(AF_INET, SOCK_STREAM, 0);
    if (cfd < 0) die("socket");
    if (connect(cfd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
    int sfd = accept(lsock, NULL, NULL);
    if (sfd < 0) die("accept");
    close(lsock);
    nonblock_nodelay(cfd);
    nonblock_nodelay(sfd);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    conn_t client = {.fd = cfd}, server = {.fd = sfd};
    watch(ep, &client, EPOLL_CTL_ADD);
    watch(ep, &server, EPOLL_CTL_ADD);

    char *msg = malloc(size), *buf = malloc(READ_SIZE);
    if (!msg || !buf) die("malloc");
    memset(msg, 'x', size);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long rounds = 0;
    size_t got = 0;
    send_bytes(ep, &client, msg, size);
    struct epoll_event events[8];
    while (rounds < n) {
        int k = epoll_wait(ep, events, 8, -1);
        if (k < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < k; i++) {
            conn_t *c = events[i].data.ptr;
            if (events[i].events & EPOLLOUT) flush(ep, c);
            if (!(events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
            ssize_t r = read(c->fd, buf, READ_SIZE);
            if (r < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) continue;
                die("read");
            }
            if (r == 0) {
                fprintf(stderr, "unexpected EOF\n");
                return 2;
            }
            if (c == &server) {
                send_bytes(ep, &server, buf, (size_t)r);
            } else {
                got += (size_t)r;
                if (got >= size) {
                    got -= size;
                    if (++rounds < n) send_bytes(ep, &client, msg, size);
                }
            }
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%.9f %ld\n", elapsed, rounds);
    close(cfd);
    close(sfd);
    close(ep);
    return 0;
}
