#!/usr/bin/env bash
# The libFuzzer targets of tests/fuzz (docs/testing.md, Fuzzing), built in build-fuzz/ with
# clang, ASan and UBSan (CMake option BUILD_FUZZERS; the Release build in build/ is untouched).
#   scripts/fuzz.sh TARGET SECONDS   one target for a local campaign: new inputs are kept in
#                                    build-fuzz/corpus/TARGET (copy the useful ones to
#                                    tests/fuzz/corpus/TARGET), a crash in build-fuzz/crashes/
#   scripts/fuzz.sh --smoke [SECONDS]  every target SECONDS each (default 20; 11 targets fit in
#                                    CI's 5 minutes) on the checked-in corpus; a crash fails
#                                    with its reproducer printed
#   scripts/fuzz.sh --list           the targets
# FUZZ_BUILD_DIR overrides build-fuzz. Runs are niced: the machine's other work comes first.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
CORPORA=tests/fuzz/corpus

targets() {
  ls tests/fuzz/*_fuzz.cpp | sed 's|.*/||; s|_fuzz\.cpp$||'
}

build() {
  if [ ! -f "$BUILD/build.ninja" ]; then
    local launcher=()
    command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DBUILD_FUZZERS=ON -DBUILD_TESTS=OFF "${launcher[@]}" >/dev/null
  fi
  nice cmake --build "$BUILD" -j "$(nproc)" --target "$@"
}

# run TARGET SECONDS SCRATCH: libFuzzer writes new inputs to SCRATCH (its first corpus folder)
# and reads the checked-in corpus too; a crash is saved in $BUILD/crashes/.
run() {
  local target=$1 seconds=$2 scratch=$3
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="$BUILD/crashes/$target-")
  [ -f "tests/fuzz/$target.dict" ] && args+=(-dict="tests/fuzz/$target.dict")
  mkdir -p "$scratch" "$BUILD/crashes" "$CORPORA/$target"
  nice -n 10 "$BUILD/fuzz/${target}_fuzz" "${args[@]}" "$scratch" "$CORPORA/$target"
}

# summary LOG: executions per second and coverage (libFuzzer's last status line).
summary() {
  local done execs
  done=$(grep -E '^#[0-9]+' "$1" | tail -1 || true)
  execs=$(grep -Eo 'stat::average_exec_per_sec: *[0-9]+' "$1" | grep -Eo '[0-9]+$' || echo '?')
  echo "$(grep -Eo 'cov: [0-9]+' <<<"$done" || echo 'cov: ?'), $(grep -Eo 'ft: [0-9]+' <<<"$done" || echo 'ft: ?'), $(grep -Eo 'corp: [0-9]+' <<<"$done" || echo 'corp: ?'), exec/s: $execs"
}

# report_crash TARGET LOG: the error and the input that caused it, as a command that replays it.
report_crash() {
  local target=$1 log=$2 artifact
  grep -E 'ERROR: |SUMMARY: |runtime error|property violated|deadly signal' "$log" | head -20
  artifact=$(grep -Eo "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/Test unit written to //')
  if [ -n "$artifact" ] && [ -f "$artifact" ]; then
    echo "reproducer ($artifact), base64:"
    base64 -w0 "$artifact"; echo
    echo "replay: $BUILD/fuzz/${target}_fuzz $artifact"
  fi
}

smoke() {
  local seconds=${1:-20} failed=0 log target
  build fuzzers
  log=$(mktemp)
  for target in $(targets); do
    local scratch
    scratch=$(mktemp -d)
    if run "$target" "$seconds" "$scratch" >"$log" 2>&1; then
      echo "fuzz $target: ok ($(summary "$log"))"
    else
      echo "fuzz $target: FAILED"
      report_crash "$target" "$log"
      failed=1
    fi
    rm -rf "$scratch"
  done
  rm -f "$log"
  return $failed
}

case "${1:-}" in
  --smoke) smoke "${2:-20}" ;;
  --list) targets ;;
  ""|-h|--help) sed -n '2,12p' "$0"; exit 2 ;;
  *)
    target=$1 seconds=${2:-60}
    targets | grep -qx "$target" || { echo "no fuzz target $target (scripts/fuzz.sh --list)"; exit 2; }
    build "${target}_fuzz"
    log="$BUILD/$target.log"
    set +e
    run "$target" "$seconds" "$BUILD/corpus/$target" 2>&1 | tee "$log" | grep -E '^#[0-9]+.*(pulse|DONE)'
    status=${PIPESTATUS[0]}
    set -e
    [ "$status" -eq 0 ] || report_crash "$target" "$log"
    echo "fuzz $target ${seconds}s: $(summary "$log")"
    exit "$status"
    ;;
esac
