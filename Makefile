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

-include $(shell find $(OUT)/obj $(OUT)/bpf -name '*.d' 2>/dev/null)
