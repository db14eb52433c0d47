#!/usr/bin/env python3
"""appcheck.py - the application fields of test_app_fields.sh, flowtap's against the truth.

  appcheck.py truth PCAP...            what tshark reads in the captures of the TAPs, one JSON
                                       object per flow direction (first message of each)
  appcheck.py ipfix TSHARK_JSON        flowtap's IPFIX or NetFlow v9 records as tshark decodes them
  appcheck.py flowtap READ_JSON        `flowtap read --json` lines
  appcheck.py compare TRUTH GOT [--min N] [--fields a,b]
                                       every flow of TRUTH in GOT with equal fields; exit 1 if not
  appcheck.py ndpi NDPI_CSV            ndpiReader's flows (-C), one per connection
  appcheck.py nfdump NFDUMP_LINES      nfdump's records (-o "fmt:%sa|%sp|%da|%dp|%pr|%nbid|%nbnam"):
                                       the application named by the options, and the applicationId
  appcheck.py named TRUTH GOT          "RIGHT TOTAL": of the client flows tshark names, those GOT
                                       names the same (application and name)
  appcheck.py biflow TRUTH GOT [--min N]
                                       every labelled biflow record of GOT (tools/ipfixapp.py) with
                                       its initiator's fields and its responder's status and rcode

The truth's JA4 is computed here from tshark's fields of each ClientHello, after FoxIO's JA4
specification (technical_details/JA4.md): independent of flowtap's parser.
"""
import hashlib
import json
import subprocess
import sys

TRUTH_FIELDS = [
    "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
    "tls.handshake.type", "tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str",
    "http.request.method", "http.host", "http.request.uri", "http.request.version", "http.user_agent",
    "http.response.code", "dns.qry.name", "dns.qry.type", "dns.flags.rcode", "dns.flags.response",
    "tls.handshake.ciphersuite", "tls.handshake.extension.type", "tls.handshake.sig_hash_alg",
    "tls.handshake.extensions.supported_version", "tls.handshake.version", "quic.version",
]


# flowtap's applicationId selectors (engine 6) and the names its options record gives them.
APPS = {1: "tls", 2: "http", 3: "dns", 4: "ssh", 5: "quic"}


def grease(v):
    return (v & 0x0F0F) == 0x0A0A and (v >> 8) == (v & 0xFF)


def highest_version(f):
    """The highest TLS version a ClientHello offers: supported_versions less GREASE, or the
    legacy version field without that extension."""
    versions = [int(x, 0) for x in f.get("tls.handshake.extensions.supported_version", "").split(",") if x]
    versions = [v for v in versions if not grease(v)]
    return max(versions) if versions else int(f.get("tls.handshake.version", "0") or "0", 0)


def ja4(f):
    """JA4 from a ClientHello's tshark fields ('t' over TCP, 'q' over QUIC)."""
    def nums(name):
        return [int(x, 0) for x in f.get(name, "").split(",") if x]
    ciphers = [c for c in nums("tls.handshake.ciphersuite") if not grease(c)]
    exts = [e for e in nums("tls.handshake.extension.type") if not grease(e)]
    version = highest_version(f)
    vtext = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3"}.get(version, "00")
    sni = "d" if f.get("tls.handshake.extensions_server_name") else "i"
    alpn = f.get("tls.handshake.extensions_alpn_str", "").split(",")[0]
    a = "00" if not alpn else (alpn[0] + alpn[-1])
    if alpn and (not alpn[0].isalnum() or not alpn[-1].isalnum()):
        h = alpn.encode().hex()
        a = h[0] + h[-1]
    transport = "q" if f.get("quic.version") else "t"
    part_a = f"{transport}{vtext}{sni}{min(len(ciphers), 99):02d}{min(len(exts), 99):02d}{a}"
    def h12(s):
        return "000000000000" if not s else hashlib.sha256(s.encode()).hexdigest()[:12]
    part_b = h12(",".join(f"{c:04x}" for c in sorted(ciphers)))
    sig = nums("tls.handshake.sig_hash_alg")
    ext_c = ",".join(f"{e:04x}" for e in sorted(e for e in exts if e not in (0x0000, 0x0010)))
    if sig:
        ext_c += "_" + ",".join(f"{s:04x}" for s in sig)
    part_c = h12(ext_c) if exts and ext_c else "000000000000"
    return f"{part_a}_{part_b}_{part_c}"


