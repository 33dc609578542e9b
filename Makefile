# stanzaguard: see README.md.  `make`, `make check`, `make run`.

PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system

CC ?= cc
PKG_CONFIG ?= pkg-config
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

# Debian 12's libev-dev ships no .pc file: fall back to -lev.
LIBEV_CFLAGS := $(shell $(PKG_CONFIG) --cflags libev 2>/dev/null)
LIBEV_LIBS := $(shell $(PKG_CONFIG) --libs libev 2>/dev/null || echo -lev)
LIB_PKGS := expat
PROXY_PKGS := expat inih libsystemd openssl
CHECK_PKGS := expat check

WARN := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2
BASE_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-DSG_VERSION='"$(VERSION)"' $(WARN)
# lib/ sees its own headers and expat's only: a lib/ file that includes a
# proxy/ header (or libev, OpenSSL, ...) does not build.
LIB_INC := -Ilib
PROXY_INC := -Ilib -Iproxy
# Link-time optimisation: every stanza runs through the tracker, classify,
# session, held and bq modules, and optimising across them takes about 7%
# off the proxy's CPU per stanza at 64 sessions (README, "Sizing").
# `make OPT_FLAGS=-O2` for a build without it.  $(WARN) at the link too:
# with LTO, some warnings come only then.
OPT_FLAGS ?= -O2 -g -flto=auto
CFLAGS ?= $(OPT_FLAGS)
LDFLAGS ?= $(OPT_FLAGS)
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all

# Debian packages: to build, to test, and to run the demo upstream.
DEPS_BUILD := build-essential pkg-config libev-dev libexpat1-dev \
	libinih-dev libsystemd-dev libssl-dev check
# tests/interop: the servers of the matrix and the libstrophe client (the
# @xmpp/client one is an npm package: see deps-interop-js).
DEPS_TEST := $(DEPS_BUILD) python3 clang libclang-rt-14-dev systemd \
	prosody python3-slixmpp openssl ejabberd jabberd2 libstrophe-dev
DEPS_RUN := $(DEPS_BUILD) prosody
# tests/bench: HAProxy to compare with, OpenSSL for loadgen --tls, Prosody
# as a real upstream, perf for system calls and profiles.
DEPS_BENCH := $(DEPS_BUILD) haproxy iproute2 openssl libssl-dev prosody \
	linux-perf
# make deb: dpkg-dev's dpkg-shlibdeps, dpkg-gencontrol and dpkg-deb, and
# lintian, which must find no error in the package.
DEPS_DEB := $(DEPS_BUILD) dpkg-dev lintian
# tests/systemd/boot.sh: a Debian root booted by systemd-nspawn, where the
# package is installed, upgraded and purged.
DEPS_BOOT := $(DEPS_DEB) debootstrap systemd-container

