#!/usr/bin/env bash
# Runs each libFuzzer target of tests/fuzz for a while (`make fuzz`):
#   tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
# New inputs go to BUILD_DIR/fuzz-corpus/<name> (the seeds in tests/fuzz/corpus/<name> stay
# as committed); a crash is saved as tests/fuzz/crashes/<name>/crash-<sha1> and fails the run
# after every target has had its turn.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:?build dir}
seconds=${2:?seconds}
shift 2
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(api_dispatch_fuzz reply_encoding_fuzz http_response_fuzz ws_call_frame_fuzz
  stream_request_fuzz jwt_fuzz config_toml_fuzz file_headers_fuzz resp_reader_fuzz)

# Leaks matter for the server, but the fuzz harness keeps its engine for the whole run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=()
for t in "${targets[@]}"; do
  name=${t%_fuzz}
  mkdir -p "$build/fuzz-corpus/$name" "tests/fuzz/crashes/$name"
  echo "fuzz: $t for ${seconds}s"
  if ! "$build/bin/$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=25 \
      -rss_limit_mb=2048 -artifact_prefix="tests/fuzz/crashes/$name/" \
      "$build/fuzz-corpus/$name" "tests/fuzz/corpus/$name" 2>"$build/fuzz-$name.log"; then
    failed+=("$t")
    tail -n 60 "$build/fuzz-$name.log"
  else
    grep -E "^stat::number_of_executed_units|^#[0-9]+ *DONE" "$build/fuzz-$name.log" | tail -n 2
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs under tests/fuzz/crashes/, logs in $build/fuzz-*.log)"
  exit 1
fi
echo "fuzz: all targets ran ${seconds}s without a finding"
