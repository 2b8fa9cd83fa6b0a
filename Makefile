# The two commands of the README, and their parts.
#   make run   install what is missing, build, start on etc/sipserver.conf
#   make test  install what is missing, build, lint, run every test (ctest),
#              then a short smoke run of each fuzz target (clang build)
#   make fuzz  each fuzz target for FUZZ_SECONDS (docs/reliability.md)
BUILD ?= build
JOBS  ?= $(shell nproc)
CONF  ?= etc/sipserver.conf
# first port of the end-to-end tests' blocks: another tree tested at the
# same time on this machine needs another (tests/e2e/README.md)
E2E_PORT_BASE ?= 15000
# the libFuzzer targets' own build (clang), and how long each runs
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_TARGETS = tlib_line cfg_file site_body sdp_offer sip_request rtp_packet

C_FILES = $(shell git ls-files -co --exclude-standard -- '*.c' '*.h' \
		2>/dev/null || find src tests tools lib include bench \
		-name '*.[ch]' 2>/dev/null)

.PHONY: all deps build run test lint format clean fuzz-build fuzz

all: build

deps:
	./scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DE2E_PORT_BASE=$(E2E_PORT_BASE)
	cmake --build $(BUILD) -j$(JOBS)

run: build
	./$(BUILD)/sipserver -c $(CONF)

test: build fuzz-build lint
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	cd $(FUZZ_BUILD) && ctest --output-on-failure -j$(JOBS)

# A build of its own: clang, the core with the fuzzer's coverage and
# ASan+UBSan, the targets only (fuzz/CMakeLists.txt)
fuzz-build: deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang \
		-DSIPSERVER_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DFUZZ_SMOKE_SECONDS=$(FUZZ_SMOKE_SECONDS)
	cmake --build $(FUZZ_BUILD) -j$(JOBS)

# One target after another; a crash, leak or timeout stops the run and
# leaves its input in $(FUZZ_BUILD)/fuzz/work/TARGET/crash/
fuzz: fuzz-build
	for t in $(FUZZ_TARGETS); do \
		fuzz/run.sh $(FUZZ_BUILD)/fuzz/fuzz_$$t $(FUZZ_SECONDS) \
			fuzz/corpus/$$t $(FUZZ_BUILD)/fuzz/work/$$t || exit 1; \
	done

lint: deps
	clang-format --dry-run --Werror $(C_FILES)
	cppcheck --quiet --error-exitcode=1 --inline-suppr --std=c11 \
		--enable=warning,style,performance,portability \
		--suppress=missingIncludeSystem --suppress=unusedFunction \
		-DHAVE_INTTYPES_H -DHAVE_STDBOOL_H -DHAVE_INET6 \
		-DSIPSERVER_VERSION='"lint"' -I src -I include -I lib/tlib \
		$(C_FILES)

format:
	clang-format -i $(C_FILES)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