def truth(paths):
    flows = {}
    for path in paths:
        out = subprocess.run(
            ["tshark", "-r", path, "-o", "tcp.reassemble_out_of_order:TRUE", "-T", "fields", "-E", "separator=\t",
             "-E", "aggregator=,", "-Y", "tls.handshake.type == 1 || tls.handshake.type == 2 || http.request || http.response || dns"]
            + sum((["-e", f] for f in TRUTH_FIELDS), []),
            capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            f = dict(zip(TRUTH_FIELDS, line.split("\t")))
            sport = f["tcp.srcport"] or f["udp.srcport"]
            dport = f["tcp.dstport"] or f["udp.dstport"]
            src, dst = f["ip.src"] or f["ipv6.src"], f["ip.dst"] or f["ipv6.dst"]
            key = f"{src}:{sport}>{dst}:{dport}/{'tcp' if f['tcp.srcport'] else 'udp'}"
            if key in flows:
                continue
            r = {"key": key}
            if f["dns.qry.name"]:
                r.update(app="dns", name=f["dns.qry.name"].split(",")[0], dnsType=int(f["dns.qry.type"].split(",")[0]),
                         dnsRcode=int(f["dns.flags.rcode"] or 0))
            elif "1" in f["tls.handshake.type"].split(","):
                r.update(app="tls", name=f["tls.handshake.extensions_server_name"],
                         alpn=f["tls.handshake.extensions_alpn_str"].split(",")[0], ja4=ja4(f),
                         tlsVersion=highest_version(f))
                if f["quic.version"]:
                    # tshark opened the Initials: the QUIC version of the first packet.
                    r.update(app="quic", quicVersion=f["quic.version"].split(",")[0])
            elif "2" in f["tls.handshake.type"].split(","):
                r.update(app="quic" if f["quic.version"] else "tls")
            elif f["http.request.method"]:
                r.update(app="http", name=f["http.host"], httpMethod=f["http.request.method"],
                         httpTarget=f["http.request.uri"], httpUserAgent=f["http.user_agent"])
            elif f["http.response.code"]:
                r.update(app="http", httpStatus=int(f["http.response.code"]))
            flows[key] = r
    return list(flows.values())


def ipfix(path):
    """Flow records of tshark's JSON of the export capture, with the application fields."""
    names = {
        "cflow.srcaddr": "src", "cflow.dstaddr": "dst", "cflow.srcport": "sport", "cflow.dstport": "dport",
        "cflow.protocol": "proto", "cflow.appl_id.selector_id": "selector",
        "cflow.pie.ntop.ssl_server_name": "name", "cflow.pie.ntop.dns_query": "name",
        "cflow.http_request_host": "name", "cflow.http_request_method": "httpMethod",
        "cflow.http_request_target": "httpTarget", "cflow.http_user_agent": "httpUserAgent",
        "cflow.http_statuscode": "httpStatus", "cflow.pie.ntop.dns_query_type": "dnsType",
        "cflow.pie.ntop.dns_ret_code": "dnsRcode",
    }
    out = []

    def walk(node):
        if isinstance(node, dict):
            if "cflow.srcaddr" in node:
                r = {}
                for k, v in node.items():
                    if k in names:
                        r[names[k]] = v[0] if isinstance(v, list) else v
                out.append(r)
                return
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.load(open(path)))
    records = []
    for r in out:
        proto = {"6": "tcp", "17": "udp"}.get(str(r.get("proto")), str(r.get("proto")))
        rec = {"key": f"{r.get('src')}:{r.get('sport')}>{r.get('dst')}:{r.get('dport')}/{proto}"}
        for k in ("name", "httpMethod", "httpTarget", "httpUserAgent"):
            if k in r and r[k] != "":
                rec[k] = r[k]
        # applicationId (IE 95): engine 6, then flowtap's selector ("00:01"), named as the
        # options record names it.
        if r.get("selector"):
            rec["app"] = APPS.get(int(r["selector"].replace(":", ""), 16), r["selector"])
        for k in ("httpStatus", "dnsType", "dnsRcode"):
            if k in r:
                rec[k] = int(r[k])
        records.append(rec)
    return records


def flowtap(path):
    records = []
    for line in open(path):
        j = json.loads(line)
        proto = {6: "tcp", 17: "udp"}.get(j["proto"], str(j["proto"]))
        r = {"key": f"{j['src']}:{j['sport']}>{j['dst']}:{j['dport']}/{proto}"}
        # `read --json` spells its keys in snake case.
        for k, key in (("app", "app"), ("name", "name"), ("alpn", "alpn"), ("ja4", "ja4"), ("quicVersion", "quic_version"),
                       ("httpMethod", "http_method"),
                       ("httpTarget", "http_target"), ("httpUserAgent", "http_user_agent"), ("httpStatus", "http_status"),
                       ("dnsType", "dns_type"), ("dnsRcode", "dns_rcode")):
            if j.get(key) is not None:
                r[k] = j[key]
        records.append(r)
    return records


def compare(truth_path, got_path, minimum, fields):
    want = json.load(open(truth_path))
    got = {}
    for r in json.load(open(got_path)):
        got.setdefault(r["key"], r)
    bad = 0
    for t in want:
        g = got.get(t["key"])
        if g is None:
            print(f"missing: {t['key']} ({t.get('app')})")
            bad += 1
            continue
        for k in fields:
            if k in t and t[k] != "" and g.get(k) != t[k]:
                print(f"{t['key']}: {k} is {g.get(k)!r}, truth {t[k]!r}")
                bad += 1
    print(f"{len(want)} flows of the truth, {bad} differences")
    return bad == 0 and len(want) >= minimum


