# The two commands of the README, and their parts.
#   make run   install what is missing, build, start on etc/sipserver.conf
#   make test  install what is missing, build, lint, run every test (ctest)
BUILD ?= build
JOBS  ?= $(shell nproc)
CONF  ?= etc/sipserver.conf
# first port of the end-to-end tests' blocks: another tree tested at the
# same time on this machine needs another (tests/e2e/README.md)
E2E_PORT_BASE ?= 15000

C_FILES = $(shell git ls-files -co --exclude-standard -- '*.c' '*.h' \
		2>/dev/null || find src tests tools lib include bench \
		-name '*.[ch]' 2>/dev/null)

.PHONY: all deps build run test lint format clean

all: build

deps:
	./scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DE2E_PORT_BASE=$(E2E_PORT_BASE)
	cmake --build $(BUILD) -j$(JOBS)

run: build
	./$(BUILD)/sipserver -c $(CONF)

test: build lint
	cd $(BUILD) && ctest --output-on-failure -j$$(( $(JOBS) * 2 ))

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
	rm -rf $(BUILD)
