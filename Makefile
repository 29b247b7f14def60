# oniongate: build, tests, fuzzing and the demo. `make check` is what CI runs.
include tor.pin

VERSION    := 0.1.0
BUILD      := build
TOR_SRC    := $(BUILD)/tor-src
LIBTOR     := $(BUILD)/tor-build/libtor.a
FUZZ_SECONDS ?= 30

# Taken from the environment (a package build, a cross toolchain) as usual.
CC         ?= gcc
CFLAGS     ?= -O2 -g
CPPFLAGS   ?=
LDFLAGS    ?=
PKG_CONFIG ?= pkg-config
# A cross build names the GNU triplet the binary runs on (HOST=aarch64-linux-gnu), with CC and
# PKG_CONFIG for it: libtor's configure then gets --host.
HOST       ?=
# Installation: `make install DESTDIR=... PREFIX=/usr SYSCONFDIR=/etc`.
PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
SYSCONFDIR  ?= /etc
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
INSTALL     ?= install

WARN     := -std=c11 -Wall -Wextra -Werror
OG_CPPFLAGS := -D_GNU_SOURCE -DONIONGATE_VERSION='"$(VERSION)"' \
	-DCONFIG_DEFAULT_PATH='"$(SYSCONFDIR)/oniongate/oniongate.conf"' -Idaemon -I$(TOR_SRC)/src/feature/api
ALL_CPPFLAGS = $(CPPFLAGS) $(OG_CPPFLAGS)
# Every library through pkg-config (expanded when a recipe runs, after `deps` installed them).
DAEMON_PKGS := libnftnl libmnl libunbound libevent libevent_pthreads libssl libcrypto zlib libcap
TOR_LIBS  = $(LIBTOR) $(shell $(PKG_CONFIG) --libs $(DAEMON_PKGS)) -lm -lpthread
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(DAEMON_PKGS))
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Modules that need no Tor: unit-tested and fuzzed alone.
CORE_SRCS := daemon/config.c daemon/ctlreply.c daemon/log.c daemon/stats.c daemon/dnsmsg.c daemon/onion.c \
	daemon/pool.c daemon/mapfile.c daemon/textfile.c daemon/socks5.c daemon/fsdir.c daemon/answer.c daemon/peers.c \
	daemon/upgrade.c daemon/mxanswer.c daemon/notify.c daemon/resolvconf.c daemon/torstatus.c \
	daemon/activity.c daemon/stall.c daemon/ctlproto.c daemon/jsonw.c daemon/strbuf.c daemon/promtext.c \
	daemon/statuspage.c daemon/bridgeline.c daemon/smtpdialog.c daemon/dnscache.c
