/*
 * tun-inject: write every packet of a raw-IP pcap into an existing TUN device (IFF_TUN|IFF_NO_PI).
 * Run INSIDE the oracle network namespace (`ip netns exec NS tun-inject ...`).
 *
 *   tun-inject --dev NAME --in IN.pcap [--out REPLAYED.pcap] [--speed X] [--no-mcast-join] [--cpu N]
 *
 * IN.pcap: LINKTYPE_RAW (101) / IPV4 (228) / IPV6 (229), little- or big-endian, usec or nsec.
 * A TUN write() is processed synchronously (tun_get_user -> netif_receive_skb in this thread), so
 * CLOCK_REALTIME read right before write() is the time conntrack saw the packet (within one jiffy).
 * --out writes every successfully written packet, as written, to a LINKTYPE_RAW nanosecond pcap
 * stamped with that time. --speed X > 0 paces writes by the input timestamps (X times faster).
 * Multicast destinations are joined on the device first (host-member semantics) unless
 * --no-mcast-join, so the packets are delivered to INPUT and confirmed.
 * --cpu N pins the writer (and so the kernel work done in its context) to one CPU: slab measurements
 * then fill a single per-CPU slab at a time.
 * Prints one JSON summary line on stdout; exit 0 ok, 2 usage/input error, 3 system error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_ERRNO 160
#define JOINS_PER_SOCKET 18 /* IP_MAX_MEMBERSHIPS default is 20 per socket */

static uint32_t rd32(const unsigned char *p, int be) {
  return be ? ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3])
            : ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]);
}

static void wr32le(unsigned char *p, uint32_t v) {
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = v >> 24;
}

static void die(int code, const char *what, const char *detail) {
  printf("{\"error\": \"%s: %s\"}\n", what, detail);
  fflush(stdout);
  exit(code);
}

/* Multicast groups already joined (linear set: captures have few groups). */
struct groups {
  unsigned char (*addr)[17]; /* [0] = 4 or 6, then the address */
  size_t n, cap;
};

static int seen_group(struct groups *g, const unsigned char *a, int len) {
  for (size_t i = 0; i < g->n; i++)
    if (g->addr[i][0] == len && memcmp(g->addr[i] + 1, a, len) == 0) return 1;
  if (g->n == g->cap) {
    g->cap = g->cap ? g->cap * 2 : 64;
    g->addr = realloc(g->addr, g->cap * sizeof *g->addr);
    if (!g->addr) die(3, "realloc", strerror(errno));
  }
  g->addr[g->n][0] = (unsigned char)len;
  memcpy(g->addr[g->n] + 1, a, len);
  g->n++;
  return 0;
}

/* Device operationally up and, when IPv6 is on, holding an IPv6 address (addrconf saw the link come up). */
static int link_ready(const char *dev) {
  char path[128], line[256];
  snprintf(path, sizeof path, "/sys/class/net/%s/operstate", dev);
  FILE *f = fopen(path, "r");
  if (!f) return 1; /* no sysfs view: nothing to wait for */
  int up = fgets(line, sizeof line, f) && strncmp(line, "down", 4) != 0;
  fclose(f);
  if (!up) return 0;
  f = fopen("/proc/net/if_inet6", "r");
  if (!f) return 1; /* IPv6 disabled */
  int found = 0;
  size_t n = strlen(dev);
  while (!found && fgets(line, sizeof line, f)) {
    size_t l = strlen(line);
    while (l && (line[l - 1] == '\n' || line[l - 1] == ' ')) line[--l] = 0;
    found = l >= n && strcmp(line + l - n, dev) == 0 && (l == n || line[l - n - 1] == ' ');
  }
  fclose(f);
  return found;
}

