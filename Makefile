# chuted — see README.md. Folders are the architecture (docs/ARCHITECTURE.md):
# each folder's *.c (except main_*.c) becomes build/lib<folder>.a; main_*.c are
# program entry points.
#
#   make            build/chuted, build/chuted-runtime, build/chuted-monitor, build/chuted-image
#   make demo       install deps, build, run a demo chute
#   make check      install deps, build, run every test this host can run
#   make bench      side-by-side benchmarks (tests/bench/)
#   make SAN=1      AddressSanitizer + UBSan build into build-asan/
#   make install    PREFIX=/usr/local DESTDIR= INIT=systemd|procd (see below); make uninstall

CC ?= cc
SAN ?=
B := $(if $(SAN),build-asan,build)

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -I. -MMD -MP
# The static programs carry only the functions they call: a monitor's RSS is
# nearly its whole text (the kernel maps code in 64 KB blocks around a fault)
CFLAGS += -ffunction-sections -fdata-sections
LDFLAGS += -Wl,--gc-sections
ifneq ($(SAN),)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

PKG_NL := $(shell pkg-config --cflags libnl-3.0 2>/dev/null)
CFLAGS += $(PKG_NL)

FOLDERS := common cgroups runtime netns image mgmt
$(foreach f,$(FOLDERS),$(eval SRC_$(f) := $(filter-out $(f)/main_%.c,$(wildcard $(f)/*.c))))
$(foreach f,$(FOLDERS),$(eval OBJ_$(f) := $(patsubst %.c,$(B)/obj/%.o,$(SRC_$(f)))))
LIBS_A = $(foreach f,$(FOLDERS),$(B)/lib$(f).a)

# The runtime path (chuted, chuted-monitor) links the small libraries
# statically: loading the whole dependency set dynamically costs ~10 ms per
# exec here, more than a container start. libmnl ships no .a in Debian.
ifeq ($(SAN),)
STATIC_ON := -Wl,-Bstatic
STATIC_OFF := -Wl,-Bdynamic
MONITOR_LDFLAGS := -static
endif
CORE_LIBS := $(STATIC_ON) -lseccomp -lcap -lnl-route-3 -lnl-genl-3 -lnl-3 -lnftnl -ljansson -lyaml $(STATIC_OFF) -lmnl -lpthread -lm
IMAGE_LIBS := -larchive -lcurl -lcrypto -lz -ljansson
MONITOR_LIBS := -ljansson

PROGS := $(B)/chuted $(B)/chuted-runtime $(B)/chuted-monitor $(B)/chuted-image $(B)/chuted-image-pull \
  $(B)/chuted-init $(B)/chuted-daemon $(B)/chuted-daemon-cloud $(B)/chuted-cloud $(B)/chutectl

all: $(PROGS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

define lib_rule
$(B)/lib$(1).a: $$(OBJ_$(1))
	@mkdir -p $$(dir $$@)
	rm -f $$@; ar rcs $$@ $$^ $$(if $$^,,$$(B)/obj/empty.o)
endef
$(foreach f,$(FOLDERS),$(eval $(call lib_rule,$(f))))

# runtime/seccomp_embed.c .incbin's the default profile (not seen by -MMD).
$(B)/obj/runtime/seccomp_embed.o: runtime/seccomp_default.json

$(B)/obj/empty.o:
	@mkdir -p $(dir $@)
	echo '' | $(CC) -x c -c -o $@ -

$(B)/chuted: $(B)/obj/mgmt/main_chuted.o $(B)/libmgmt.a $(B)/libimage.a $(B)/libnetns.a $(B)/libruntime.a $(B)/libcgroups.a $(B)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)

# The management daemon (REST API): libmicrohttpd here only, so `chuted`'s
# start path carries no HTTP server. A libmicrohttpd without HTTPS built
# from Debian's source (tools/libmicrohttpd-min.sh, once, into build-deps/),
# linked statically: the REST API's optional TLS is the daemon's own on
# mbedTLS (mgmt/daemon_tls.c, mgmt/tls.h), and Debian's libmicrohttpd
# carries GnuTLS, p11-kit and libunistring (~1.1 MB PSS, TLS served or
# not). Where it cannot be built (offline), Debian's libmicrohttpd and
# GnuTLS are linked instead (statically but p11-kit and libunistring, which
# ship no .a), with a warning. Its cloud link (--cloud) is
# chuted-daemon-cloud, which chuted-daemon execs: libmosquitto only in a
# daemon that has the link (below).
MHD_MIN := build-deps/microhttpd
ifeq ($(SAN),)
MBEDTLS_LIBS := -Wl,-Bstatic -lmbedtls -lmbedx509 -lmbedcrypto -Wl,-Bdynamic
HTTP_DEBIAN_LIBS := -Wl,-Bstatic -lmicrohttpd -lgnutls -lhogweed -lnettle -lgmp -ltasn1 -lidn2 -Wl,-Bdynamic \
  -l:libunistring.so.2 -lp11-kit
# chosen by the shell at link time (the order-only microhttpd-min ran first)
HTTP_LIBS := $$(if [ -f $(MHD_MIN)/libmicrohttpd.a ]; then echo $(MHD_MIN)/libmicrohttpd.a; \
  else echo '$(HTTP_DEBIAN_LIBS)'; fi) $(MBEDTLS_LIBS)
.PHONY: microhttpd-min
microhttpd-min:
	@tools/libmicrohttpd-min.sh build $(MHD_MIN) || \
	  echo "no static libmicrohttpd in $(MHD_MIN): linking Debian's, with GnuTLS" >&2
HTTP_DEP := microhttpd-min
else
MBEDTLS_LIBS := -lmbedtls -lmbedx509 -lmbedcrypto
HTTP_LIBS := -lmicrohttpd $(MBEDTLS_LIBS)
HTTP_DEP :=
endif
$(B)/chuted-daemon: $(B)/obj/mgmt/main_daemon.o $(B)/libmgmt.a $(B)/libimage.a $(B)/libnetns.a $(B)/libruntime.a $(B)/libcgroups.a $(B)/libcommon.a | $(HTTP_DEP)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS) $(HTTP_LIBS)

# The cloud link's libraries (docs/CLOUD.md), in chuted-daemon-cloud and
# chuted-cloud (the link in the foreground) only, so `chuted`'s start path
# carries no MQTT/TLS: libmosquitto without TLS (it speaks to a unix socket
# of the link's) and mbedTLS, OpenWrt's TLS library, which the link relays
# that socket to the broker with (mgmt/tls.h), both linked statically:
# OpenSSL cost the daemon with the link up ~3.7 MB PSS of its 7.7 MB
# (docs/BENCHMARKS.md, "Cloud link"). Debian ships libmosquitto shared
# only (and with OpenSSL): tools/libmosquitto-min.sh builds its client
# library from Debian's source, once, into build-deps/. Where it cannot be
# had (offline, no source), Debian's shared libmosquitto is linked, with a
# warning (it connects to unix sockets too).
MOSQ_MIN := build-deps/mosquitto-notls
# The desired documents' ed25519 signatures are verified with nettle
# (mgmt/cloud_sign.c: mbedTLS 2.28 has no ed25519).
ifeq ($(SAN),)
TLS_LIBS := $(MBEDTLS_LIBS) -Wl,-Bstatic -lhogweed -lnettle -lgmp -Wl,-Bdynamic
# chosen by the shell at link time, as HTTP_LIBS (the order-only
# mosquitto-min, one build for both programs under make -j, ran first)
CLOUD_LIBS := $$(if [ -f $(MOSQ_MIN)/libmosquitto.a ]; then echo $(MOSQ_MIN)/libmosquitto.a; \
  else echo -lmosquitto; fi) $(TLS_LIBS)
.PHONY: mosquitto-min
mosquitto-min:
	@tools/libmosquitto-min.sh build $(MOSQ_MIN) || \
	  echo "no static libmosquitto in $(MOSQ_MIN): linking Debian's shared libmosquitto" >&2
CLOUD_DEP := mosquitto-min
else
TLS_LIBS := $(MBEDTLS_LIBS) -lhogweed -lnettle -lgmp
CLOUD_LIBS := -lmosquitto $(TLS_LIBS)
CLOUD_DEP :=
endif
$(B)/chuted-daemon-cloud: $(B)/obj/mgmt/main_daemon_cloud.o $(B)/libmgmt.a $(B)/libimage.a $(B)/libnetns.a $(B)/libruntime.a $(B)/libcgroups.a $(B)/libcommon.a | $(CLOUD_DEP) $(HTTP_DEP)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS) $(HTTP_LIBS) $(CLOUD_LIBS)
$(B)/chuted-cloud: $(B)/obj/mgmt/main_cloud.o $(B)/libmgmt.a $(B)/libimage.a $(B)/libnetns.a $(B)/libruntime.a $(B)/libcgroups.a $(B)/libcommon.a | $(CLOUD_DEP)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS) $(CLOUD_LIBS)

# chutectl, the operator's side (tools/chutectl/): MQTT and signing only;
# of libmgmt.a it takes the signature code (mgmt/cloud_sign.c), of
# libruntime.a the log record parser (runtime/log.c): no container runtime.
CHUTECTL_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(wildcard tools/chutectl/*.c))
# push adds libcurl (registry uploads) and, of libimage.a, the reproducible
# tar.gz of a directory (image/build.c).
$(B)/chutectl: $(CHUTECTL_OBJ) $(B)/libmgmt.a $(B)/libimage.a $(B)/libruntime.a $(B)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ -lmosquitto -lcurl -larchive -lz -lcrypto -lhogweed -lnettle -lyaml -ljansson

# The OCI runtime alone, fully static: no shared library on the start path.
# Without debug info: where no overlayfs can seal it, every container start
# copies it into a sealed memfd (runtime/selfexe.c).
RUNTIME_LIBS := -lseccomp -lcap -ljansson
$(B)/chuted-runtime: $(B)/obj/runtime/main_runtime.o $(B)/libruntime.a $(B)/libcgroups.a $(B)/libcommon.a
	$(CC) $(LDFLAGS) $(MONITOR_LDFLAGS) -Wl,--strip-debug -o $@ $^ $(RUNTIME_LIBS)

$(B)/chuted-monitor: $(B)/obj/runtime/main_monitor.o $(B)/libruntime.a $(B)/libcgroups.a $(B)/libcommon.a
	$(CC) $(LDFLAGS) $(MONITOR_LDFLAGS) -o $@ $^ $(MONITOR_LIBS)

# --init's pid 1, bind-mounted into chutes of any libc: static, libc only,
# stripped, and never sanitized (it runs inside the chute, not under test).
$(B)/chuted-init: runtime/main_init.c
	@mkdir -p $(dir $@)
	$(CC) -Os -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -static -s -o $@ $<

# chuted-image never references libcurl (pull/login exec chuted-image-pull):
# --as-needed keeps libcurl and its ~30 libraries out of every `chuted run`.
$(B)/chuted-image: $(B)/obj/mgmt/main_image.o $(B)/libmgmt.a $(B)/libimage.a $(B)/libruntime.a $(B)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ -Wl,--as-needed $(IMAGE_LIBS)

# chuted-image-pull links a libcurl built from Debian's curl source with HTTP
# and HTTPS over OpenSSL only (tools/libcurl-min.sh), fully static: with
# Debian's libcurl4 (every protocol, ~40 shared libraries) a pull peaks at
# 15.6 MB RSS, 8.3 MB even linked statically; with this one ~6 MB. Where that
# libcurl cannot be had (offline, no source), Debian's shared one is linked.
CURL_MIN := build-deps/curl
PULL_STATIC_LIBS := $(CURL_MIN)/libcurl.a -lssl -lcrypto -larchive -lnettle -llzma -lzstd -lbz2 -lz -ljansson \
  -lpthread
$(B)/chuted-image-pull: $(B)/obj/mgmt/main_image_pull.o $(B)/libimage.a $(B)/libcommon.a
ifeq ($(SAN),)
	@if tools/libcurl-min.sh build $(CURL_MIN); then \
	  echo "$(CC) $(LDFLAGS) -static -o $@ $^ $(PULL_STATIC_LIBS)"; \
	  $(CC) $(LDFLAGS) -static -o $@ $^ $(PULL_STATIC_LIBS) 2>$@.log || { cat $@.log >&2; exit 1; }; rm -f $@.log; \
	else \
	  echo "chuted-image-pull: no minimal libcurl in $(CURL_MIN): linking Debian's shared libcurl" >&2; \
	  $(CC) $(LDFLAGS) -o $@ $^ $(IMAGE_LIBS); \
	fi
else
	$(CC) $(LDFLAGS) -o $@ $^ $(IMAGE_LIBS)
endif

# Unit tests (cmocka): one program per tests/unit/test_*.c, linked with every library.
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
ALL_LIBS := -lcmocka -lyaml -lseccomp -lcap -lnl-route-3 -lnl-genl-3 -lnl-3 -lnftnl -lmnl -larchive -lcurl -lcrypto -lz -ljansson -lpthread -lm \
  -lmbedtls -lmbedx509 -lmbedcrypto -lhogweed -lnettle -lgmp

$(B)/tests/%: tests/unit/%.c $(LIBS_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -Wl,--start-group $(LIBS_A) -Wl,--end-group $(ALL_LIBS)

# A static syscall probe the security tests run inside chutes (beside the
# programs, so the VM image picks it up with them).
$(B)/chuted-sys-probe: tests/integration/sys_probe.c
	$(CC) -O2 -static -D_GNU_SOURCE -o $@ $<

unit: $(UNIT_BIN) $(B)/chuted-sys-probe

# libFuzzer targets (tests/fuzz/fuzz_*.c) over image/ + common/ (fuzz_spec:
# + runtime/ + cgroups/, where config.json's parser lives), built with clang.
# Objects are built once (instrumented) and linked into every target.
FUZZ_CC ?= clang
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -I. -Wall -Werror -Wno-unused-parameter -MMD -MP \
  -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SRC := $(filter-out $(wildcard */main_*.c),$(wildcard image/*.c common/*.c))
FUZZ_RT_SRC := $(filter-out $(wildcard */main_*.c),$(wildcard runtime/*.c cgroups/*.c))
FUZZ_BIN := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_LIBS := $(IMAGE_LIBS) -lseccomp -lcap

build-fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
build-fuzz/obj/runtime/seccomp_embed.o: runtime/seccomp_default.json
.PRECIOUS: build-fuzz/obj/%.o

build-fuzz/%: build-fuzz/obj/tests/fuzz/%.o $(FUZZ_SRC:%.c=build-fuzz/obj/%.o)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Wl,--gc-sections -o $@ $^ $(FUZZ_LIBS)
build-fuzz/fuzz_spec: $(FUZZ_RT_SRC:%.c=build-fuzz/obj/%.o)
# fuzz_chute_yaml: chute.yaml's parser and the rules it checks values with
FUZZ_CY_SRC := $(wildcard mgmt/manifest_*.c) mgmt/limits.c mgmt/chute.c netns/net_parse.c netns/wifi_parse.c \
  $(filter-out $(wildcard */main_*.c),$(wildcard cgroups/*.c))
build-fuzz/fuzz_chute_yaml: $(FUZZ_CY_SRC:%.c=build-fuzz/obj/%.o)
build-fuzz/fuzz_chute_yaml: FUZZ_LIBS += -lyaml
# fuzz_api: what the REST API reads from a client; a body's chute file then
# goes to chute.yaml's parser
build-fuzz/fuzz_api: $(FUZZ_CY_SRC:%.c=build-fuzz/obj/%.o) build-fuzz/obj/mgmt/api_parse.o
build-fuzz/fuzz_api: FUZZ_LIBS += -lyaml
# fuzz_cloud: the cloud link's desired documents (signature, then checks)
# and commands
FUZZ_CLOUD_SRC := mgmt/cloud_msg.c mgmt/cloud_doc.c mgmt/cloud_sign.c mgmt/cloud_sign_key.c mgmt/chute.c mgmt/desired.c
build-fuzz/fuzz_cloud: $(FUZZ_CLOUD_SRC:%.c=build-fuzz/obj/%.o)
build-fuzz/fuzz_cloud: FUZZ_LIBS += -lhogweed -lnettle -lgmp

fuzz-build:
	tools/install-deps.sh --fuzz
	$(MAKE) $(FUZZ_BIN)

# make fuzz: each target for its share of >= 10 M execs (tests/fuzz/run.sh).
fuzz: fuzz-build
	tests/fuzz/run.sh

-include $(shell find build-fuzz/obj -name '*.d' 2>/dev/null)

deps:
	tools/install-deps.sh

check: deps
	$(MAKE) all unit
	$(MAKE) SAN=1 all unit
	tests/check.sh

demo: deps
	$(MAKE) all
	tools/demo.sh

bench: all
	tools/install-deps.sh --bench
	tests/bench/run.sh

# QEMU APU image (tools/vm/, cached under build/vm/) and the suite run inside it.
vm:
	tools/vm/build-image.sh

# the VM suite runs the programs and the static probe its security tests need
vm-check: all $(B)/chuted-sys-probe
	tests/vm/run.sh

# power cuts during an update, 10 VM boots from one data disk: minutes under
# TCG, so not part of check
vm-powercut: all
	tests/vm/powercut.sh

clean:
	rm -rf build build-asan build-fuzz

# make man: docs/man/chuted.1 again from the option tables (after adding or
# changing an option; 57_cli_run fails while the committed page differs)
man: $(B)/chuted
	$(B)/chuted __man > docs/man/chuted.1
	rm -f docs/man/chuted-*.1
	for c in $$($(B)/chuted __man --list); do $(B)/chuted __man $$c > docs/man/chuted-$$c.1; done

# make install [PREFIX=/usr/local] [DESTDIR=] [INIT="systemd procd"]: the
# programs find each other in /proc/self/exe's directory, so they go side by
# side into LIBEXECDIR and PATH gets only a symlink to chuted (the kernel
# resolves it). INIT picks the boot scripts (they run `chuted daemon`): the
# systemd unit, OpenWrt's procd init script, or both; by default the one this
# host runs. make uninstall removes exactly those files.
PREFIX ?= /usr/local
BINDIR = $(PREFIX)/bin
LIBEXECDIR = $(PREFIX)/libexec/chuted
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
MANDIR ?= $(PREFIX)/share/man
# chuted(1) and a page per command, chuted-CMD(1), all made by `make man`
MAN1 = $(wildcard docs/man/chuted*.1)
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
INITDIR ?= /etc/init.d
INIT ?= $(if $(wildcard /etc/openwrt_release),procd,systemd)
INSTALL ?= install
STRIP ?= strip
INSTALLED_PROGS := $(notdir $(PROGS))
SUBST_BINDIR = sed 's|@BINDIR@|$(BINDIR)|g'

install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)
	$(INSTALL) -m 755 -s --strip-program=$(STRIP) $(PROGS) $(DESTDIR)$(LIBEXECDIR)/
	ln -sf ../libexec/chuted/chuted $(DESTDIR)$(BINDIR)/chuted
	$(INSTALL) -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(BASHCOMPDIR)
	$(INSTALL) -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 644 docs/man/chute.yaml.5 $(DESTDIR)$(MANDIR)/man5/chute.yaml.5
	$(INSTALL) -m 644 tools/completion/chuted.bash $(DESTDIR)$(BASHCOMPDIR)/chuted
ifneq ($(filter systemd,$(INIT)),)
	$(INSTALL) -d $(DESTDIR)$(SYSTEMDUNITDIR)
	$(SUBST_BINDIR) tools/install/chuted.service > $(DESTDIR)$(SYSTEMDUNITDIR)/chuted.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/chuted.service
endif
ifneq ($(filter procd,$(INIT)),)
	$(INSTALL) -d $(DESTDIR)$(INITDIR)
	$(SUBST_BINDIR) tools/install/chuted.init > $(DESTDIR)$(INITDIR)/chuted
	chmod 755 $(DESTDIR)$(INITDIR)/chuted
endif

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/chuted $(addprefix $(DESTDIR)$(LIBEXECDIR)/,$(INSTALLED_PROGS))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1))) $(DESTDIR)$(MANDIR)/man5/chute.yaml.5 $(DESTDIR)$(BASHCOMPDIR)/chuted
	rmdir $(DESTDIR)$(LIBEXECDIR) 2>/dev/null || true
ifneq ($(filter systemd,$(INIT)),)
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/chuted.service
endif
ifneq ($(filter procd,$(INIT)),)
	rm -f $(DESTDIR)$(INITDIR)/chuted
endif

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

.PHONY: all unit deps check demo bench clean fuzz fuzz-build vm vm-check vm-powercut install uninstall man
