#!/usr/bin/env python3
"""summarize.py RAW.tsv: medians of bench.sh's measurements and the ratios it reports."""
import statistics
import sys
from collections import defaultdict

values = defaultdict(list)
for line in open(sys.argv[1]):
    mode, rep, metric, value = line.rstrip("\n").split("\t")
    if value:
        values[(mode, metric)].append(float(value))


def med(mode, metric):
    v = values.get((mode, metric))
    return statistics.median(v) if v else float("nan")


names = {"bridge": "kernel bridge", "c-plain": "C reference (tapfwd)", "ft-plain": "flowtap",
         "c-vnet": "C reference -v (vnet_hdr + TSO)", "ft-offload": "flowtap --offload",
         "ft-churn": "flowtap, every frame a new flow"}
reps = max((len(v) for v in values.values()), default=0)
print(f"| mode | TCP Gbit/s | 60-byte frames/s at h2 | ping RTT avg µs |   (median of {reps})")
print("|---|---|---|---|")
for mode, name in names.items():
    tcp, rtt = med(mode, "tcp_gbps"), med(mode, "rtt_us")
    cell = lambda v, f: "–" if v != v else f.format(v)  # NaN: not measured in this mode
    print(f"| {name} | {cell(tcp, '{:.2f}')} | {med(mode, 'pps60'):,.0f} | {cell(rtt, '{:.0f}')} |")
print()
rows = [("TCP, flowtap / C (plain)", med("ft-plain", "tcp_gbps") / med("c-plain", "tcp_gbps"), ">= 0.95"),
        ("TCP, flowtap --offload / C -v", med("ft-offload", "tcp_gbps") / med("c-vnet", "tcp_gbps"), ">= 0.95"),
        ("TCP, flowtap --offload / kernel bridge", med("ft-offload", "tcp_gbps") / med("bridge", "tcp_gbps"), ">= 0.85"),
        ("60-byte frames/s, flowtap / C (plain)", med("ft-plain", "pps60") / med("c-plain", "pps60"), ">= 0.95"),
        ("60-byte frames/s, flowtap --offload / C -v", med("ft-offload", "pps60") / med("c-vnet", "pps60"), ">= 0.95"),
        ("ping RTT, flowtap / C (plain)", med("ft-plain", "rtt_us") / med("c-plain", "rtt_us"), "<= 1.10"),
        ("60-byte frames/s, every frame a new flow / one flow", med("ft-churn", "pps60") / med("ft-plain", "pps60"), ">= 0.90")]
print("| ratio | measured | aim |")
print("|---|---|---|")
for name, ratio, aim in rows:
    print(f"| {name} | {ratio:.2f} | {aim} |")