def ndpi(path):
    """ndpiReader's CSV (-C): one record per connection, under each of its directions' keys, with
    the application nDPI gave it (its first part, "TLS" of "TLS.Google") and the server name or
    host it read."""
    import csv
    out = []
    with open(path) as f:
        rows = csv.reader(line.lstrip("#") for line in f)
        head = next(rows)
        for row in rows:
            r = dict(zip(head, row))
            proto = {"6": "tcp", "17": "udp"}.get(r["protocol"], r["protocol"])
            rec = {"key": f"{r['src_ip']}:{r['src_port']}>{r['dst_ip']}:{r['dst_port']}/{proto}",
                   "app": r["ndpi_proto"].split(".")[0].lower()}
            if r.get("server_name_sni"):
                rec["name"] = r["server_name_sni"]
            # The server's direction too: a DNS response names its question as the query does.
            out += [rec, dict(rec, key=f"{r['dst_ip']}:{r['dst_port']}>{r['src_ip']}:{r['src_port']}/{proto}")]
    return out


def named(truth_path, got_path):
    """How many of the flows the truth names by a name (TLS server name, HTTP host, DNS
    question: the client's direction) GOT names the same: application and name."""
    got = {}
    for r in json.load(open(got_path)):
        got.setdefault(r["key"], r)
    want = [t for t in json.load(open(truth_path)) if t.get("name") and t.get("app") in ("tls", "http", "dns", "quic")]
    right = 0
    for t in want:
        g = got.get(t["key"])
        if g and g.get("app") == t["app"] and g.get("name") == t["name"]:
            right += 1
        else:
            print(f"  not named as tshark names it: {t['key']} {t['app']} {t['name']} (got {g and (g.get('app'), g.get('name'))})",
                  file=sys.stderr)
    print(right, len(want))


def nfdump(path):
    """nfdump's lines of -o "fmt:%sa|%sp|%da|%dp|%pr|%nbid|%nbnam" (-N): each record under its
    key, with the application's name as nfdump read it from the options records (the part of
    %nbnam before "/": "tls" of "tls/TLS over TCP, ...") and the applicationId as it prints it
    (%nbid, engine first: "6..1")."""
    out = []
    for line in open(path):
        parts = [p.strip() for p in line.split("|", 6)]
        if len(parts) < 7 or not parts[1].isdigit():
            continue
        sa, sp, da, dp, pr, nbid, nbnam = parts
        proto = {"6": "tcp", "17": "udp"}.get(pr, pr)
        rec = {"key": f"{sa}:{sp}>{da}:{dp}/{proto}", "appId": nbid}
        if "/" in nbnam:
            rec["app"] = nbnam.split("/", 1)[0]
        out.append(rec)
    return out


def reverse_key(key):
    ends, proto = key.split("/")
    a, b = ends.split(">")
    return f"{b}>{a}/{proto}"


def biflow(truth_path, got_path, minimum):
    """Every biflow record of a labelled flow against the truth: the initiator's fields from its
    direction's, the HTTP status and DNS response code from the responder's."""
    want = {t["key"]: t for t in json.load(open(truth_path))}
    bad = checked = 0
    for g in json.load(open(got_path)):
        if not g.get("biflow"):
            print(f"{g['key']}: not a biflow record")
            bad += 1
            continue
        forward, reverse = want.get(g["key"]), want.get(reverse_key(g["key"]))
        if forward is None or forward.get("app") not in ("tls", "http", "dns", "quic"):
            continue
        checked += 1
        expect = {k: v for k, v in forward.items() if k not in ("key", "httpStatus", "dnsRcode") and v != ""}
        if reverse is not None:
            for k in ("httpStatus", "dnsRcode"):
                if k in reverse:
                    expect[k] = reverse[k]
        for k, v in expect.items():
            if g.get(k) != v:
                print(f"{g['key']}: {k} is {g.get(k)!r}, truth {v!r}")
                bad += 1
    print(f"{checked} labelled biflow records checked, {bad} differences")
    return bad == 0 and checked >= minimum


def main():
    cmd = sys.argv[1]
    if cmd == "truth":
        json.dump(truth(sys.argv[2:]), sys.stdout, indent=1)
    elif cmd == "ipfix":
        json.dump(ipfix(sys.argv[2]), sys.stdout, indent=1)
    elif cmd == "flowtap":
        json.dump(flowtap(sys.argv[2]), sys.stdout, indent=1)
    elif cmd == "compare":
        args = sys.argv[2:]
        minimum = int(args[args.index("--min") + 1]) if "--min" in args else 1
        fields = args[args.index("--fields") + 1].split(",") if "--fields" in args else []
        sys.exit(0 if compare(args[0], args[1], minimum, fields) else 1)
    elif cmd == "nfdump":
        json.dump(nfdump(sys.argv[2]), sys.stdout, indent=1)
    elif cmd == "ndpi":
        json.dump(ndpi(sys.argv[2]), sys.stdout, indent=1)
    elif cmd == "named":
        named(sys.argv[2], sys.argv[3])
    elif cmd == "biflow":
        args = sys.argv[2:]
        minimum = int(args[args.index("--min") + 1]) if "--min" in args else 1
        sys.exit(0 if biflow(args[0], args[1], minimum) else 1)


if __name__ == "__main__":
    main()