int main(int argc, char **argv) {
  const char *dev = NULL, *in = NULL, *out = NULL;
  double speed = 0;
  int mjoin = 1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--dev") && i + 1 < argc) dev = argv[++i];
    else if (!strcmp(argv[i], "--in") && i + 1 < argc) in = argv[++i];
    else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
    else if (!strcmp(argv[i], "--speed") && i + 1 < argc) speed = atof(argv[++i]);
    else if (!strcmp(argv[i], "--no-mcast-join")) mjoin = 0;
    else if (!strcmp(argv[i], "--cpu") && i + 1 < argc) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(atoi(argv[++i]), &set);
      if (sched_setaffinity(0, sizeof set, &set) != 0) die(3, "sched_setaffinity", strerror(errno));
    }
    else die(2, "usage", "tun-inject --dev NAME --in IN.pcap [--out OUT.pcap] [--speed X] [--no-mcast-join] [--cpu N]");
  }
  if (!dev || !in) die(2, "usage", "--dev and --in are required");

  FILE *f = fopen(in, "rb");
  if (!f) die(2, in, strerror(errno));
  unsigned char gh[24];
  if (fread(gh, 1, 24, f) != 24) die(2, in, "short pcap header");
  uint32_t magic_le = rd32(gh, 0);
  int be = 0, nano = 0;
  if (magic_le == 0xa1b2c3d4u) nano = 0;
  else if (magic_le == 0xa1b23c4du) nano = 1;
  else if (magic_le == 0xd4c3b2a1u) be = 1;
  else if (magic_le == 0x4d3cb2a1u) be = 1, nano = 1;
  else die(2, in, "not a classic pcap file");
  uint32_t linktype = rd32(gh + 20, be) & 0x0fffffff;
  if (linktype != 101 && linktype != 228 && linktype != 229) die(2, in, "link type is not raw IP (101/228/229)");

  int fd = open("/dev/net/tun", O_RDWR);
  if (fd < 0) die(3, "/dev/net/tun", strerror(errno));
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, dev, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) die(3, "TUNSETIFF", strerror(errno));
  unsigned ifindex = if_nametoindex(dev);
  /* Attaching the fd turns the carrier on, but the kernel propagates carrier changes through linkwatch
   * (global, rate-limited to one run per second: up to 1 s late when other devices changed just before);
   * until then the device is operationally down and IPv6 (addrconf: "link is not ready") drops part of the
   * traffic. Wait until the device is up and addrconf has given it its link-local address (it runs in the
   * same linkwatch pass, just after the operstate change). */
  double waited = 0;
  for (int i = 0; i < 300 && !link_ready(dev); i++) {
    struct timespec ms10 = {0, 10000000};
    nanosleep(&ms10, NULL);
    waited += 0.01;
  }

  FILE *o = NULL;
  if (out) {
    o = fopen(out, "wb");
    if (!o) die(3, out, strerror(errno));
    unsigned char oh[24] = {0};
    wr32le(oh, 0xa1b23c4du);
    oh[4] = 2, oh[6] = 4;
    wr32le(oh + 16, 262144);
    wr32le(oh + 20, 101);
    fwrite(oh, 1, 24, o);
  }

  static unsigned char pkt[262144 + 16];
  unsigned long long frames = 0, injected = 0, write_errors = 0, too_big = 0;
  unsigned long errnos[MAX_ERRNO] = {0};
  unsigned long joined = 0, join_failed = 0;
  struct groups g4 = {0}, g6 = {0};
  int s4 = -1, s6 = -1, n4 = JOINS_PER_SOCKET, n6 = JOINS_PER_SOCKET;
  struct timespec t0m, now;
  clock_gettime(CLOCK_MONOTONIC, &t0m);
  double ts0 = -1;
  long long wall_first = -1, wall_last = -1;

  for (;;) {
    unsigned char rh[16];
    size_t r = fread(rh, 1, 16, f);
    if (r == 0) break;
    if (r != 16) die(2, in, "truncated record header");
    uint32_t sec = rd32(rh, be), frac = rd32(rh + 4, be), caplen = rd32(rh + 8, be);
    if (caplen > 262144) {
      too_big++;
      if (fseek(f, caplen, SEEK_CUR) != 0) die(2, in, "truncated record");
      continue;
    }
    if (fread(pkt, 1, caplen, f) != caplen) die(2, in, "truncated record");
    frames++;
    if (caplen == 0) continue;
    if (speed > 0) {
      double ts = sec + frac / (nano ? 1e9 : 1e6);
      if (ts0 < 0) ts0 = ts;
      double due = (ts - ts0) / speed;
      clock_gettime(CLOCK_MONOTONIC, &now);
      double el = (now.tv_sec - t0m.tv_sec) + (now.tv_nsec - t0m.tv_nsec) / 1e9;
      if (due > el) {
        double d = due - el;
        struct timespec sl = {(time_t)d, (long)((d - (time_t)d) * 1e9)};
        nanosleep(&sl, NULL);
      }
    }
    int v = pkt[0] >> 4;
    if (mjoin && v == 4 && caplen >= 20 && pkt[16] >= 224 && pkt[16] <= 239 && !seen_group(&g4, pkt + 16, 4)) {
      if (n4 >= JOINS_PER_SOCKET) {
        s4 = socket(AF_INET, SOCK_DGRAM, 0);
        n4 = 0;
      }
      struct ip_mreqn m;
      memset(&m, 0, sizeof m);
      memcpy(&m.imr_multiaddr, pkt + 16, 4);
      m.imr_ifindex = (int)ifindex;
      if (s4 >= 0 && setsockopt(s4, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) == 0) joined++, n4++;
      else join_failed++;
    } else if (mjoin && v == 6 && caplen >= 40 && pkt[24] == 0xff && !seen_group(&g6, pkt + 24, 16)) {
      if (n6 >= JOINS_PER_SOCKET) {
        s6 = socket(AF_INET6, SOCK_DGRAM, 0);
        n6 = 0;
      }
      struct ipv6_mreq m;
      memcpy(&m.ipv6mr_multiaddr, pkt + 24, 16);
      m.ipv6mr_interface = ifindex;
      if (s6 >= 0 && setsockopt(s6, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &m, sizeof m) == 0) joined++, n6++;
      else join_failed++;
    }
    struct timespec tw;
    clock_gettime(CLOCK_REALTIME, &tw);
    ssize_t w = write(fd, pkt, caplen);
    if (w < 0) {
      write_errors++;
      errnos[errno < MAX_ERRNO ? errno : 0]++;
      continue;
    }
    injected++;
    long long twn = (long long)tw.tv_sec * 1000000000LL + tw.tv_nsec;
    if (wall_first < 0) wall_first = twn;
    wall_last = twn;
    if (o) {
      unsigned char h[16];
      wr32le(h, (uint32_t)tw.tv_sec);
      wr32le(h + 4, (uint32_t)tw.tv_nsec);
      wr32le(h + 8, caplen);
      wr32le(h + 12, caplen);
      fwrite(h, 1, 16, o);
      fwrite(pkt, 1, caplen, o);
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &now);
  double el = (now.tv_sec - t0m.tv_sec) + (now.tv_nsec - t0m.tv_nsec) / 1e9;
  if (o && fclose(o) != 0) die(3, out, strerror(errno));
  fclose(f);
  close(fd);
  printf("{\"frames\": %llu, \"injected\": %llu, \"write_errors\": %llu, \"too_big\": %llu, \"write_errno\": {", frames,
         injected, write_errors, too_big);
  int first = 1;
  for (int e = 0; e < MAX_ERRNO; e++)
    if (errnos[e]) printf("%s\"%d\": %lu", first ? "" : ", ", e, errnos[e]), first = 0;
  printf("}, \"mcast_joined\": %lu, \"mcast_join_failed\": %lu, \"wall_first_ns\": \"%lld\", \"wall_last_ns\": \"%lld\", "
         "\"seconds\": %.6f, \"carrier_wait_seconds\": %.2f}\n",
         joined, join_failed, wall_first, wall_last, el, waited);
  return 0;
}
