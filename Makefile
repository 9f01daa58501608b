# forktrace — build, test, benchmark.   make V=1 shows the commands.
OUT        ?= build
BTF        ?= /sys/kernel/btf/vmlinux
CLANG      ?= clang
BPFTOOL    ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
CC         ?= cc
PYTHON     ?= /usr/bin/python3
VERSION    := 0.1.0

# The BPF programs read x86_64 registers and syscall numbers (pt_regs,
# exit_group = 231): other architectures are not supported yet.
MACHINE    := $(shell uname -m)
ifneq ($(MACHINE),x86_64)
$(error forktrace builds only on x86_64 (this machine is $(MACHINE)): its BPF programs read x86_64 registers and syscall numbers)
endif

CFLAGS     ?= -O2 -g
CFLAGS     += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -DFT_VERSION='"$(VERSION)"' \
              -I$(OUT) -Ibpf -Iuser -MMD -MP
# added to CFLAGS, which a command-line CFLAGS would replace (test-sanitize, fuzz)
CFLAGS     += $(EXTRA_CFLAGS)
LDLIBS     := -lbpf -ldw -lelf -lz -lcurl -lpthread -lstdc++
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Wextra -Werror \
              -Wno-unused-parameter -I$(OUT) -Ibpf -MMD -MP

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
SKELS      := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))
USER_SRCS  := $(wildcard user/*/*.c)
USER_OBJS  := $(patsubst user/%.c,$(OUT)/obj/%.o,$(USER_SRCS))
LIB_OBJS   := $(filter-out $(OUT)/obj/cli/main.o,$(USER_OBJS))
UNIT_SRCS  := $(wildcard tests/unit/*.c)
UNIT_OBJS  := $(patsubst tests/unit/%.c,$(OUT)/obj/unit/%.o,$(UNIT_SRCS))

DEBIAN_DEPS := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libdw-dev elfutils \
               libcurl4-openssl-dev make gcc g++ python3 pkg-config influxdb
# the report tests' browser (headless)
DEBIAN_DEPS += chromium
# clang's sanitizer and libFuzzer runtimes (make fuzz)
DEBIAN_DEPS += libclang-rt-14-dev
# the benchmarks' peer
BENCH_DEPS  := bpftrace
# written once the packages are in: a second `make test` does not look again
DEPS_STAMP  := $(OUT)/.deps-installed

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps bench-deps run test bench clean

all: $(OUT)/forktrace

# `make deps` always looks; run/test/bench look only until it once succeeded.
deps bench-deps:
	@missing=""; for p in $(if $(filter bench-deps,$@),$(BENCH_DEPS),$(DEBIAN_DEPS)); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "all $(if $(filter bench-deps,$@),benchmark,build) dependencies are installed"; fi
	@mkdir -p $(OUT) && touch $(DEPS_STAMP)$(if $(filter bench-deps,$@),-bench)

$(DEPS_STAMP):
	@$(MAKE) --no-print-directory deps

$(DEPS_STAMP)-bench:
	@$(MAKE) --no-print-directory bench-deps

$(OUT) $(OUT)/bpf:
	$(Q)mkdir -p $@

$(OUT)/vmlinux.h: | $(OUT)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file $(BTF) format c > $@

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c $(OUT)/vmlinux.h | $(OUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKELS): $(OUT)/%.skel.h: $(OUT)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# Skeletons are generated headers: they must exist before the first compile;
# after it, -MMD's dependency files say exactly who includes what.
$(OUT)/obj/%.o: user/%.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/obj/unit/%.o: tests/unit/%.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests/unit -c $< -o $@

# The report's page (user/report/page/), built into the binary as one generated header.
$(OUT)/report/page.h: $(wildcard user/report/page/*)
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(PYTHON) user/report/page/embed.py user/report/page $@

$(OUT)/obj/report/report.o: $(OUT)/report/page.h

$(OUT)/forktrace: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(OUT)/unit_tests: $(UNIT_OBJS) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# The bundled example: a threaded program that forks while a worker holds a lock.
run: $(DEPS_STAMP)
	$(Q)$(MAKE) $(if $(filter 1,$(V)),,-s) --no-print-directory all
	$(OUT)/forktrace -- $(PYTHON) examples/fork_hazard.py

test: $(DEPS_STAMP)
	$(Q)$(MAKE) $(if $(filter 1,$(V)),,-s) --no-print-directory all $(OUT)/unit_tests
	$(PYTHON) tests/run.py

bench: $(DEPS_STAMP) $(DEPS_STAMP)-bench
	$(Q)$(MAKE) $(if $(filter 1,$(V)),,-s) --no-print-directory all
	$(PYTHON) bench/run.py $(OUT)/forktrace
	$(PYTHON) bench/influx.py $(OUT)/forktrace

clean:
	rm -rf $(OUT)

# The unit and end-to-end tests again on a build with AddressSanitizer and
# UBSan, in its own directory (any report fails the test that caused it).
SAN_OUT    ?= build-san
SAN_CFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
              -fno-omit-frame-pointer -Wno-error=format-truncation
.PHONY: test-sanitize
test-sanitize: $(DEPS_STAMP)
	$(Q)$(MAKE) $(if $(filter 1,$(V)),,-s) --no-print-directory OUT=$(SAN_OUT) \
		EXTRA_CFLAGS="$(SAN_CFLAGS)" $(SAN_OUT)/forktrace $(SAN_OUT)/unit_tests
	FT_BUILD=$(SAN_OUT) ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1 $(PYTHON) tests/run.py

# libFuzzer targets (tests/fuzz/fuzz_*.c) over the parsers of untrusted
# input, built by clang with ASan and UBSan in their own directory; `make
# fuzz` runs each for FUZZ_SECONDS from the committed seeds (any crash or
# broken property fails).
FUZZ_OUT     ?= build-fuzz
FUZZ_SECONDS ?= 20
FUZZ_CFLAGS  := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
.PHONY: fuzz fuzz-build
$(OUT)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(LIB_OBJS)
	$(call msg,FUZZ-LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer $< $(LIB_OBJS) -o $@ $(LDLIBS)

fuzz-build: $(DEPS_STAMP)
	$(Q)$(MAKE) $(if $(filter 1,$(V)),,-s) --no-print-directory OUT=$(FUZZ_OUT) CC=$(CLANG) \
		EXTRA_CFLAGS="$(FUZZ_CFLAGS)" $(addprefix $(FUZZ_OUT)/fuzz/,$(FUZZ_TARGETS))

fuzz: fuzz-build
	$(Q)for t in $(FUZZ_TARGETS); do \
		seeds=tests/fuzz/corpus/$${t#fuzz_}; work=$(FUZZ_OUT)/corpus/$$t; mkdir -p $$work; \
		echo "  FUZZ     $$t ($(FUZZ_SECONDS) s)"; \
		$(FUZZ_OUT)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix=$(FUZZ_OUT)/$$t- $$work $$seeds \
			> $(FUZZ_OUT)/$$t.log 2>&1 || { tail -40 $(FUZZ_OUT)/$$t.log; exit 1; }; \
		grep -h 'stat::number_of_executed_units' $(FUZZ_OUT)/$$t.log; \
	done

-include $(shell find $(OUT)/obj $(OUT)/bpf -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------- version, install, package
# --version names the commit it was built from; a build outside git may pass GIT_REV.
GIT_REV    ?= $(shell git -C $(CURDIR) describe --always --dirty --abbrev=12 --exclude='*' 2>/dev/null)
comma      := ,
# The BPF objects are embedded in the binary's data, not stripped with its debug info: name their
# sources relative to the tree, so that the binary does not depend on where it was built.
BPF_CFLAGS += -fdebug-prefix-map=$(CURDIR)=.

# " (git 0123456789ab, dirty)" after --version's number; rewritten only when it changes, so that
# an unchanged tree relinks nothing.
$(OUT)/version.h: FORCE | $(OUT)
	$(Q)printf '#define FT_GIT_SUFFIX "%s"\n' '$(if $(GIT_REV), (git $(subst -dirty,$(comma) dirty,$(GIT_REV))))' > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi

$(OUT)/obj/cli/main.o: $(OUT)/version.h

.PHONY: FORCE
FORCE:

PREFIX         ?= /usr/local
SBINDIR        ?= $(PREFIX)/sbin
MANDIR         ?= $(PREFIX)/share/man
BASHCOMPDIR    ?= $(PREFIX)/share/bash-completion/completions
DOCDIR         ?= $(PREFIX)/share/doc/forktrace
# set (as the Debian package does) to install the unit where systemd finds it, not only as an example
SYSTEMDUNITDIR ?=
EXAMPLES       := dist/forktrace.default dashboards/forktrace-grafana.json

.PHONY: install uninstall
install: all
	install -D -m 0755 $(OUT)/forktrace $(DESTDIR)$(SBINDIR)/forktrace
	install -D -m 0644 docs/forktrace.8 $(DESTDIR)$(MANDIR)/man8/forktrace.8
	install -D -m 0644 dist/forktrace.bash $(DESTDIR)$(BASHCOMPDIR)/forktrace
	install -d $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/
	sed 's|/usr/sbin/forktrace|$(SBINDIR)/forktrace|' dist/forktrace.service > $(DESTDIR)$(DOCDIR)/examples/forktrace.service
	$(if $(SYSTEMDUNITDIR),install -D -m 0644 $(DESTDIR)$(DOCDIR)/examples/forktrace.service \
		$(DESTDIR)$(SYSTEMDUNITDIR)/forktrace.service)

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/forktrace $(DESTDIR)$(MANDIR)/man8/forktrace.8 \
		$(DESTDIR)$(BASHCOMPDIR)/forktrace \
		$(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(notdir $(EXAMPLES)) forktrace.service) \
		$(if $(SYSTEMDUNITDIR),$(DESTDIR)$(SYSTEMDUNITDIR)/forktrace.service)
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null
# the man page and completion tests, and the Debian package and its test
DEBIAN_DEPS    += man-db bash-completion util-linux debhelper dpkg-dev fakeroot lintian libcap2-bin \
                  systemd python3-seccomp

# Builds the .deb from the working tree, installs, runs and purges it: root, and a few minutes.
.PHONY: package-test
package-test: $(DEPS_STAMP)
	$(PYTHON) tests/package.py
