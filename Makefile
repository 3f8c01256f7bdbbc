# The two commands of the README: `make run` and `make test`. Everything else is CMake.
# docs/testing.md says what each test step runs and how to run one alone.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release
# ASan+UBSan build of the unit tests (part of `make test`).
ASAN_BUILD_DIR ?= build-asan
# libFuzzer build (clang) and how long `make fuzz` runs each target; `make test` only replays
# their seeds and saved crash inputs (`make fuzz-replay`).
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CXX ?= clang++-14
FUZZ_TARGETS = api_dispatch_fuzz reply_encoding_fuzz http_response_fuzz ws_call_frame_fuzz \
  stream_request_fuzz jwt_fuzz config_toml_fuzz file_headers_fuzz resp_reader_fuzz
# ThreadSanitizer build of the core's unit tests and the contract suites (part of `make test`).
TSAN_BUILD_DIR ?= build-tsan
TSAN_TESTS = node_test session_test channel_queues_contract_test server_event_log_contract_test \
             core_pieces_test rate_limits_test webhook_sender_test store_contract_test \
             broker_contract_test rate_limiter_contract_test login_attempts_contract_test \
             session_directory_contract_test topic_index_test
# Sanitizer reports fail the test instead of scrolling by.
SANITIZER_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
                UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
TSAN_ENV = TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp

.PHONY: deps test-deps configure build run test unit integration asan tsan fuzz fuzz-build fuzz-replay clean format bench

deps:
	@bash scripts/install-deps.sh

# What only the tests need besides: clang (fuzz targets) and Chromium (browser tests).
test-deps:
	@bash scripts/install-deps.sh --test

configure: deps
	@cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(BUILD_DIR)/bin/rtmd

test: test-deps build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory tsan
	@$(MAKE) --no-print-directory fuzz-replay

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit

integration: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L integration

# The unit tests and the integration suite again, against code and an rtmd built with
# AddressSanitizer and UndefinedBehaviorSanitizer; the harness fails a test class whose rtmd
# printed a sanitizer report (tests/integration/rtmd_harness.py, Rtmd.cleanup).
asan: test-deps
	@cmake -S . -B $(ASAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=Debug -DRTM_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)
	cd $(ASAN_BUILD_DIR) && $(SANITIZER_ENV) ctest --output-on-failure --timeout 600 -L unit
	cd $(ASAN_BUILD_DIR) && $(SANITIZER_ENV) ctest --output-on-failure --timeout 900 -L integration

# The engine's unit tests built with ThreadSanitizer, run binary by binary (only these are
# built in $(TSAN_BUILD_DIR)); a data race or lock-order inversion fails them.
tsan: deps
	@cmake -S . -B $(TSAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRTM_TSAN=ON >/dev/null
	@cmake --build $(TSAN_BUILD_DIR) -j $(JOBS) --target $(TSAN_TESTS)
	@for t in $(TSAN_TESTS); do \
	  echo "tsan: $$t"; \
	  $(TSAN_ENV) $(TSAN_BUILD_DIR)/bin/$$t --gtest_brief=1 || exit 1; \
	done

# The libFuzzer targets of tests/fuzz (clang, ASan+UBSan), their seed corpora replayed, then
# each target fuzzed for FUZZ_SECONDS; a crash input is saved under tests/fuzz/crashes/.
fuzz-build: test-deps
	@cmake -S . -B $(FUZZ_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRTM_FUZZ=ON \
	  -DCMAKE_CXX_COMPILER=$(FUZZ_CXX) >/dev/null
	@cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS) --target $(FUZZ_TARGETS)

# What `make test` runs of the fuzzers: every seed and every saved crash input once, so the
# result does not depend on what a random search happens to find that day.
fuzz-replay: fuzz-build
	cd $(FUZZ_BUILD_DIR) && $(SANITIZER_ENV) ctest --output-on-failure -L fuzz

fuzz: fuzz-build
	cd $(FUZZ_BUILD_DIR) && $(SANITIZER_ENV) ctest --output-on-failure -L fuzz
	@bash tests/fuzz/run.sh $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
