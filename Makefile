# forktrace — build, test, benchmark.   make V=1 shows the commands.
OUT        ?= build
BTF        ?= /sys/kernel/btf/vmlinux
CLANG      ?= clang
BPFTOOL    ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
CC         ?= cc
PYTHON     ?= /usr/bin/python3
VERSION    := 0.1.0

ARCH       := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
CFLAGS     ?= -O2 -g
CFLAGS     += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -DFT_VERSION='"$(VERSION)"' \
              -I$(OUT) -Ibpf -Iuser
LDLIBS     := -lbpf -lelf -lz -lcurl -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -I$(OUT) -Ibpf

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
SKELS      := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))
USER_SRCS  := $(wildcard user/*.c)
USER_OBJS  := $(patsubst user/%.c,$(OUT)/obj/%.o,$(USER_SRCS))
LIB_OBJS   := $(filter-out $(OUT)/obj/main.o,$(USER_OBJS))
UNIT_SRCS  := $(wildcard tests/unit/*.c)

DEBIAN_DEPS := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libdw-dev \
               libcurl4-openssl-dev make gcc g++ python3 pkg-config influxdb
# the benchmarks' peer
BENCH_DEPS  := bpftrace

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

deps bench-deps:
	@missing=""; for p in $(if $(filter bench-deps,$@),$(BENCH_DEPS),$(DEBIAN_DEPS)); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "all build dependencies are installed"; fi

$(OUT) $(OUT)/obj $(OUT)/bpf:
	$(Q)mkdir -p $@

$(OUT)/vmlinux.h: | $(OUT)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file $(BTF) format c > $@

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c bpf/common.bpf.h bpf/forktrace.h $(OUT)/vmlinux.h | $(OUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(OUT)/obj/%.o: user/%.c $(wildcard user/*.h) bpf/forktrace.h $(SKELS) | $(OUT)/obj
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/forktrace: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(OUT)/unit_tests: $(UNIT_SRCS) $(LIB_OBJS) $(wildcard tests/unit/*.h)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $(UNIT_SRCS) $(LIB_OBJS) -o $@ $(LDLIBS)

# The bundled example: a threaded program that forks while a worker holds a lock.
run: deps all
	$(OUT)/forktrace -- $(PYTHON) examples/fork_hazard.py

test: deps all $(OUT)/unit_tests
	$(PYTHON) tests/run.py

bench: deps bench-deps all
	$(PYTHON) bench/run.py $(OUT)/forktrace
	$(PYTHON) bench/influx.py $(OUT)/forktrace

clean:
	rm -rf $(OUT)
