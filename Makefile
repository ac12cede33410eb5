# lineage - offline artifact lineage over an LMDB store.
# Targets: all check check-san install clean deps demo bench fuzz

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
PYLIBDIR ?= $(PREFIX)/share/lineage/python
DESTDIR ?=

CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS = zlib lmdb msgpack
DEBIAN_PKGS = zlib1g-dev libmsgpack-dev liblmdb-dev libcriterion-dev \
	libarchive-dev pkg-config python3 python3-msgpack graphviz
# graphviz: the tests render a large folded graph with dot(1).

# Building needs the libraries: say which are missing and how to get them
# instead of failing on the first '#include <lmdb.h>'. The targets that
# install them (deps, and demo, bench and fuzz, which run it first) and
# clean are exempt.
NEEDS_LIBS = $(filter-out deps demo bench bench-deps fuzz fuzz-deps clean \
	uninstall,$(or $(MAKECMDGOALS),all))
ifneq ($(NEEDS_LIBS),)
MISSING_LIBS := $(shell for p in $(PKGS) libarchive \
	$(if $(filter check test,$(NEEDS_LIBS)),criterion); do \
	$(PKG_CONFIG) --exists $$p 2>/dev/null || echo $$p; done)
ifneq ($(strip $(MISSING_LIBS)),)
$(error missing libraries: $(strip $(MISSING_LIBS)) (pkg-config finds \
	no $(firstword $(MISSING_LIBS)).pc); run 'make deps' to install \
	them ($(DEBIAN_PKGS)))
endif
endif

OPT ?= -O2 -g
WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= $(OPT)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -pthread $(WARN) $(CFLAGS) -I. \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) libarchive 2>/dev/null)
LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -pthread
TEST_LIBS = $(shell $(PKG_CONFIG) --libs criterion 2>/dev/null)
# libarchive (archives read in place) only where format/archive.c is
# linked: lineage-index, the tests, the generator and the benchmark.
ARCHIVE_LIBS = $(shell $(PKG_CONFIG) --libs libarchive 2>/dev/null)
ARCHIVE_STATIC_LIBS = $(shell $(PKG_CONFIG) --static --libs libarchive \
	2>/dev/null)
# Python: the first python3 that has msgpack (python3-msgpack), so that
# a python3 of one's own earlier on PATH does not hide Debian's.
PYTHON ?= $(firstword $(foreach p,python3 /usr/bin/python3,$(shell \
	$(p) -c 'import msgpack' >/dev/null 2>&1 && echo $(p))) python3)

# The programs are linked statically when the static libraries are there
# (Debian's -dev packages ship them): a store and two binaries are then
# all an air-gapped machine needs, and a query process starts faster.
# STATIC=0 links them dynamically.
STATIC_LIBS = liblmdb.a libmsgpackc.a libz.a libc.a
FOUND_STATIC = $(foreach l,$(STATIC_LIBS),\
	$(wildcard $(shell $(CC) -print-file-name=$(l))))
STATIC ?= $(if $(filter $(words $(STATIC_LIBS)),$(words $(FOUND_STATIC))),1,0)
PROG_LDFLAGS = $(if $(filter 1,$(STATIC)),-static)
# lineage-index also links libarchive, whose static link needs the static
# libraries of everything it was built with (pkg-config --static: nettle,
# acl, lzma, zstd, lz4, bz2, xml2 on Debian 12). When one is missing,
# lineage-index alone is linked dynamically; lineage-query stays static.
ARCHIVE_A = $(patsubst -l%,lib%.a,$(filter -l%,$(ARCHIVE_STATIC_LIBS)))
FOUND_ARCHIVE_A = $(foreach l,$(ARCHIVE_A),\
	$(wildcard $(shell $(CC) -print-file-name=$(l))))
INDEX_STATIC ?= $(if $(filter 1,$(STATIC)),$(if $(ARCHIVE_A),$(if \
	$(filter $(words $(ARCHIVE_A)),$(words $(FOUND_ARCHIVE_A))),1,0),0),0)
INDEX_LDFLAGS = $(if $(filter 1,$(INDEX_STATIC)),-static)
INDEX_LIBS = $(if $(filter 1,$(INDEX_STATIC)),$(ARCHIVE_STATIC_LIBS),\
	$(ARCHIVE_LIBS))

