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

static int fds[2];
static long wsize, total, rounds, nrt;
static int cross;

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

/* The reader / server side, on fds[1]. */
static void *peer(void *arg) {
  (void)arg;
  pin(cross ? 1 : 0);
  if (nrt == 0) {
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
  } else { fprintf(stderr, "bad arguments\n"); return 2; }
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) die("socketpair");
  pin(0);
  pthread_t t;
  if (pthread_create(&t, NULL, peer, NULL) != 0) die("pthread_create");
  if (stream) {
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
