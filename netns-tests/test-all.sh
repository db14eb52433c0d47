#!/usr/bin/env bash
# test-all.sh - everything CI runs, from a clean clone, as root:
#   1. installs the Debian packages and PyPI modules the tests use (install-deps.sh),
#   2. checks what the compiler cannot see of the targets' layering (tools/layering.py) and the
#      code's style (swift format lint), runs the test tools' own tests (pytest), and builds
#      flowtap (release) refusing any import that Package.swift does not declare,
#   3. runs the unit tests (swift test, XCTest), plain, under ThreadSanitizer and under
#      AddressSanitizer,
#   4. runs the libFuzzer targets, the per-frame path, the capture reader, the
#      application-visibility parsers and QUIC's Initials, 60 s each (Fuzz/fuzz.sh),
#   5. runs every netns-tests/test_*.sh against real TAPs, a real bridge and real collectors.
# Every step runs under a time limit. A netns test that lacks a prerequisite exits 4 (skipped,
# as kselftest's): skips are listed apart and never counted as passes; under CI (CI=true), where
# this script has installed every prerequisite, a skip fails the run.
# Exits non-zero on any failure. The last line is the netns tally.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if [[ $EUID -ne 0 ]]; then
  echo "test-all.sh: run as root (the netns tests create namespaces and TAPs)" >&2
  exit 1
fi

# Debian packages and PyPI modules the tests use, only those missing (the same installer as
# demo.sh).
bash "$ROOT/netns-tests/install-deps.sh" || exit 1

# Every step runs under a time limit, so that a hang fails instead of stalling CI (90 min in
# all). Seconds; the longest steps are the sanitizer builds.
limit() { local seconds=$1; shift; timeout --kill-after=15 "$seconds" "$@"; }
timed_out() { [[ $1 -eq 124 || $1 -eq 137 ]]; }

echo "== layering (tools/layering.py)"
swift package dump-package >/tmp/flowtap-package.json && python3 netns-tests/tools/layering.py /tmp/flowtap-package.json Sources
stage_rc=$?

echo "== style (swift format lint --strict, .swift-format)"
limit 300 swift format lint --strict --recursive --parallel Sources Tests Fuzz/Sources Benchmarks/Benchmarks 2>&1 | tail -20
format_rc=${PIPESTATUS[0]}

echo "== test tools (pytest netns-tests/tools/tests)"
limit 300 python3 -m pytest -q -p no:cacheprovider netns-tests/tools/tests 2>&1 | tail -3
pytest_rc=${PIPESTATUS[0]}

echo "== build (release)"
# SwiftPM lets an undeclared import of a module of this package through on Linux: refused here,
# so that a stage that uses a later one does not compile.
limit 900 swift build -c release --explicit-target-dependency-import-check error 2>&1 | tail -3
[[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "build failed" >&2; exit 1; }
export FT_BIN=$ROOT/.build/release/flowtap

# unit NAME ARGS...: swift test (XCTest) with ARGS, its log in /tmp/flowtap-NAME.log.
unit_failures=()
unit() {
  local name=$1; shift
  echo "== unit tests ($name)"
  limit 1800 swift test --disable-swift-testing "$@" 2>&1 | tee "/tmp/flowtap-$name.log" \
    | grep -E "error:|failed|Executed .* tests|WARNING: ThreadSanitizer|ERROR: AddressSanitizer" | tail -20
  local rc=${PIPESTATUS[0]}
  if timed_out "$rc"; then echo "unit tests ($name) timed out"; fi
  # A sanitizer report fails the run even where the test that raised it passed.
  if grep -qE "WARNING: ThreadSanitizer|ERROR: AddressSanitizer" "/tmp/flowtap-$name.log"; then rc=1; fi
  if [[ $rc -ne 0 ]]; then
    unit_failures+=("$name")
    # CI keeps only this output: the failed cases and the first sanitizer report, whole.
    echo "   unit tests ($name) failed (exit $rc); the failed cases and the first report:"
    grep -E "error: |Test Case .* failed|Fatal error|Crash|signal" "/tmp/flowtap-$name.log" | head -20
    sed -n '/WARNING: ThreadSanitizer\|ERROR: AddressSanitizer/,/^SUMMARY/p' "/tmp/flowtap-$name.log" | head -60
  fi
}
unit plain
unit tsan --sanitize=thread --scratch-path .build-tsan
# LeakSanitizer reports XCTest's own objects at exit (its test registry, a weak reference in its
# runner; no frame of FlowTap's), and a suppression cannot tell them from a leak of ours, since
# every test runs under XCTest's frames. So this run reports address errors only; the fuzzer
# below runs LeakSanitizer over the whole per-frame path and the encoders.
ASAN_OPTIONS=detect_leaks=0 unit asan --sanitize=address --scratch-path .build-asan

echo "== fuzz (60 s a target)"
limit 1500 bash Fuzz/fuzz.sh 60 | tail -3
fuzz_rc=${PIPESTATUS[0]}

echo "== netns tests"
passed=0 failed=0 skipped=0 failures=() skips=()
for t in "$ROOT"/netns-tests/test_*.sh; do
  name=$(basename "$t")
  echo "-- $name"
  limit "${FT_TEST_LIMIT:-600}" bash "$t"
  rc=$?
  if timed_out "$rc"; then echo "  FAIL - $name timed out after ${FT_TEST_LIMIT:-600} s"; fi
  if [[ $rc -eq 0 ]]; then passed=$((passed + 1))
  elif [[ $rc -eq 4 ]]; then skipped=$((skipped + 1)); skips+=("$name")
  else failed=$((failed + 1)); failures+=("$name"); fi
done
[[ $stage_rc -eq 0 ]] || echo "layering FAILED: a target out of pipeline order, a forbidden or a stale dependency (see above)"
[[ $format_rc -eq 0 ]] || echo "style FAILED: 'swift format format -i -r Sources Tests Fuzz/Sources Benchmarks/Benchmarks' fixes what it can"
[[ $pytest_rc -eq 0 ]] || echo "test tools' tests FAILED (pytest netns-tests/tools/tests)"
[[ ${#unit_failures[@]} -eq 0 ]] || echo "unit tests FAILED: ${unit_failures[*]} (see /tmp/flowtap-*.log)"
[[ $fuzz_rc -eq 0 ]] || echo "fuzz FAILED (see Fuzz/artifacts)"
[[ $failed -eq 0 ]] || echo "netns tests failed: ${failures[*]}"
[[ $skipped -eq 0 ]] || echo "netns tests skipped (a prerequisite missing): ${skips[*]}"
skips_ok=1
if [[ $skipped -gt 0 && ${CI:-} == true ]]; then
  echo "under CI every prerequisite was installed, so a skip is a failure"; skips_ok=0
fi
echo "netns-tests: $passed passed, $failed failed, $skipped skipped"
[[ $stage_rc -eq 0 && $format_rc -eq 0 && $pytest_rc -eq 0 && ${#unit_failures[@]} -eq 0 && $fuzz_rc -eq 0 && $failed -eq 0 && $skips_ok -eq 1 ]]