BUILD = build
# Library: every module except the programs' entry points.
LIB_SRC = $(wildcard format/*.c) \
	$(filter-out indexer/main.c, $(wildcard indexer/*.c)) \
	$(filter-out query/main.c, $(wildcard query/*.c))
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB = $(BUILD)/liblineage.a
GEN_SRC = $(wildcard fixtures/gen/*.c)
TEST_SRC = $(wildcard tests/*.c)
TEST_OBJ = $(TEST_SRC:%.c=$(BUILD)/%.o)

PROGS = lineage-index lineage-query lineage-gen
TEST_BIN = $(BUILD)/tests/run-tests

.PHONY: all check check-calls check-san test install uninstall clean deps demo bench \
	bench-deps fuzz
.PHONY: fuzz-deps

all: $(PROGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

lineage-index: $(BUILD)/indexer/main.o $(LIB)
	$(CC) $(ALL_CFLAGS) $(INDEX_LDFLAGS) -o $@ $^ $(INDEX_LIBS) $(LIBS) \
		$(LDFLAGS)

lineage-query: $(BUILD)/query/main.o $(LIB)
	$(CC) $(ALL_CFLAGS) $(PROG_LDFLAGS) -o $@ $^ $(LIBS) $(LDFLAGS)

lineage-gen: $(GEN_SRC:%.c=$(BUILD)/%.o) $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ARCHIVE_LIBS) $(LIBS) $(LDFLAGS)

$(TEST_BIN): $(TEST_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(TEST_LIBS) $(ARCHIVE_LIBS) $(LIBS) \
		$(LDFLAGS)

# No two files of the library call each other, nor files round a longer
# circle: tests/calls.sh reads the call graph from the objects' symbols
# (nm) and names any circle; the first step of check.
check-calls: $(LIB_OBJ) $(BUILD)/indexer/main.o $(BUILD)/query/main.o
	@sh tests/calls.sh $^

# The whole test suite: first the call graph (check-calls), then unit
# tests and end-to-end tests on the fixtures, then the Python tests
# (tests/test_*.py: the runlog writer, the W&B exporter against a stub
# API, archives, the call graph check itself); each runner ends with its
# summary line, and a failure in either fails check. Criterion's summary
# does not count skipped tests: they are listed after it, with their
# reasons, from the TAP report. Then the whole C suite again under
# AddressSanitizer and UndefinedBehaviorSanitizer (check-san).
TEST_TAP = $(BUILD)/tests/results.tap
check: all $(TEST_BIN)
	@$(MAKE) --no-print-directory check-calls
	@rm -f $(TEST_TAP)
	@./$(TEST_BIN) --jobs 2 --tap=$(TEST_TAP); rc=$$?; \
	n=$$(grep -c '# SKIP' $(TEST_TAP) 2>/dev/null); \
	if [ "$${n:-0}" != 0 ]; then \
	  echo "check: $$n more tests skipped:"; \
	  grep '# SKIP' $(TEST_TAP) | sed 's/^ok - /  /; s/  *# SKIP / (/; s/$$/)/'; \
	fi; exit $$rc
	@$(PYTHON) -c 'import msgpack' 2>/dev/null || { echo "check: \
	$(PYTHON) cannot import msgpack (make deps installs python3-msgpack)"; \
	exit 1; }
	$(PYTHON) -m unittest discover -s tests -p 'test_*.py'
	@$(MAKE) --no-print-directory check-san
test: check

# ---- sanitizers: library, programs and tests built again in build/san
# with -fsanitize=address,undefined (gcc or clang: SAN_CC). The suite
# runs from build/san/root, a view of the checkout whose programs are the
# sanitized ones; any report (written to build/san/reports) fails it.
SAN_CC ?= $(CC)
SAN = $(BUILD)/san
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
SAN_CFLAGS = -std=c11 -D_GNU_SOURCE -pthread $(WARN) -O1 -g $(SAN_FLAGS) -I. \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) libarchive 2>/dev/null)
SAN_LIB_OBJ = $(LIB_SRC:%.c=$(SAN)/%.o)
SAN_TEST_OBJ = $(TEST_SRC:%.c=$(SAN)/%.o)
SAN_MAIN_OBJ = $(SAN)/indexer/main.o $(SAN)/query/main.o \
	$(GEN_SRC:%.c=$(SAN)/%.o)
SAN_LIB = $(SAN)/liblineage.a
SAN_PROGS = $(PROGS:%=$(SAN)/%)
SAN_ROOT = $(SAN)/root
SAN_REPORTS = $(CURDIR)/$(SAN)/reports
SAN_ENV = ASAN_OPTIONS=log_path=$(SAN_REPORTS)/asan:detect_leaks=1:print_suppressions=0 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=log_path=$(SAN_REPORTS)/ubsan:print_stacktrace=1:halt_on_error=1

$(SAN_LIB_OBJ) $(SAN_TEST_OBJ) $(SAN_MAIN_OBJ): $(SAN)/%.o: %.c
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_CFLAGS) -MMD -MP -c -o $@ $<

$(SAN_LIB): $(SAN_LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(SAN)/lineage-index: $(SAN)/indexer/main.o $(SAN_LIB)
	$(SAN_CC) $(SAN_CFLAGS) -o $@ $^ $(ARCHIVE_LIBS) $(LIBS) $(LDFLAGS)
$(SAN)/lineage-query: $(SAN)/query/main.o $(SAN_LIB)
	$(SAN_CC) $(SAN_CFLAGS) -o $@ $^ $(ARCHIVE_LIBS) $(LIBS) $(LDFLAGS)
$(SAN)/lineage-gen: $(GEN_SRC:%.c=$(SAN)/%.o) $(SAN_LIB)
	$(SAN_CC) $(SAN_CFLAGS) -o $@ $^ $(ARCHIVE_LIBS) $(LIBS) $(LDFLAGS)
$(SAN)/run-tests: $(SAN_TEST_OBJ) $(SAN_LIB)
	$(SAN_CC) $(SAN_CFLAGS) -o $@ $^ $(TEST_LIBS) $(ARCHIVE_LIBS) \
		$(LIBS) $(LDFLAGS)

check-san: $(SAN_PROGS) $(SAN)/run-tests
	@rm -rf $(SAN_ROOT) $(SAN_REPORTS) $(SAN)/shared
	@mkdir -p $(SAN_ROOT) $(SAN_REPORTS)
	@chmod 1777 $(SAN_REPORTS)  # tests run queries as nobody too
	@for f in $$(ls -A); do \
	  case "$$f" in .git|lineage-index|lineage-query|lineage-gen) \
	    continue;; esac; \
	  ln -s ../../../$$f $(SAN_ROOT)/$$f; \
	done
	@for p in $(PROGS); do ln -s ../$$p $(SAN_ROOT)/$$p; done
	@ln -s $(abspath $(CURDIR)/..)/shared $(SAN)/shared
	cd $(SAN_ROOT) && $(SAN_ENV) ../run-tests --jobs 2
	@if ls $(SAN_REPORTS)/* >/dev/null 2>&1; then \
	  cat $(SAN_REPORTS)/*; \
	  echo "check-san: the sanitizers reported problems (above)"; \
	  exit 1; \
	fi

deps:
	@missing=""; \
	for p in $(PKGS) criterion libarchive; do \
	  $(PKG_CONFIG) --exists $$p 2>/dev/null || missing="$$missing $$p"; \
	done; \
	command -v $(PKG_CONFIG) >/dev/null || missing="$$missing pkg-config"; \
	command -v dot >/dev/null || missing="$$missing graphviz"; \
	$(PYTHON) -c 'import msgpack' 2>/dev/null || \
	  missing="$$missing python3-msgpack"; \
	if [ -n "$$missing" ]; then \
	  echo "deps: missing:$$missing; installing $(DEBIAN_PKGS)"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	    $(DEBIAN_PKGS) >/dev/null; \
	fi

DEMO_STORE = $(BUILD)/demo.lmdb
demo: deps
	@$(MAKE) --no-print-directory all
	@rm -f $(DEMO_STORE) $(DEMO_STORE)-lock
	./lineage-index --store $(DEMO_STORE) fixtures/sample
	@sh fixtures/demo.sh ./lineage-query $(DEMO_STORE)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(COMPLETIONDIR)
	install -m 755 lineage-index lineage-query $(DESTDIR)$(BINDIR)/
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 query/lineage.bash-completion \
		$(DESTDIR)$(COMPLETIONDIR)/lineage-query
	install -d $(DESTDIR)$(PYLIBDIR)
	install -m 644 python/lineage_runlog.py $(DESTDIR)$(PYLIBDIR)/
	install -m 755 python/lineage-export-wandb $(DESTDIR)$(PYLIBDIR)/
	ln -sf $(PYLIBDIR)/lineage-export-wandb \
		$(DESTDIR)$(BINDIR)/lineage-export-wandb

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/lineage-index $(DESTDIR)$(BINDIR)/lineage-query
	rm -f $(DESTDIR)$(MANDIR)/man1/lineage-index.1 \
		$(DESTDIR)$(MANDIR)/man1/lineage-query.1
	rm -f $(DESTDIR)$(COMPLETIONDIR)/lineage-query
	rm -f $(DESTDIR)$(BINDIR)/lineage-export-wandb
	rm -rf $(DESTDIR)$(PYLIBDIR)

# Benchmarks need SQLite (the baseline) besides the build dependencies.
bench-deps: deps
	@if ! command -v sqlite3 >/dev/null || \
	    ! $(PKG_CONFIG) --exists sqlite3 2>/dev/null; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	    sqlite3 libsqlite3-dev >/dev/null; \
	fi

lineage-bench: $(BUILD)/bench/bench.o $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ARCHIVE_LIBS) $(LIBS) \
		$$($(PKG_CONFIG) --libs sqlite3) $(LDFLAGS)

# The cold-start floor: open an LMDB environment, read one key; linked
# like the programs.
lineage-bare: $(BUILD)/bench/bare.o
	$(CC) $(ALL_CFLAGS) $(PROG_LDFLAGS) -o $@ $^ $(LIBS) $(LDFLAGS)

# The heap counter the shape benchmarks preload, and the indexer linked
# dynamically so that it can be preloaded (lineage-index may be static).
lineage-heap.so: bench/heap.c
	$(CC) $(ALL_CFLAGS) -fPIC -shared -o $@ $< $(LDFLAGS)

$(BUILD)/bench/lineage-index-dyn: $(BUILD)/indexer/main.o $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ARCHIVE_LIBS) $(LIBS) $(LDFLAGS)

# Never part of check: BENCH_RUNS=1000000 make bench for the full size.
# bench/run.sh: the classic archive's figures; bench/shapes.sh: the
# issue-10 targets for each shape (BENCH_SHAPES) in one table per shape.
bench: bench-deps
	@$(MAKE) --no-print-directory all lineage-bench lineage-bare \
		lineage-heap.so $(BUILD)/bench/lineage-index-dyn
	sh bench/run.sh
	sh bench/shapes.sh

# ---- fuzzing: libFuzzer targets in tests/fuzz/ (never part of check) ----
# FUZZ_SECONDS=600 make fuzz for a longer run, FUZZ_TARGETS=fuzz_wandb
# for one target. Crashes are saved as
# tests/fuzz/crashes/TARGET-crash-* (reproduce: build/fuzz/TARGET FILE).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS ?= -rss_limit_mb=2048 -timeout=30
# Longest input per target: the readers get 64 KiB (several .wandb
# blocks, runlog windows); fuzz_index, whose executions index, check and
# query a store, gets 4 KiB: tens of records, what the indexer's rules
# need, at a cost that keeps it over 1,000 executions a second.
FUZZ_MAX_LEN = 65536
FUZZ_MAX_LEN_INDEX = 4096
FUZZ_DEBIAN_PKGS = clang libclang-rt-dev
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
# LIN_FUZZ_LIMITS: the readers' limits (inflated bytes, record, string
# and collection sizes) set small, so every execution is fast.
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -DLIN_FUZZ_LIMITS $(WARN) -O1 -g \
	-fno-omit-frame-pointer $(FUZZ_SAN) -I. \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
FUZZ_BUILD = $(BUILD)/fuzz
FUZZ_TARGETS = fuzz_runlog fuzz_wandb fuzz_index
FUZZ_BINS = $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)
FUZZ_LIB_OBJ = $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_MAIN_OBJ = $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/tests/fuzz/%.o)
FUZZ_LIB = $(FUZZ_BUILD)/liblineage.a
FUZZ_SEEDS = $(FUZZ_BUILD)/seeds

# libFuzzer ships in compiler-rt (libclang-rt-*-dev on Debian 12).
fuzz-deps: deps
	@if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n)' \
	    '{ (void)d; (void)n; return 0; }' | \
	    $(FUZZ_CC) -fsanitize=fuzzer -x c -o /dev/null - 2>/dev/null; then \
	  echo "fuzz-deps: $(FUZZ_CC) cannot build libFuzzer targets;" \
	    "installing $(FUZZ_DEBIAN_PKGS)"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	    $(FUZZ_DEBIAN_PKGS) >/dev/null; \
	fi

$(FUZZ_LIB_OBJ) $(FUZZ_MAIN_OBJ): $(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP \
		-c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BINS): $(FUZZ_BUILD)/%: $(FUZZ_BUILD)/tests/fuzz/%.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS) \
		$(ARCHIVE_LIBS) $(LDFLAGS)

# Seed corpora: the committed fixtures, small synthetic archives.
$(FUZZ_SEEDS)/.done: lineage-gen
	@rm -rf $(FUZZ_SEEDS) && mkdir -p $(FUZZ_SEEDS)/runlog \
		$(FUZZ_SEEDS)/wandb $(FUZZ_SEEDS)/gen-runlog \
		$(FUZZ_SEEDS)/gen-wandb
	./lineage-gen synth --runs 50 --runs-per-file 5 --seed 11 \
		$(FUZZ_SEEDS)/gen-runlog >/dev/null
	./lineage-gen synth --runs 50 --format wandb --seed 12 \
		$(FUZZ_SEEDS)/gen-wandb >/dev/null
	@for f in $$(find fixtures/sample fixtures/bad \
	    $(FUZZ_SEEDS)/gen-runlog -type f -name '*.runlog*'); do \
	  cp "$$f" $(FUZZ_SEEDS)/runlog/$$(echo "$${f#$(FUZZ_SEEDS)/}" | \
	    tr / _); \
	done
	@for f in $$(find fixtures $(FUZZ_SEEDS)/gen-wandb -type f \
	    -name '*.wandb'); do \
	  cp "$$f" $(FUZZ_SEEDS)/wandb/$$(echo "$${f#$(FUZZ_SEEDS)/}" | \
	    tr / _); \
	done
	@rm -rf $(FUZZ_SEEDS)/gen-runlog $(FUZZ_SEEDS)/gen-wandb
	@touch $@

# Each target runs FUZZ_SECONDS on its corpus (kept in build/fuzz/corpus)
# and the seeds; the first crash stops make with libFuzzer's status.
fuzz: fuzz-deps
	@$(MAKE) --no-print-directory all $(FUZZ_SEEDS)/.done
	@$(MAKE) --no-print-directory $(FUZZ_BINS)
	@mkdir -p tests/fuzz/crashes
	@cpu0=0; for t in $(FUZZ_TARGETS); do \
	  len=$(FUZZ_MAX_LEN); \
	  case $$t in \
	    fuzz_runlog) seeds="$(FUZZ_SEEDS)/runlog";; \
	    fuzz_wandb) seeds="$(FUZZ_SEEDS)/wandb";; \
	    *) seeds="$(FUZZ_SEEDS)/runlog $(FUZZ_SEEDS)/wandb"; \
	       len=$(FUZZ_MAX_LEN_INDEX);; \
	  esac; \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BUILD)/$$t -max_len=$$len $(FUZZ_FLAGS) \
	    -max_total_time=$(FUZZ_SECONDS) \
	    -print_final_stats=1 -artifact_prefix=tests/fuzz/crashes/$$t- \
	    $(FUZZ_BUILD)/corpus/$$t $$seeds 2>$(FUZZ_BUILD)/$$t.log; \
	  st=$$?; \
	  times >$(FUZZ_BUILD)/times; \
	  cpu=$$(tail -n 1 $(FUZZ_BUILD)/times | awk '{ n = 0; \
	    for (i = 1; i <= 2; i++) { split($$i, p, "m"); \
	      n += p[1] * 60 + p[2] } print n }'); \
	  awk -v t=$$t -v c=$$cpu -v c0=$$cpu0 \
	    '/^#[0-9]+/ { for (i = 1; i <= NF; i++) { \
	        if ($$i == "cov:") cov = $$(i + 1); \
	        if ($$i == "ft:") ft = $$(i + 1); } } \
	     /stat::number_of_executed_units:/ { n = $$2 } \
	     /stat::average_exec_per_sec:/ { r = $$2 } \
	     END { printf "fuzz: %s: %s executions (%s/s, %d per CPU " \
	       "second), coverage %s edges, %s features\n", t, n, r, \
	       (c > c0 ? n / (c - c0) : 0), cov, ft }' \
	    $(FUZZ_BUILD)/$$t.log; \
	  cpu0=$$cpu; \
	  if [ $$st -ne 0 ]; then \
	    tail -40 $(FUZZ_BUILD)/$$t.log; exit $$st; \
	  fi; \
	done

clean:
	rm -rf $(BUILD) $(PROGS) lineage-bench lineage-bare lineage-heap.so

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(GEN_SRC:%.c=$(BUILD)/%.d) \
	$(BUILD)/indexer/main.d $(BUILD)/query/main.d $(BUILD)/bench/bench.d
-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_MAIN_OBJ:.o=.d)
-include $(SAN_LIB_OBJ:.o=.d) $(SAN_TEST_OBJ:.o=.d) $(SAN_MAIN_OBJ:.o=.d)