LIB_SRC := $(sort $(wildcard lib/*.c))
PROXY_SRC := $(sort $(wildcard proxy/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
# proxy modules that the unit tests exercise without a network
PROXY_TESTED := $(filter-out proxy/main.c,$(PROXY_SRC))

B := build
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
PROXY_OBJ := $(PROXY_SRC:%.c=$(B)/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(B)/%.o)
SAN_LIB_OBJ := $(LIB_SRC:%.c=$(B)/san/%.o)
SAN_PROXY_OBJ := $(PROXY_TESTED:%.c=$(B)/san/%.o)
SAN_UNIT_OBJ := $(UNIT_SRC:%.c=$(B)/san/%.o)

LIB_CFLAGS = $(BASE_CFLAGS) $(LIB_INC) \
	$(shell $(PKG_CONFIG) --cflags $(LIB_PKGS))
ALL_CFLAGS = $(BASE_CFLAGS) $(PROXY_INC) $(LIBEV_CFLAGS) \
	$(shell $(PKG_CONFIG) --cflags $(PROXY_PKGS) check)
LIBS_PROXY = $(shell $(PKG_CONFIG) --libs $(PROXY_PKGS)) $(LIBEV_LIBS)
LIBS_CHECK = $(shell $(PKG_CONFIG) --libs check) $(LIBS_PROXY)

.PHONY: all deps deps-test check check-layers check-unit check-san \
	check-integration check-install check-interop check-systemd \
	check-systemd-boot deps-boot deb deps-deb deps-interop-js \
	check-valgrind check-fuzz fuzz bench bench-proxy bench-tls deps-bench \
	soak run install uninstall clean

all: stanzaguard

stanzaguard: $(LIB_OBJ) $(PROXY_OBJ)
	$(CC) $(WARN) $(LDFLAGS) -o $@ $^ $(LIBS_PROXY)

# The lib/ rules come first and have the shorter stem: make takes them
# for lib/ objects.
$(B)/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/san/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(B)/%.o: %.c $(wildcard lib/*.h proxy/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/san/%.o: %.c $(wildcard lib/*.h proxy/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(B)/unit-tests: $(UNIT_OBJ) $(LIB_OBJ) $(filter-out $(B)/proxy/main.o,$(PROXY_OBJ))
	$(CC) $(WARN) $(LDFLAGS) -o $@ $^ $(LIBS_CHECK)

$(B)/unit-tests-san: $(SAN_UNIT_OBJ) $(SAN_LIB_OBJ) $(SAN_PROXY_OBJ)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS_CHECK)

deps:
	@scripts/ensure-deps $(DEPS_BUILD)

deps-test:
	@scripts/ensure-deps $(DEPS_TEST)
	@tests/interop/quiet-services.sh

# Everything, once plainly and once under ASan+UBSan for the unit tests.
check: deps-test deps-boot
	$(MAKE) stanzaguard $(B)/unit-tests $(B)/unit-tests-san
	$(MAKE) check-layers check-unit check-san check-integration \
	    check-fuzz check-install check-systemd check-systemd-boot \
	    check-interop

# The include graph of lib/ and proxy/ has no circle, and lib/ includes
# no proxy/ header (scripts/include-graph).
check-layers:
	scripts/include-graph --circles

check-unit: $(B)/unit-tests
	CK_FORK=yes $(B)/unit-tests

check-san: $(B)/unit-tests-san
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    CK_FORK=no $(B)/unit-tests-san

check-integration: stanzaguard
	/usr/bin/python3 tests/integration/run.py --binary ./stanzaguard

# The daemon tests with every daemon under valgrind: a memory error or a
# definite leak makes it exit 99, which fails the test (not in `check`:
# about 5 minutes).
check-valgrind: stanzaguard
	@scripts/ensure-deps valgrind
	SG_WRAP="valgrind -q --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite" \
	    /usr/bin/python3 tests/integration/run.py --binary ./stanzaguard

# Prosody's own scenarios (run.sh), then the matrix of three servers by
# three client libraries (matrix.py, about a minute), then the hand-back
# of undelivered stanzas through stream management against Prosody and
# ejabberd (handback.sh, about 3 minutes): all always run, once.  What
# the servers themselves get wrong now and then is told apart and noted
# by the tests (matrix.py: Cell.stale_route_errors; handback.py:
# lost_in_server), not retried.
check-interop: stanzaguard $(B)/interop/client_strophe deps-interop-js
	@rc=0; tests/interop/run.sh ./stanzaguard || rc=1; \
	/usr/bin/python3 tests/interop/matrix.py --binary ./stanzaguard || \
	    rc=1; \
	tests/interop/handback.sh ./stanzaguard || rc=1; \
	exit $$rc

# The matrix's libstrophe client: -Werror like the rest, linked to
# Debian's libstrophe (not a project module: no -Ilib, no -Iproxy).
$(B)/interop/client_strophe: tests/interop/client_strophe.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS) \
	    $(shell $(PKG_CONFIG) --cflags libstrophe) -o $@ $< \
	    $(shell $(PKG_CONFIG) --libs libstrophe)

# The matrix's @xmpp/client, pinned by tests/interop/xmppjs/package-lock.json
# (it needs Node.js 20.10 or later).  Debian's nodejs and npm if there is no
# node at all.
XMPPJS := tests/interop/xmppjs
deps-interop-js: $(XMPPJS)/node_modules/.package-lock.json

$(XMPPJS)/node_modules/.package-lock.json: $(XMPPJS)/package.json \
    $(XMPPJS)/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || \
	    scripts/ensure-deps nodejs npm
	cd $(XMPPJS) && npm ci --ignore-scripts --no-audit --no-fund

# make install and uninstall into a scratch DESTDIR: every file in place,
# the unit pointing at the installed binary, everything but the config gone.
check-install: stanzaguard
	@d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
	$(MAKE) -s install DESTDIR=$$d PREFIX=/usr >/dev/null && \
	for f in usr/sbin/stanzaguard usr/share/man/man8/stanzaguard.8 \
	    usr/share/man/man5/stanzaguard.conf.5 \
	    usr/lib/systemd/system/stanzaguard.service \
	    usr/lib/systemd/system/stanzaguard.socket \
	    etc/stanzaguard/stanzaguard.conf; do \
	    test -f "$$d/$$f" || { echo "install: $$f missing"; exit 1; }; \
	done && \
	grep -q '^ExecStart=/usr/sbin/stanzaguard ' \
	    $$d/usr/lib/systemd/system/stanzaguard.service && \
	$$d/usr/sbin/stanzaguard -c $$d/etc/stanzaguard/stanzaguard.conf \
	    --check-config >/dev/null && \
	$(MAKE) -s uninstall DESTDIR=$$d PREFIX=/usr >/dev/null && \
	test "$$(cd $$d && find . -type f)" = ./etc/stanzaguard/stanzaguard.conf \
	    && echo "install: 1 passed, 0 failed"

check-systemd: stanzaguard
	tests/systemd/run.sh ./stanzaguard

# The units under a real systemd as PID 1: a Debian 12 root (debootstrap,
# once, kept in build/bootroot) booted by systemd-nspawn, as root.  In
# `check` although the first run downloads that root from the Debian
# mirror apt uses (about 290 MB, a minute here): it is the only test of
# the units as systemd runs them, and it found a reload that failed.
# The units come from the package (make deb, twice: the second a higher
# version), which is installed, upgraded and purged there.  About 45 s
# with the root kept: two builds and lintian runs, 25 s in the container.
check-systemd-boot: deps-boot
	$(MAKE) deb
	$(MAKE) deb DEB_VERSION=$(VERSION)+1
	tests/systemd/boot.sh $(B)/stanzaguard_$(VERSION)_$(DEB_ARCH).deb \
	    $(B)/stanzaguard_$(VERSION)+1_$(DEB_ARCH).deb

deps-boot:
	@scripts/ensure-deps $(DEPS_BOOT)

FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CFLAGS := $(BASE_CFLAGS) $(LIB_INC) -O1 -g \
	-fsanitize=fuzzer,address,undefined
FUZZ_SECONDS ?= 600

$(B)/fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRC) \
	    $(shell $(PKG_CONFIG) --libs $(LIB_PKGS))

# Brief: each target over its seed corpus only.
check-fuzz: $(FUZZ_TARGETS)
	@for f in $(FUZZ_TARGETS); do \
	    n=$$(basename $$f); \
	    echo "fuzz: $$n over tests/fuzz/corpus/$$n"; \
	    $$f -runs=0 tests/fuzz/corpus/$$n || exit 1; \
	done

# Bounded fuzzing: FUZZ_SECONDS per target, corpus grown in build/.
fuzz: $(FUZZ_TARGETS)
	@for f in $(FUZZ_TARGETS); do \
	    n=$$(basename $$f); mkdir -p $(B)/corpus/$$n; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        $(B)/corpus/$$n tests/fuzz/corpus/$$n || exit 1; \
	done

# Benchmarks: the tracker against bare expat, then the daemon against HAProxy
# and no proxy on loopback, alone and in front of Prosody (tests/bench/run.sh,
# about 10 minutes), then both
# terminating TLS (tests/bench/tls.sh, about 90 s).
bench: deps-bench stanzaguard
	$(MAKE) -C tests/bench

deps-bench:
	@scripts/ensure-deps $(DEPS_BENCH)

# Ten minutes of session churn through the daemon: RSS and fds must stay
# flat, every stanza accounted for (--duration to change).
soak: stanzaguard
	/usr/bin/python3 tests/bench/soak.py --binary ./stanzaguard

bench-proxy: deps-bench stanzaguard
	$(MAKE) -C tests/bench run-proxy

bench-tls: deps-bench stanzaguard
	$(MAKE) -C tests/bench run-tls

# A working proxy on loopback: a throwaway Prosody upstream on 127.0.0.1:5322,
# stanzaguard on 127.0.0.1:5222 in front of it.
run: deps
	@scripts/ensure-deps $(DEPS_RUN)
	$(MAKE) stanzaguard
	scripts/run-demo ./stanzaguard

# The Debian package of the tree: build/stanzaguard_$(DEB_VERSION)_ARCH.deb
# (scripts/make-deb; the metadata is systemd/debian/), then lintian, which
# must report no error.  DEB_VERSION=0.1.0+1 makes a higher version.
DEB_VERSION ?= $(VERSION)
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)

deb: deps-deb
	@deb=$$(scripts/make-deb $(B) $(DEB_VERSION)) && \
	echo "built $$deb" && \
	lintian --fail-on error --display-info "$$deb" && echo "lintian: no error"

deps-deb:
	@scripts/ensure-deps $(DEPS_DEB)

install: stanzaguard
	install -D -m 755 stanzaguard $(DESTDIR)$(SBINDIR)/stanzaguard
	install -D -m 644 proxy/stanzaguard.8 $(DESTDIR)$(MANDIR)/man8/stanzaguard.8
	install -D -m 644 proxy/stanzaguard.conf.5 \
	    $(DESTDIR)$(MANDIR)/man5/stanzaguard.conf.5
	install -D -m 644 systemd/stanzaguard.service \
	    $(DESTDIR)$(UNITDIR)/stanzaguard.service
	install -D -m 644 systemd/stanzaguard.socket \
	    $(DESTDIR)$(UNITDIR)/stanzaguard.socket
	sed -i 's|/usr/local/sbin/stanzaguard|$(SBINDIR)/stanzaguard|' \
	    $(DESTDIR)$(UNITDIR)/stanzaguard.service
	test -e $(DESTDIR)$(SYSCONFDIR)/stanzaguard/stanzaguard.conf || \
	    install -D -m 644 proxy/stanzaguard.conf.example \
	        $(DESTDIR)$(SYSCONFDIR)/stanzaguard/stanzaguard.conf

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/stanzaguard \
	    $(DESTDIR)$(MANDIR)/man8/stanzaguard.8 \
	    $(DESTDIR)$(MANDIR)/man5/stanzaguard.conf.5 \
	    $(DESTDIR)$(UNITDIR)/stanzaguard.service \
	    $(DESTDIR)$(UNITDIR)/stanzaguard.socket
	@echo "kept $(DESTDIR)$(SYSCONFDIR)/stanzaguard/stanzaguard.conf (your config)"

clean:
	rm -rf $(B) stanzaguard
