/*
 * host_socketpair.c: the host kernel's own socketpair(2) doing the work the `socket`
 * bench section asks of the simulation, so each simulated figure has a same-run baseline.
 * Compiled by bench/socket_bench.ts at bench time (cc -O2 -pthread) into a temporary
 * directory; never committed.
 *
 *   host_socketpair stream <write size> <bytes a round> <rounds> <same|cross>
 *       a writer thread write(2)s <bytes> in <write size> chunks into a socketpair(AF_UNIX,
 *       SOCK_STREAM), a reader thread read(2)s them (buffer: max(write size, 64 KB)) and
 *       answers one byte at the end; prints one line per round: bytes/s
 *   host_socketpair rt <round trips a round> <rounds> <same|cross>
 *       a 1-byte ping-pong between two threads; prints one line per round: ns per round trip
 *   host_socketpair wake <wake-ups a round> <rounds> <recv|poll|kevent>
 *       the reader thread (CPU 1) blocks in recv(2), in poll(2) or in kevent(2) (epoll_wait(2)
 *       on Linux, which has no kqueue); the writer (CPU 0) notes the time and sends one
 *       byte; the reader notes when it woke and sends that time back; the writer waits
 *       100 us so that the reader is asleep again.  Prints one line per round: the median
 *       wake-up latency in ns.
 *
 * same: both threads pinned to CPU 0; cross: the writer/client on CPU 0, the reader/server
 * on CPU 1 (pinning that fails is ignored: the figure is then unpinned).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <poll.h>
#ifdef __linux__
#include <sys/epoll.h>
#else
#include <sys/event.h>
#endif

static int fds[2];
static long wsize, total, rounds, nrt;
static int cross;
static int wake_mode = -1;              /* 0 recv, 1 poll, 2 kevent (epoll on Linux) */

static void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what) { perror(what); exit(1); }

static void write_all(int fd, const char *p, long n) {
  while (n > 0) {
    ssize_t w = write(fd, p, (size_t)n);
    if (w < 0) { if (errno == EINTR) continue; die("write"); }
    p += w; n -= w;
  }
}

static void read_all(int fd, char *p, long n) {
  while (n > 0) {
    ssize_t r = read(fd, p, (size_t)n);
    if (r < 0) { if (errno == EINTR) continue; die("read"); }
    if (r == 0) { fprintf(stderr, "read: early EOF\n"); exit(1); }
    p += r; n -= r;
  }
}

/* Block until fds[1] is readable in the wake mode's call, note the time, take the byte, send the time back. */
static void wake_reader(void) {
#ifdef __linux__
  int ep = epoll_create1(0);
  struct epoll_event ev = { .events = EPOLLIN, .data.fd = fds[1] };
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fds[1], &ev) != 0) die("epoll");
#else
  int ep = kqueue();
  struct kevent kev;
  EV_SET(&kev, fds[1], EVFILT_READ, EV_ADD, 0, 0, NULL);
  if (ep < 0 || kevent(ep, &kev, 1, NULL, 0, NULL) != 0) die("kqueue");
#endif
  for (long i = 0; i < (rounds + 1) * nrt; i++) {
    char b;
    double t;
    if (wake_mode == 0) {
      read_all(fds[1], &b, 1);
      t = now_ns();
    } else {
      if (wake_mode == 1) {
        struct pollfd p = { .fd = fds[1], .events = POLLIN };
        while (poll(&p, 1, -1) != 1) if (errno != EINTR) die("poll");
      } else {
#ifdef __linux__
        struct epoll_event out;
        while (epoll_wait(ep, &out, 1, -1) != 1) if (errno != EINTR) die("epoll_wait");
#else
        struct kevent out;
        while (kevent(ep, NULL, 0, &out, 1, NULL) != 1) if (errno != EINTR) die("kevent");
#endif
      }
      t = now_ns();
      read_all(fds[1], &b, 1);
    }
    write_all(fds[1], (const char *)&t, sizeof t);
  }
  close(ep);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The reader / server side, on fds[1]. */
