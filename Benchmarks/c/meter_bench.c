/*
 * meter_bench.c - the C equivalent of MeterBenchmark, for the ratio: the same frames, the same
 * visiting order, the same work per packet (Ethernet/IPv4/UDP parse with bounds checks, an
 * 8-word key, the same multiply-xorshift hash, an 8-way set-associative table of 1 Mi slots
 * with a parallel tag array, counter updates). Built and run by Benchmarks/run.sh, never linked
 * into flowtap.
 *
 *   meter_bench [PACKETS]   prints ns per packet (median of 5 runs)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FLOWS 400000
#define SLOTS (1 << 20)
#define WAYS 8
#define FRAME 64

struct key { uint64_t w[8]; };
struct entry { struct key k; uint64_t packets, octets, first, last, report_start; uint16_t flags; };

static uint8_t *frames;
static uint32_t *tags;
static struct entry *entries;

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static inline uint64_t hash(const struct key *k) {
	uint64_t h = 0x243F6A8885A308D3ull;
	for (int i = 0; i < 8; i++) {
		h = (h ^ k->w[i]) * 0x9E3779B97F4A7C15ull;
		h ^= h >> 29;
	}
	return h;
}

/* returns 0 when the frame is not meterable */
static inline int decode(const uint8_t *f, int len, struct key *k, uint32_t *octets) {
	memset(k, 0, sizeof(*k));
	if (len < 14 || be16(f + 12) != 0x0800) return 0;
	const uint8_t *ip = f + 14;
	int avail = len - 14;
	if (avail < 20) return 0;
	int ihl = (ip[0] & 15) * 4;
	if ((ip[0] >> 4) != 4 || ihl < 20 || avail < ihl) return 0;
	int total = be16(ip + 2);
	if (total < ihl || total > avail) return 0;
	uint32_t s, d;
	memcpy(&s, ip + 12, 4);
	memcpy(&d, ip + 16, 4);
	k->w[0] = s;
	k->w[2] = d;
	k->w[6] = (uint64_t)ip[9] << 32 | (uint64_t)ip[1] << 40 | 4ull << 48;
	*octets = (uint32_t)total;
	if ((be16(ip + 6) & 0x1FFF) == 0 && ip[9] == 17 && total - ihl >= 8)
		k->w[6] |= (uint64_t)be16(ip + ihl) | (uint64_t)be16(ip + ihl + 2) << 16;
	return 1;
}

static inline void meter(const struct key *k, uint32_t octets, uint64_t now) {
	uint64_t h = hash(k);
	uint32_t tag = (uint32_t)(h >> 32) | 1;
	size_t base = (size_t)(((h & 0xFFFFFFFFu) * (uint64_t)(SLOTS / WAYS)) >> 32) * WAYS;
	long slot = -1, free_slot = -1;
	for (size_t i = base; i < base + WAYS; i++) {
		if (tags[i] == tag && memcmp(&entries[i].k, k, sizeof(*k)) == 0) { slot = (long)i; break; }
		if (tags[i] == 0 && free_slot < 0) free_slot = (long)i;
	}
	if (slot < 0) {
		if (free_slot < 0) { /* evict the least recent of the set */
			free_slot = (long)base;
			for (size_t i = base + 1; i < base + WAYS; i++)
				if (entries[i].last < entries[free_slot].last) free_slot = (long)i;
		}
		slot = free_slot;
		tags[slot] = tag;
		entries[slot] = (struct entry){ .k = *k, .first = now, .last = now, .report_start = now };
	}
	struct entry *e = &entries[slot];
	if (e->packets == 0) e->first = now;
	e->packets++;
	e->octets += octets;
	e->last = now;
}

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
	long packets = argc > 1 ? atol(argv[1]) : 10000000;
	frames = calloc(FLOWS, FRAME);
	tags = calloc(SLOTS, sizeof(*tags));
	entries = malloc((size_t)SLOTS * sizeof(*entries));
	for (int i = 0; i < FLOWS; i++) { /* the frames MeterBenchmark builds */
		uint8_t *f = frames + (size_t)i * FRAME;
		const uint8_t macs[12] = { 2, 0x77, 0, 0, 0, 2, 2, 0x77, 0, 0, 0, 1 };
		memcpy(f, macs, 12);
		f[12] = 8;
		uint8_t *ip = f + 14;
		ip[0] = 0x45; ip[3] = 46; ip[8] = 64; ip[9] = 17;
		ip[12] = 10; ip[13] = (uint8_t)(i >> 16); ip[14] = (uint8_t)(i >> 8); ip[15] = (uint8_t)i;
		ip[16] = 10; ip[17] = 77; ip[18] = 0; ip[19] = 2;
		uint8_t *udp = ip + 20;
		udp[0] = (uint8_t)((40000 + i % 20000) >> 8); udp[1] = (uint8_t)(40000 + i % 20000); udp[3] = 9; udp[5] = 26;
	}
	struct key k;
	uint32_t octets;
	for (int i = 0; i < FLOWS; i++)
		if (decode(frames + (size_t)i * FRAME, 60, &k, &octets)) meter(&k, octets, 1);
	double runs[5];
	long n = 0;
	for (int r = 0; r < 5; r++) {
		double t0 = now_ns();
		for (long p = 0; p < packets; p++, n++) {
			long flow = (n * 196613) % FLOWS;
			if (decode(frames + (size_t)flow * FRAME, 60, &k, &octets)) meter(&k, octets, 2);
		}
		runs[r] = (now_ns() - t0) / (double)packets;
	}
	qsort(runs, 5, sizeof(runs[0]), cmp);
	printf("%.2f\n", runs[2]);
	return 0;
}