CORE_LIBS = $(shell $(PKG_CONFIG) --libs libcrypto)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka)
# Every module of daemon/ goes into the daemon; each tests/unit/test_X.c and tests/fuzz/fuzz_X.c is a
# unit test or a fuzz target linked with CORE_SRCS.
DAEMON_SRCS := $(CORE_SRCS) $(filter-out $(CORE_SRCS),$(sort $(wildcard daemon/*.c)))
HDRS := $(wildcard daemon/*.h)
UNIT_TESTS := $(patsubst tests/unit/test_%.c,%,$(sort $(wildcard tests/unit/test_*.c)))
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
TOOLS := $(patsubst tests/tools/%.c,%,$(sort $(wildcard tests/tools/*.c)))

.PHONY: all deps libtor install uninstall check unit unit-asan integration analyze fuzz fuzz-check soak demo bench clean distclean

all: daemon/oniongated ctl/oniongatectl tools

deps:
	@bash scripts/deps.sh

$(LIBTOR): tor.pin scripts/build-tor.sh | deps
	@TOR_HOST="$(HOST)" CC="$(CC)" bash scripts/build-tor.sh

libtor: $(LIBTOR)

daemon/oniongated: $(DAEMON_SRCS) $(HDRS) $(LIBTOR)
	$(CC) $(WARN) $(CFLAGS) $(ALL_CPPFLAGS) $(PKG_CFLAGS) $(LDFLAGS) -o $@ $(DAEMON_SRCS) $(TOR_LIBS)

# The client links the protocol module alone.
CTL_SRCS := ctl/oniongatectl.c daemon/ctlproto.c
ctl/oniongatectl: $(CTL_SRCS) daemon/ctlproto.h
	$(CC) $(WARN) $(CFLAGS) $(ALL_CPPFLAGS) $(LDFLAGS) -o $@ $(CTL_SRCS)

$(BUILD)/asan/oniongated: $(DAEMON_SRCS) $(HDRS) $(LIBTOR)
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 -g $(SAN) $(ALL_CPPFLAGS) $(PKG_CFLAGS) -o $@ $(DAEMON_SRCS) $(TOR_LIBS)

# The daemon, its man pages, the default config (never over one already there), the systemd unit
# (pointed at SBINDIR and SYSCONFDIR) and the sysusers.d/tmpfiles.d entries.
install: daemon/oniongated ctl/oniongatectl
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(SYSCONFDIR)/oniongate $(DESTDIR)$(UNITDIR)
	$(INSTALL) -m 0755 daemon/oniongated $(DESTDIR)$(SBINDIR)/oniongated
	$(INSTALL) -m 0755 ctl/oniongatectl $(DESTDIR)$(SBINDIR)/oniongatectl
	$(INSTALL) -m 0644 docs/oniongated.8 $(DESTDIR)$(MANDIR)/man8/oniongated.8
	$(INSTALL) -m 0644 docs/oniongatectl.8 $(DESTDIR)$(MANDIR)/man8/oniongatectl.8
	$(INSTALL) -m 0644 docs/oniongate.conf.5 $(DESTDIR)$(MANDIR)/man5/oniongate.conf.5
	[ -e $(DESTDIR)$(SYSCONFDIR)/oniongate/oniongate.conf ] || \
		$(INSTALL) -m 0644 image/etc/oniongate/oniongate.conf $(DESTDIR)$(SYSCONFDIR)/oniongate/oniongate.conf
	sed -e 's|/usr/sbin/oniongated|$(SBINDIR)/oniongated|g' -e 's|/etc/oniongate/|$(SYSCONFDIR)/oniongate/|g' \
		systemd/oniongated.service > $(DESTDIR)$(UNITDIR)/oniongated.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/oniongated.service
	$(if $(wildcard systemd/oniongate.sysusers),$(INSTALL) -D -m 0644 systemd/oniongate.sysusers \
		$(DESTDIR)$(SYSUSERSDIR)/oniongate.conf)
	$(if $(wildcard systemd/oniongate.tmpfiles),$(INSTALL) -D -m 0644 systemd/oniongate.tmpfiles \
		$(DESTDIR)$(TMPFILESDIR)/oniongate.conf)

# Everything install put there but the config, which is the admin's.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/oniongated $(DESTDIR)$(MANDIR)/man8/oniongated.8 \
		$(DESTDIR)$(SBINDIR)/oniongatectl $(DESTDIR)$(MANDIR)/man8/oniongatectl.8 \
		$(DESTDIR)$(MANDIR)/man5/oniongate.conf.5 $(DESTDIR)$(UNITDIR)/oniongated.service \
		$(DESTDIR)$(SYSUSERSDIR)/oniongate.conf $(DESTDIR)$(TMPFILESDIR)/oniongate.conf

tools: $(addprefix $(BUILD)/tools/,$(TOOLS))

$(BUILD)/tools/%: tests/tools/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -D_GNU_SOURCE -Itests/unit $(LDFLAGS) -o $@ $< \
		$(shell $(PKG_CONFIG) --libs libevent libcrypto)

# Unit tests: cmocka, once plain and once under ASan+UBSan. CORE_SRCS are compiled once per flavour
# into an archive (core.a) that every test links, rather than once per test.
CORE_OBJS = $(patsubst daemon/%.c,$(1)/core/%.o,$(CORE_SRCS))

$(BUILD)/unit/core/%.o: daemon/%.c $(HDRS) | deps
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(ALL_CPPFLAGS) -c -o $@ $<

$(BUILD)/unit-asan/core/%.o: daemon/%.c $(HDRS) | deps
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 -g $(SAN) $(ALL_CPPFLAGS) -c -o $@ $<

$(BUILD)/fuzz/core/%.o: daemon/%.c $(HDRS) | deps
	@mkdir -p $(@D)
	clang $(WARN) -O1 -g -fsanitize=fuzzer-no-link,address,undefined $(ALL_CPPFLAGS) -c -o $@ $<

$(BUILD)/unit/core.a: $(call CORE_OBJS,$(BUILD)/unit)
$(BUILD)/unit-asan/core.a: $(call CORE_OBJS,$(BUILD)/unit-asan)
$(BUILD)/fuzz/core.a: $(call CORE_OBJS,$(BUILD)/fuzz)
$(BUILD)/unit/core.a $(BUILD)/unit-asan/core.a $(BUILD)/fuzz/core.a:
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/unit/test_%: tests/unit/test_%.c $(BUILD)/unit/core.a $(HDRS) | deps
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(ALL_CPPFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/unit/core.a $(CORE_LIBS) $(CMOCKA_LIBS)

$(BUILD)/unit-asan/test_%: tests/unit/test_%.c $(BUILD)/unit-asan/core.a $(HDRS) | deps
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 -g $(SAN) $(ALL_CPPFLAGS) -o $@ $< $(BUILD)/unit-asan/core.a $(CORE_LIBS) $(CMOCKA_LIBS)

unit: $(addprefix $(BUILD)/unit/test_,$(UNIT_TESTS))
	@set -e; for t in $^; do echo "== $$t"; $$t; done

unit-asan: $(addprefix $(BUILD)/unit-asan/test_,$(UNIT_TESTS))
	@set -e; for t in $^; do echo "== $$t (ASan+UBSan)"; $$t; done

integration: daemon/oniongated ctl/oniongatectl $(BUILD)/asan/oniongated tools
	@bash tests/integration/run.sh

# Static analysis: gcc -fanalyzer and clang --analyze over daemon/*.c and tests/tools/*.c (~30 s); fails on
# any finding not listed with its reason in tests/analyze/suppressions.
analyze: | deps
	@bash tests/analyze/run.sh

check: unit unit-asan analyze fuzz-check integration

demo: daemon/oniongated tools
	@bash tests/demo.sh

# Benchmarks beside their peers; writes docs/benchmarks.md. QUICK=1 for a short run.
bench: daemon/oniongated tools
	@QUICK=$(QUICK) bash tests/bench/run.sh

# Soak: SOAK_MINUTES (default 60) of mail and DNS load with churned names, reloads and onion MX flaps;
# RSS and fds of oniongated sampled and plotted; writes docs/soak.md and docs/soak.png.
SOAK_MINUTES ?= 60
soak: daemon/oniongated tools
	@SOAK_MINUTES=$(SOAK_MINUTES) bash tests/soak/run.sh

# libFuzzer targets: a bounded run of each (FUZZ_SECONDS per target).
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/core.a $(HDRS) | deps
	@mkdir -p $(@D)
	clang $(WARN) -O1 -g -fsanitize=fuzzer,address,undefined $(ALL_CPPFLAGS) -o $@ $< $(BUILD)/fuzz/core.a $(CORE_LIBS)

fuzz: $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZ_TARGETS))
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(BUILD)/fuzz/corpus-$$t; \
		echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
		$(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			$(BUILD)/fuzz/corpus-$$t tests/fuzz/seeds/$$t > $(BUILD)/fuzz/$$t.log 2>&1 \
			|| { tail -40 $(BUILD)/fuzz/$$t.log; exit 1; }; \
		grep -E '^(Done|stat::(number_of_executed_units|new_units_added|peak_rss_mb))' $(BUILD)/fuzz/$$t.log; \
	done

# make check's fuzzing: every target (tests/fuzz/fuzz_*.c) for FUZZ_CHECK_SECONDS, as many at once as there
# are cores, starting from its committed seeds in tests/fuzz/seeds/<target>/ into a fresh corpus. A crash, a
# leak, or one input running 10 s fails it; the input that did is kept as build/fuzz/fuzz_<target>-crash-*
# (or -leak-, -timeout-).
FUZZ_CHECK_SECONDS ?= 10
fuzz-check: $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZ_TARGETS))
	@bash tests/fuzz/check.sh $(BUILD)/fuzz $(FUZZ_CHECK_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -f daemon/oniongated ctl/oniongatectl
	rm -rf $(BUILD)/unit $(BUILD)/unit-asan $(BUILD)/asan $(BUILD)/fuzz $(BUILD)/tools

distclean:
	rm -rf daemon/oniongated ctl/oniongatectl $(BUILD)

# Debian packages: `make deb` for this machine's architecture, `make deb ARCH=arm64` or `ARCH=armhf`
# cross-built, each in a kept mmdebstrap chroot; the source package, the .deb, lintian and (amd64)
# piuparts, all in build/deb. See docs/packaging.md.
.PHONY: deb
deb:
	@ARCH=$(ARCH) bash scripts/deb.sh

# Appliance images: `make image ARCH=amd64|arm64|armhf` builds build/image/oniongate-<version>-<arch>
# .img.xz (amd64 also .qcow2) and SHA256SUMS from Debian packages and build/deb's .deb (made first
# when absent); `make image-smoke` boots a copy with a private-network config and no network;
# `make image-test` boots it as the router between a test WAN and LAN, mail end to end (it reuses
# the image when one is there: `make image` rebuilds it). Root only. See firmware/README.md.
IMAGE_ARCH = $(or $(ARCH),amd64)
.PHONY: image image-smoke image-test
image: | deps
	@ls build/deb/oniongate_*_$(IMAGE_ARCH).deb >/dev/null 2>&1 || $(MAKE) --no-print-directory deb ARCH=$(IMAGE_ARCH)
	@ARCH=$(IMAGE_ARCH) bash image/build.sh

image-test: tools
	@ls build/image/oniongate-*-$(IMAGE_ARCH).img.xz >/dev/null 2>&1 || $(MAKE) --no-print-directory image ARCH=$(IMAGE_ARCH)
	@ARCH=$(IMAGE_ARCH) bash image/image-test.sh

image-smoke:
	@ARCH=$(IMAGE_ARCH) bash image/boot-smoke.sh

# `make bench-appliance ARCH=arm64|armhf|amd64`: the image booted in QEMU; in that guest oniongated's
# RSS and size beside Debian's tor of the arch (image/bench-appliance.sh; IMAGE= names another image).
# Rows: docs/benchmarks-appliance.tsv, which `make bench` renders as its appliance sections.
.PHONY: bench-appliance
bench-appliance: tools
	@[ -n "$(IMAGE)" ] || ls build/image/oniongate-*-$(IMAGE_ARCH).img.xz >/dev/null 2>&1 || $(MAKE) --no-print-directory image ARCH=$(IMAGE_ARCH)
	@ARCH=$(IMAGE_ARCH) bash image/bench-appliance.sh