static void *peer(void *arg) {
  (void)arg;
  pin(cross ? 1 : 0);
  if (wake_mode >= 0) {
    wake_reader();
  } else if (nrt == 0) {
    long cap = wsize > 65536 ? wsize : 65536;
    char *buf = malloc((size_t)cap);
    char ack = 1;
    for (long r = 0; r < rounds + 1; r++) {      /* one warm-up round */
      long got = 0;
      while (got < total) {
        ssize_t n = read(fds[1], buf, (size_t)cap);
        if (n < 0) { if (errno == EINTR) continue; die("read"); }
        if (n == 0) { fprintf(stderr, "read: early EOF\n"); exit(1); }
        got += n;
      }
      write_all(fds[1], &ack, 1);
    }
    free(buf);
  } else {
    char b;
    for (long i = 0; i < (rounds + 1) * nrt; i++) {
      read_all(fds[1], &b, 1);
      write_all(fds[1], &b, 1);
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: see the comment at the top\n"); return 2; }
  int stream = strcmp(argv[1], "stream") == 0;
  if (stream && argc == 6) {
    wsize = atol(argv[2]); total = atol(argv[3]); rounds = atol(argv[4]); cross = strcmp(argv[5], "cross") == 0;
  } else if (!stream && strcmp(argv[1], "rt") == 0 && argc == 5) {
    nrt = atol(argv[2]); rounds = atol(argv[3]); cross = strcmp(argv[4], "cross") == 0;
  } else if (!stream && strcmp(argv[1], "wake") == 0 && argc == 5) {
    nrt = atol(argv[2]); rounds = atol(argv[3]); cross = 1;
    wake_mode = strcmp(argv[4], "recv") == 0 ? 0 : strcmp(argv[4], "poll") == 0 ? 1 : strcmp(argv[4], "kevent") == 0 ? 2 : -1;
    if (wake_mode < 0) { fprintf(stderr, "bad wake mode\n"); return 2; }
  } else { fprintf(stderr, "bad arguments\n"); return 2; }
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) die("socketpair");
  pin(0);
  pthread_t t;
  if (pthread_create(&t, NULL, peer, NULL) != 0) die("pthread_create");
  if (wake_mode >= 0) {
    double *lat = malloc(sizeof(double) * (size_t)nrt);
    char b = 'w';
    for (long r = 0; r < rounds + 1; r++) {
      for (long i = 0; i < nrt; i++) {
        struct timespec pause = { 0, 100000 };
        nanosleep(&pause, NULL);               /* the reader is back in its call */
        double t0 = now_ns(), tw;
        write_all(fds[0], &b, 1);
        read_all(fds[0], (char *)&tw, sizeof tw);
        lat[i] = tw - t0;
      }
      qsort(lat, (size_t)nrt, sizeof(double), cmp_double);
      if (r > 0) printf("%.0f\n", lat[nrt / 2]);
    }
    free(lat);
  } else if (stream) {
    char *buf = calloc(1, (size_t)wsize);
    char ack;
    for (long r = 0; r < rounds + 1; r++) {
      double t0 = now_ns();
      for (long sent = 0; sent < total; sent += wsize) write_all(fds[0], buf, wsize < total - sent ? wsize : total - sent);
      read_all(fds[0], &ack, 1);
      double t1 = now_ns();
      if (r > 0) printf("%.0f\n", total / ((t1 - t0) / 1e9));
    }
    free(buf);
  } else {
    char b = 'x';
    for (long r = 0; r < rounds + 1; r++) {
      double t0 = now_ns();
      for (long i = 0; i < nrt; i++) {
        write_all(fds[0], &b, 1);
        read_all(fds[0], &b, 1);
      }
      double t1 = now_ns();
      if (r > 0) printf("%.1f\n", (t1 - t0) / nrt);
    }
  }
  pthread_join(t, NULL);
  return 0;
}
