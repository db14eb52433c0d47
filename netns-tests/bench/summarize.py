#!/usr/bin/env python3
"""summarize.py RAW.tsv [RAW.tsv ...]: medians of bench.sh's measurements and the ratios it
reports. Several runs' RAW.tsv (bench.sh -o DIR keeps DIR/raw.tsv) are pooled: every
repetition of every run counts once, and a ratio pairs its two sides within one repetition."""
import statistics
import sys
from collections import defaultdict

values = defaultdict(list)
by_rep = {}
for run, path in enumerate(sys.argv[1:]):
    for line in open(path):
        mode, rep, metric, value = line.rstrip("\n").split("\t")
        if value:
            values[(mode, metric)].append(float(value))
            by_rep[(mode, f"{run}:{rep}", metric)] = float(value)

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
# (name, numerator mode, denominator mode, metric, aim)
ratios = [("TCP, flowtap / C (plain)", "ft-plain", "c-plain", "tcp_gbps", ">= 0.95"),
          ("TCP, flowtap --offload / C -v", "ft-offload", "c-vnet", "tcp_gbps", ">= 0.95"),
          ("TCP, flowtap --offload / kernel bridge", "ft-offload", "bridge", "tcp_gbps", ">= 0.85"),
          ("60-byte frames/s, flowtap / C (plain)", "ft-plain", "c-plain", "pps60", ">= 0.95"),
          ("60-byte frames/s, flowtap --offload / C -v", "ft-offload", "c-vnet", "pps60", ">= 0.95"),
          ("ping RTT, flowtap / C (plain)", "ft-plain", "c-plain", "rtt_us", "<= 1.10"),
          ("60-byte frames/s, every frame a new flow / one flow", "ft-churn", "ft-plain", "pps60", ">= 0.90"),
          ("TCP, C reference -v / kernel bridge (for comparison)", "c-vnet", "bridge", "tcp_gbps", "–")]
# Modes are interleaved within a repetition, so the two sides of a ratio from the same
# repetition share the machine's mood; their spread shows how far one run can be trusted.
print("| ratio | measured (of medians) | per repetition: median (min – max) | aim |")
print("|---|---|---|---|")
for name, num, den, metric, aim in ratios:
    paired = sorted(by_rep[(num, rep, metric)] / by_rep[(den, rep, metric)]
                    for (mode, rep, m) in by_rep if mode == num and m == metric and (den, rep, metric) in by_rep)
    spread = f"{statistics.median(paired):.2f} ({paired[0]:.2f} – {paired[-1]:.2f})" if paired else "–"
    print(f"| {name} | {med(num, metric) / med(den, metric):.2f} | {spread} | {aim} |")
