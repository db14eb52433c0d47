#!/usr/bin/env bash
# bench-read.sh [PACKETS] [REPETITIONS] - `flowtap read` side by side with its peers on one
# capture: softflowd -r, nfdump's nfpcapd -r and pmacct's pmacctd (pcap_savefile), each
# REPETITIONS times (default 3), interleaved, on a capture of PACKETS frames (default 5 000 000)
# made by tools/gencapture.py (TCP connections with handshake, data and FIN, UDP, ICMP, IPv4
# and IPv6, 802.1Q tags; about PACKETS / 20 flows).
#
# flowtap, softflowd and pmacctd export IPFIX to nfcapd in a namespace of the script's own;
# nfpcapd writes nfcapd files itself. Every tool gets a flow table larger than the capture ever
# needs at once (about 60 000 flows are live at a time): flowtap's and nfpcapd's defaults
# (262 144 and 524 288), softflowd 262 144. And the same timeouts, flowtap's defaults: idle
# 15 s, active 60 s, 5 s after a FIN or RST
# (each tool's nearest settings). BENCH_TOOLS picks the tools (default: flowtap softflowd
# nfpcapd); pmacctd's nfprobe plugin spent minutes of CPU on 5 million packets here, so it
# joins on smaller captures: BENCH_TOOLS="flowtap softflowd nfpcapd pmacctd" bench-read.sh
# 300000 3. flowtap-noapp is flowtap with --app-fields off, ndpiReader nDPI's reader (which
# names flows and exports nothing: its CPU only). BENCH_APPS=1 makes the capture rich in TLS,
# HTTP and DNS (gencapture.py --apps). Per run:
#   - flows exact: per 5-tuple, nfdump's packets and bytes (summed over a flow's records)
#     against tools/pcapflows.py over the capture, and flows wrong with the first reasons;
#   - packets per second by the clock, CPU seconds (user + system, every thread and child,
#     GNU time), packets per CPU second, and peak resident memory.
# Prints a row per run and the per-tool medians (a markdown table, for docs/performance.md).
source "$(dirname "$0")/lib.sh"
require_root
bash "$(dirname "$0")/install-deps.sh" >/dev/null || exit 1
needs softflowd nfpcapd nfcapd nfdump python3 /usr/bin/time
[[ " $BENCH_TOOLS " != *" ndpiReader "* ]] || needs ndpiReader
TOOLS=$(dirname "$0")/tools
PACKETS=${1:-5000000}
REPS=${2:-3}
BENCH_TOOLS=${BENCH_TOOLS:-flowtap softflowd nfpcapd}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$NS_C"
ns_quiet "$NS_C"
ip -n "$NS_C" addr add "$C_IP/32" dev lo
chmod 755 "$FT_OUT"

log "making the capture: $PACKETS packets${BENCH_APPS:+, rich in TLS, HTTP and DNS}"
python3 "$TOOLS/gencapture.py" "$FT_OUT/big.pcap" "$PACKETS" ${BENCH_APPS:+--apps}
log "ground truth (tools/pcapflows.py)"
python3 "$TOOLS/pcapflows.py" "$FT_OUT/big.pcap" >"$FT_OUT/truth.json"
packets=$(python3 -c 'import os,sys; sys.path.insert(0, sys.argv[1]); from pcapfile import frames; print(sum(1 for _ in frames(sys.argv[2])))' "$TOOLS" "$FT_OUT/big.pcap")
flows=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$FT_OUT/truth.json")
log "the capture: $packets packets, $flows flows (5-tuples), $(( $(stat -c %s "$FT_OUT/big.pcap") >> 20 )) MiB"

# collect NAME PORT: nfcapd for one run, into $FT_OUT/NAME, with a 4 MiB socket buffer (-B;
# net.core.rmem_max here): the readers send faster than a collector sharing their two cores
# is always scheduled, and UDP has no flow control. The default 208 KiB lost flowtap 422 and
# softflowd 9 736 of 485 732 flows in one run.
collect() {
  mkdir -p "$FT_OUT/$1"
  ip netns exec "$NS_C" nfcapd -w "$FT_OUT/$1" -p "$2" -b "$C_IP" -t 3600 -I "$1" -B 4194304 >"$FT_OUT/$1.nfcapd.log" 2>&1 &
  NFCAPD=$!
  wait_listening "$NS_C" "$2" u
}

# timed NAME CMD...: CMD in the namespace under GNU time: "wall user system maxrss-KiB".
timed() {
  local name=$1; shift
  ip netns exec "$NS_C" /usr/bin/time -f "%e %U %S %M" -o "$FT_OUT/$name.time" "$@" >"$FT_OUT/$name.log" 2>&1
}

cat >"$FT_OUT/pmacctd.conf" <<EOF
daemonize: false
pcap_savefile: $FT_OUT/big.pcap
plugins: nfprobe
nfprobe_receiver: $C_IP:4743
nfprobe_version: 10
nfprobe_maxflows: 262144
nfprobe_timeouts: tcp=15:tcp.rst=5:tcp.fin=5:udp=15:icmp=15:general=15:maxlife=60:expint=1
aggregate: src_host, dst_host, src_port, dst_port, proto
EOF

