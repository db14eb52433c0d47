/*
 * meter_bench.c - the C equivalent of MeterBenchmark, for the ratio. Built and run by
 * Benchmarks/run.sh, never linked into flowtap.
 *
 * Same frames, same visiting order, and per packet the work flowtap's PacketMeter.meter does,
 * in the same order and with the same data layout:
 *   - decode: Ethernet, the 802.1Q/802.1ad loop, L2 words only when l2 is recorded, the MPLS
 *     test, IPv4 with every bounds and header check, fragment flags, the transport switch
 *     (TCP flags and data offset, UDP/SCTP/UDP-Lite ports, ICMP type/code);
 *   - classify: own-export prefilter (UDP and a port bitmap), sampling countdown, fragment
 *     test, virtio_net_hdr test, key mask test;
 *   - meter: the same multiply-xorshift hash over the 8-word key, an 8-way set-associative
 *     table of 1 Mi slots with a parallel tag array, the same 112-byte entry, TCP flags, FIN/RST,
 *     eviction into an outbox drained after the frame.
 * Paths this workload never takes (VLAN-less frames only, no IPv6, no fragments, no GSO, no own
 * export) abort if reached, so they cannot hide in the timing.
 *
 * Built with -DMINIMAL it is the bare meter of the first version instead: IPv4/UDP parse, hash,
 * table, counters; nothing a probe has to check besides.
 *
 *   meter_bench [PACKETS]   prints ns per packet (median of 5 runs of PACKETS)
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
/* flowtap's FlowEntry: the fields a packet of a live flow writes come first. */
struct entry { struct key k; uint64_t packets, octets, last; uint16_t flags; uint64_t first, report_start; };
struct record { struct key k; uint64_t packets, octets, first, last; uint16_t flags; uint8_t reason; };

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

static __attribute__((noinline, noreturn, unused)) void not_in_workload(const char *what) {
	fprintf(stderr, "meter_bench: %s is not part of this workload\n", what);
	abort();
}

#ifdef MINIMAL

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

static inline void meter_frame(const uint8_t *f, int len, uint64_t now) {
	struct key k;
	uint32_t octets;
	if (decode(f, len, &k, &octets)) meter(&k, octets, now);
}

static inline void after_frame(void) {}

#else /* the work flowtap does */

enum kind { IPV4, IPV6, NON_IP, MALFORMED };

struct facts {
	struct key k;
	uint8_t kind, issue, later, first;
	uint32_t octets, frag_id;
	uint16_t tcp_flags, ip_offset, transport_end;
};

/* The probe's configuration, read at run time as flowtap's is (set in main). */
struct config { int vnet, l2, l4, changes_key; uint64_t mask_w0, mask_w4, mask_w6, port_bits; uint32_t sample_interval; };
struct config cfg; /* not static: the compiler must not fold it */

static struct {
	uint64_t metered, own_export, non_ip, sampled_out, issues[32], flows_created, evictions;
	long live, pending;
	uint32_t sample_position;
	struct record outbox[8];
} m;

static inline void fail(struct facts *x, int issue) { x->kind = MALFORMED; x->issue = (uint8_t)issue; }

static inline uint64_t mac(const uint8_t *p) {
	uint32_t lo; uint16_t hi;
	memcpy(&lo, p, 4); memcpy(&hi, p + 4, 2);
	return lo | (uint64_t)hi << 32;
}

static inline void set_l4(struct key *k, uint16_t sport, uint16_t dport) {
	k->w[6] = (k->w[6] & ~0xFFFFFFFFull) | sport | (uint64_t)dport << 16;
}

static inline void decode_transport(const uint8_t *l4, long avail, uint8_t proto, uint8_t icmp, uint16_t start, struct facts *x) {
	switch (proto) {
	case 6: {
		if (avail < 20) return fail(x, 13);
		uint16_t word = be16(l4 + 12);
		if ((word >> 12) < 5) return fail(x, 14);
		x->tcp_flags = word & 0x0FFF;
		set_l4(&x->k, be16(l4), be16(l4 + 2));
		x->transport_end = (uint16_t)(start + (word >> 12) * 4);
		break;
	}
	case 17: case 132: case 136:
		if (avail < 8) return fail(x, 15);
		set_l4(&x->k, be16(l4), be16(l4 + 2));
		x->transport_end = (uint16_t)(start + 8);
		break;
	default:
		if (proto == icmp) {
			if (avail < 2) return fail(x, 16);
			set_l4(&x->k, 0, be16(l4));
		}
	}
}