run() {  # run TOOL REP
  local tool=$1 rep=$2 name="$1-$2"
  case $tool in
    flowtap)
      collect "$name" 4740
      timed "$name" "$FT_BIN" read "$FT_OUT/big.pcap" --collector "$C_IP:4740"
      ;;
    flowtap-noapp)
      collect "$name" 4744
      timed "$name" "$FT_BIN" read "$FT_OUT/big.pcap" --collector "$C_IP:4744" --app-fields off
      ;;
    ndpiReader)
      # nDPI's reader names flows and exports none: its CPU only (no flows to check).
      timed "$name" ndpiReader -i "$FT_OUT/big.pcap" -q
      NFCAPD=
      ;;
    softflowd)
      collect "$name" 4741
      # -c none: with a control socket, softflowd 1.1.0 -r blocks in accept(2) before reading.
      timed "$name" softflowd -r "$FT_OUT/big.pcap" -n "$C_IP:4741" -v 10 -6 -m 262144 -d -c none -p "$FT_OUT/sf.pid" \
        -t maxlife=60 -t general=15 -t tcp=15 -t udp=15 -t icmp=15 -t tcp.fin=5 -t tcp.rst=5 -t expint=1
      ;;
    pmacctd)
      collect "$name" 4743
      timed "$name" pmacctd -f "$FT_OUT/pmacctd.conf"
      ;;
    nfpcapd)
      mkdir -p "$FT_OUT/$name"
      timed "$name" nfpcapd -r "$FT_OUT/big.pcap" -w "$FT_OUT/$name" -e 60,15 -t 3600
      NFCAPD=
      ;;
  esac
  sleep 1
  [[ -z $NFCAPD ]] || stop_pid "$NFCAPD"
  if [[ $tool == ndpiReader ]]; then
    echo "no flow records" >"$FT_OUT/$name.check"
  else
    nfdump -R "$FT_OUT/$name" -a -o csv 2>/dev/null | python3 "$TOOLS/nfdump2json.py" >"$FT_OUT/$name.json"
    python3 "$TOOLS/flowcheck.py" counts "$FT_OUT/truth.json" "$FT_OUT/$name.json" >"$FT_OUT/$name.check" || true
  fi
  read -r wall user sys rss <"$FT_OUT/$name.time" || true
  local tally; tally=$(tail -1 "$FT_OUT/$name.check")
  local differ; differ=$(sed -nE 's/.* ([0-9]+) differ$/\1/p' <<<"$tally")
  local got; got=$(sed -nE 's/.*, ([0-9]+) at the collector.*/\1/p' <<<"$tally")
  printf '%s %s %s %s %s %s %s %s\n' "$tool" "$rep" "$wall" "$user" "$sys" "$rss" "${differ:-?}" "${got:-?}" >>"$FT_OUT/rows.txt"
  echo "  $tool #$rep: wall ${wall}s, cpu $(python3 -c "print(round($user + $sys, 2))")s, rss $((rss / 1024)) MiB; $tally"
  grep -m 3 DIFF "$FT_OUT/$name.check" | sed 's/^/      /' || true
  rm -rf "${FT_OUT:?}/$name"
}

for rep in $(seq "$REPS"); do
  for tool in $BENCH_TOOLS; do run "$tool" "$rep"; done
done

python3 - "$FT_OUT/rows.txt" "$packets" "$flows" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
packets, flows = int(sys.argv[2]), int(sys.argv[3])
print(f"\n{packets} packets, {flows} flows; medians of {max(int(r[1]) for r in rows)} interleaved runs\n")
print("| tool | flows exact | wall s | packets/s (wall) | CPU s | packets per CPU s | peak RSS MiB |")
print("|---|---|---|---|---|---|---|")
best = {}
for tool in dict.fromkeys(r[0] for r in rows):
    mine = [r for r in rows if r[0] == tool]
    wall = statistics.median(float(r[2]) for r in mine)
    cpu = statistics.median(float(r[3]) + float(r[4]) for r in mine)
    rss = statistics.median(int(r[5]) for r in mine) / 1024
    differ = [r[6] for r in mine]
    exact = ", ".join(f"{flows - int(d)}" if d.isdigit() else d for d in differ)
    best[tool] = packets / cpu
    print(f"| {tool} | {exact} of {flows} | {wall:.2f} | {packets / wall:,.0f} | {cpu:.2f} | {packets / cpu:,.0f} | {rss:.0f} |")
peers = {t: v for t, v in best.items() if not t.startswith("flowtap")}
if "flowtap" in best and peers:
    top = max(peers, key=peers.get)
    # Per repetition (the runs of one repetition shared the machine's mood): the peer's CPU
    # seconds over flowtap's, the median and the range.
    cpu = {(r[0], r[1]): float(r[3]) + float(r[4]) for r in rows}
    ratios = sorted(cpu[(top, rep)] / cpu[("flowtap", rep)] for (t, rep) in cpu if t == "flowtap" and (top, rep) in cpu)
    print(f"\nflowtap: {best['flowtap'] / peers[top]:.2f} times the packets per CPU second of the most efficient peer ({top}),"
          f" medians; per repetition {statistics.median(ratios):.2f} ({ratios[0]:.2f} - {ratios[-1]:.2f})")
if "flowtap" in best and "flowtap-noapp" in best:
    cpu = {(r[0], r[1]): float(r[3]) + float(r[4]) for r in rows}
    kept = sorted(cpu[("flowtap-noapp", rep)] / cpu[("flowtap", rep)]
                  for (t, rep) in cpu if t == "flowtap" and ("flowtap-noapp", rep) in cpu)
    print(f"flowtap with application fields keeps {statistics.median(kept):.0%} of its packets per CPU second without them,"
          f" per repetition ({kept[0]:.0%} - {kept[-1]:.0%})")
EOF