static inline void decode_ipv4(const uint8_t *ip, long avail, struct facts *x) {
	if (avail < 20) return fail(x, 4);
	uint8_t vihl = ip[0];
	long hl = (vihl & 15) * 4;
	if ((vihl >> 4) != 4 || hl < 20) return fail(x, 5);
	if (avail < hl) return fail(x, 4);
	long total = be16(ip + 2);
	if (total < hl) return fail(x, 7);
	if (total > avail) return fail(x, 6);
	uint8_t proto = ip[9];
	uint32_t s, d;
	memcpy(&s, ip + 12, 4);
	memcpy(&d, ip + 16, 4);
	x->k.w[0] = s;
	x->k.w[2] = d;
	x->k.w[6] = (uint64_t)proto << 32 | (uint64_t)ip[1] << 40 | 4ull << 48;
	x->octets = (uint32_t)total;
	x->kind = IPV4;
	uint16_t fo = be16(ip + 6);
	if (fo & 0x3FFF) {
		x->frag_id = be16(ip + 4);
		if (fo & 0x1FFF) { x->later = 1; return; }
		x->first = 1;
	}
	decode_transport(ip + hl, total - hl, proto, 1, (uint16_t)(x->ip_offset + hl), x);
}

static inline void decode(const uint8_t *f, long len, struct facts *x, int l2) {
	memset(&x->k, 0, sizeof(x->k));
	x->tcp_flags = 0; x->later = 0; x->first = 0; x->transport_end = 0; x->issue = 0;
	if (len < 14) return fail(x, 1);
	uint16_t et = be16(f + 12);
	long off = 14;
	uint16_t outer = 0, inner = 0;
	int tags_seen = 0;
	while (et == 0x8100 || et == 0x88A8) {
		if (tags_seen >= 2) return fail(x, 3);
		if (len < off + 4) return fail(x, 2);
		uint16_t vlan = (be16(f + off) & 0x0FFF) | 0x8000;
		if (tags_seen == 0) outer = vlan; else inner = vlan;
		et = be16(f + off + 2);
		off += 4;
		tags_seen++;
	}
	if (l2) {
		x->k.w[4] = mac(f + 6) | (uint64_t)et << 48;
		x->k.w[5] = mac(f) | (uint64_t)outer << 48;
		x->k.w[7] = inner;
	}
	if (et == 0x8847 || et == 0x8848) not_in_workload("MPLS");
	x->ip_offset = (uint16_t)off;
	switch (et) {
	case 0x0800: decode_ipv4(f + off, len - off, x); break;
	case 0x86DD: not_in_workload("IPv6");
	default: x->kind = NON_IP; x->octets = (uint32_t)(len - off);
	}
}

static __attribute__((noinline)) long evict_least_recent(size_t base);

static inline void report(size_t slot, uint8_t reason) {
	struct entry *e = &entries[slot];
	if (e->packets == 0) return;
	if (m.pending >= 8) abort();
	m.outbox[m.pending++] = (struct record){ .k = e->k, .packets = e->packets, .octets = e->octets,
		.first = e->first, .last = e->last, .flags = e->flags, .reason = reason };
}

static inline void release(size_t slot) { tags[slot] = 0; m.live--; }

static __attribute__((noinline)) long evict_least_recent(size_t base) {
	size_t oldest = base;
	for (size_t i = base + 1; i < base + WAYS; i++)
		if (entries[i].last < entries[oldest].last) oldest = i;
	report(oldest, 3);
	release(oldest);
	m.evictions++;
	return (long)oldest;
}

static inline void cache_meter(const struct key *k, uint64_t packets, uint32_t octets, uint16_t flags, int ends, uint64_t now) {
	uint64_t h = hash(k);
	uint32_t tag = (uint32_t)(h >> 32) | 1;
	size_t base = (size_t)(((h & 0xFFFFFFFFu) * (uint64_t)(SLOTS / WAYS)) >> 32) * WAYS;
	long slot = -1;
	for (size_t i = base; i < base + WAYS; i++)
		if (tags[i] == tag && memcmp(&entries[i].k, k, sizeof(*k)) == 0) { slot = (long)i; break; }
	if (slot < 0) { /* a new flow: the first free slot, else the least recent one */
		slot = (long)base;
		while (slot < (long)(base + WAYS) && tags[slot] != 0) slot++;
		if (slot == (long)(base + WAYS)) slot = evict_least_recent(base);
		tags[slot] = tag;
		entries[slot] = (struct entry){ .k = *k, .last = now, .first = now, .report_start = now };
		m.live++;
		m.flows_created++;
	}
	struct entry *e = &entries[slot];
	if (e->packets == 0) e->first = now;
	e->packets += packets;
	e->octets += octets;
	e->last = now;
	e->flags |= flags;
	if (ends) {
		report((size_t)slot, 2);
		release((size_t)slot);
	}
}

static inline int sample_take(void) {
	if (cfg.sample_interval == 1) return 1;
	int taken = m.sample_position == 0;
	if (++m.sample_position == cfg.sample_interval) m.sample_position = 0;
	return taken;
}

static inline void meter_frame(const uint8_t *frame, long n, uint64_t now) {
	long vnet = cfg.vnet;
	if (n <= vnet) return;
	struct facts x;
	decode(frame + vnet, n - vnet, &x, cfg.l2);
	switch (x.kind) {
	case IPV4: case IPV6:
		if ((uint8_t)(x.k.w[6] >> 32) == 17 && (cfg.port_bits >> ((uint16_t)x.k.w[6] % 64) & 1))
			not_in_workload("own export");
		break;
	case NON_IP:
		if (!cfg.l2) { m.non_ip++; return; }
		break;
	default:
		m.issues[x.issue]++;
		return;
	}
	if (!sample_take()) { m.sampled_out++; return; }
	if (cfg.l4 && (x.later || x.first)) not_in_workload("fragments");
	uint64_t packets = 1;
	uint32_t octets = x.octets;
	if (vnet != 0) not_in_workload("GSO");
	if (cfg.changes_key) {
		for (int i = 0; i < 4; i++) x.k.w[i] &= cfg.mask_w0;
		x.k.w[4] &= cfg.mask_w4; x.k.w[5] &= cfg.mask_w4; x.k.w[6] &= cfg.mask_w6; x.k.w[7] &= cfg.mask_w4;
	}
	cache_meter(&x.k, packets, octets, cfg.l4 ? x.tcp_flags : 0, cfg.l4 && (x.tcp_flags & 5), now);
	m.metered++;
}

/* The owner hands the outbox on after each frame; here the records are dropped. */
static inline void after_frame(void) {
	if (m.pending != 0) m.pending = 0;
}

#endif

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
	long packets = argc > 1 ? atol(argv[1]) : 10000000;
#ifndef MINIMAL
	/* --record l3,l4, no sampling, no offload, no collector crossing the TAPs: the workload's. */
	cfg = (struct config){ .vnet = 0, .l2 = 0, .l4 = 1, .changes_key = 0, .mask_w0 = ~0ull, .mask_w4 = 0,
		.mask_w6 = 0xFull << 48 | 0xFFFFull << 32 | 0xFFFFFFFFull, .port_bits = 0, .sample_interval = (uint32_t)(argc > 2 ? atoi(argv[2]) : 1) };
#endif
	frames = aligned_alloc(64, (size_t)FLOWS * FRAME); /* a frame a cache line, as MeterWorkload */
	memset(frames, 0, (size_t)FLOWS * FRAME);
	tags = calloc(SLOTS, sizeof(*tags));
	entries = malloc((size_t)SLOTS * sizeof(*entries));
	for (int i = 0; i < FLOWS; i++) { /* the frames MeterWorkload builds */
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
	for (int i = 0; i < FLOWS; i++) {
		meter_frame(frames + (size_t)i * FRAME, 60, 1);
		after_frame();
	}
	double runs[5];
	long n = 0;
	for (int r = 0; r < 5; r++) {
		double t0 = now_ns();
		for (long p = 0; p < packets; p++, n++) {
			long flow = (n * 196613) % FLOWS;
			meter_frame(frames + (size_t)flow * FRAME, 60, 2);
			after_frame();
		}
		runs[r] = (now_ns() - t0) / (double)packets;
	}
	qsort(runs, 5, sizeof(runs[0]), cmp);
	printf("%.2f\n", runs[2]);
	return 0;
}
