# mod_reqprof build, demo, tests and benchmark.   Use: make -f apxs.mk TARGET
#
#   deps     install what is missing (Debian/Ubuntu, apt-get; sudo when not root),
#            and the npm packages the tests use (into build/npm)
#   all      build mod_reqprof.so with apxs, warnings as errors
#   demo     deps + all, then a private httpd on 127.0.0.1 with a workload
#   test     deps + all, then unit tests (ASan+UBSan; TSan for the store
#            and the sampler) and integration tests
#   bench    deps + all, the page's render benchmark, then the ab benchmark
#            (ratios against no module)
#   soak     deps + all, then long ab runs against every fixture URL
#   install  apxs -i, and the example config into /etc/apache2 (Debian)
#   clean    remove build outputs

APXS       ?= apxs
PYTHON     ?= /usr/bin/python3
SRC_DIR    := mod_reqprof
FIX_DIR    := tests/fixture
UNIT_DIR   := tests/unit
BUILD      := build

# The parts that need no httpd (unit tested on their own) ...
PURE_SRCS  := $(SRC_DIR)/rp_filter.c $(SRC_DIR)/rp_query.c \
              $(SRC_DIR)/rp_escape.c $(SRC_DIR)/rp_sort.c \
              $(SRC_DIR)/rp_store.c $(SRC_DIR)/rp_objects.c \
              $(SRC_DIR)/rp_symbols.c $(SRC_DIR)/rp_timer.c \
              $(SRC_DIR)/rp_sampler.c $(SRC_DIR)/rp_offcpu.c \
              $(SRC_DIR)/rp_model.c $(SRC_DIR)/rp_model_diff.c \
              $(SRC_DIR)/rp_out.c $(SRC_DIR)/rp_report.c \
              $(SRC_DIR)/rp_report_text.c $(SRC_DIR)/rp_report_json.c \
              $(SRC_DIR)/rp_report_html.c $(SRC_DIR)/rp_report_flame.c \
              $(SRC_DIR)/rp_report_collapsed.c $(SRC_DIR)/rp_report_pprof.c \
              $(SRC_DIR)/rp_report_callgrind.c $(SRC_DIR)/rp_report_dot.c \
               $(SRC_DIR)/rp_report_speedscope.c \
               $(SRC_DIR)/rp_report_requests.c \
               $(SRC_DIR)/rp_report_timeline.c $(SRC_DIR)/rp_render.c \
               $(SRC_DIR)/rp_report_now.c $(SRC_DIR)/rp_interp.c \
               $(SRC_DIR)/rp_interp_php.c $(SRC_DIR)/rp_inames.c \
               $(SRC_DIR)/rp_interp_python.c
# ... and the ones that talk to httpd.
SOURCES    := $(SRC_DIR)/mod_reqprof.c $(SRC_DIR)/rp_config.c \
              $(SRC_DIR)/rp_request.c $(SRC_DIR)/rp_handler.c \
              $(SRC_DIR)/rp_runtime.c $(SRC_DIR)/rp_control.c \
              $(SRC_DIR)/rp_answer.c $(SRC_DIR)/rp_tsc.c \
              $(SRC_DIR)/rp_live.c $(SRC_DIR)/rp_status.c \
              $(PURE_SRCS)
HEADERS    := $(wildcard $(SRC_DIR)/*.h)
MODULE     := $(SRC_DIR)/.libs/mod_reqprof.so
FIXTURE    := $(FIX_DIR)/.libs/mod_reqprof_fixture.so

# httpd's CI warning set, plus -Wextra and -Wshadow; all of them errors.
# (-Wextra's field-initializer warning would reject httpd's { NULL } idiom.)
WARN       := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
              -Wmissing-declarations -Wpointer-arith -Wshadow \
              -Wformat-security -Wno-unused-parameter \
              -Wno-missing-field-initializers
APXS_WARN  := $(foreach w,$(WARN),-Wc,$(w))
LIBS       := -lpcre2-8 -lunwind -lunwind-x86_64 -ldw -lelf -lz
# Only reqprof_module leaves the .so.
EXPORTS    := -Wl,-Wl,--version-script=$(CURDIR)/$(SRC_DIR)/exports.map

# What the build, the tests and the demo need from Debian.
DEB_PKGS   := apache2 apache2-dev apache2-utils libapr1-dev libaprutil1-dev \
              libapache2-mod-php8.2 php8.2-dev php8.2-opcache \
              libapache2-mod-wsgi-py3 libpython3.11-dev \
              libpcre2-dev libunwind-dev libdw-dev pkg-config check \
              python3 python3-pytest python3-requests curl binutils \
              zlib1g-dev chromium chromium-driver python3-selenium \
              golang-go valgrind graphviz gdb clang-format

# What the tests take from npm, into build/npm (never into the repository):
# speedscope's release, whose file-format-schema.json is the published
# schema of format=speedscope and whose page the browser test opens the
# export in, and ajv to validate against that schema
# (tests/speedscope_schema.js).  node and npm come from Debian's nodejs
# and npm when no npm is on the PATH (NodeSource's nodejs carries its own).
NPM_DIR    := $(BUILD)/npm
NPM_PKGS   := speedscope@1.25.0 ajv@8
NPM_STAMP  := $(NPM_DIR)/.installed

# Unit tests: the pure parts, built with sanitizers.  Each source is
# compiled once into build/asan/ and archived in one library that every
# check_* links after its own file (no test defines a symbol the library
# does, so the archive only adds what the test calls).  -MMD writes each
# object's header dependencies next to it (included at the end).
UNIT_SRCS  := $(PURE_SRCS)
UNIT_TESTS := $(BUILD)/check_filter $(BUILD)/check_query \
              $(BUILD)/check_escape $(BUILD)/check_store \
              $(BUILD)/check_symbols $(BUILD)/check_offcpu \
              $(BUILD)/check_sampler $(BUILD)/check_model \
              $(BUILD)/check_flame $(BUILD)/check_exports \
              $(BUILD)/check_html $(BUILD)/check_interp \
              $(BUILD)/check_php_abi $(BUILD)/check_python
SAN        := -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=all
UNIT_CFLAGS = -g -O1 $(WARN) -I$(SRC_DIR) -MMD -MP \
              $(shell pkg-config --cflags apr-1 libpcre2-8 check libdw \
                  2>/dev/null)
UNIT_LIBS   = $(shell pkg-config --libs apr-1 libpcre2-8 check libdw \
                  2>/dev/null) -lunwind -lunwind-x86_64 -lelf -lz -lpthread -ldl \
              -rdynamic
ASAN_OBJS  := $(UNIT_SRCS:$(SRC_DIR)/%.c=$(BUILD)/asan/%.o)
ASAN_LIB   := $(BUILD)/libreqprof_asan.a

# The same tests of the parts that share state between threads (the
# store's seqlock and counters, the sampler's flags and its off-CPU
# thread) once more under ThreadSanitizer, which cannot be combined with
# ASan: their sources into a second library, the tests built with
# UNIT_TSAN defined (each leaves out, saying why, what TSan distorts: for
# the sampler where a delayed signal lands, for the store its timings)
# and linked with unit_tsan.c (what TSan must be told, and why).  Add a
# source here when check_store or check_sampler come to need it.
# -Wno-tsan: GCC warns that TSan does not model atomic_thread_fence; the
# store's seqlock fences order the very copy that unit_tsan.c tells TSan
# about, and every other shared word is an atomic that TSan does check.
TSAN_SRCS  := $(SRC_DIR)/rp_store.c $(SRC_DIR)/rp_sampler.c \
              $(SRC_DIR)/rp_offcpu.c $(SRC_DIR)/rp_timer.c \
              $(SRC_DIR)/rp_interp.c $(SRC_DIR)/rp_interp_php.c \
              $(SRC_DIR)/rp_inames.c $(SRC_DIR)/rp_interp_python.c
TSAN_TESTS := $(BUILD)/check_store_tsan $(BUILD)/check_sampler_tsan
TSAN       := -fsanitize=thread -DUNIT_TSAN -Wno-tsan
TSAN_OBJS  := $(TSAN_SRCS:$(SRC_DIR)/%.c=$(BUILD)/tsan/%.o)
TSAN_LIB   := $(BUILD)/libreqprof_tsan.a

# bash with pipefail: build output is filtered, failures must still fail.
SHELL      := /bin/bash
.SHELLFLAGS := -o pipefail -c

# apxs echoes every libtool command; show only what the compiler says.
QUIET      := ^/usr/share/apr-1.0/build/libtool\|^libtool: \|^ *-\|^$$

SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps demo test unit integration bench bench-render soak install \
        install-conf \
        clean fixture npm

all: $(MODULE)

$(MODULE): $(SOURCES) $(HEADERS) $(SRC_DIR)/exports.map apxs.mk
	@cd $(SRC_DIR) && $(APXS) -c -o mod_reqprof.la $(APXS_WARN) $(EXPORTS) \
	    $(notdir $(SOURCES)) $(LIBS) 2>&1 | { grep -v "$(QUIET)" || true; }
	@nm -D --defined-only $@ | awk '$$2 ~ /^[TDBR]$$/ {print $$3}' \
	    | grep -vx reqprof_module | grep . \
	    && { echo "symbols other than reqprof_module exported" >&2; exit 1; } \
	    || true
	@echo "built $@"

# The style and script of the page and of the flame graph are files
# (mod_reqprof/assets/), made into string macros of a generated header at
# build time; everything that compiles the renderers needs it first.
ASSETS     := $(sort $(wildcard $(SRC_DIR)/assets/*.css $(SRC_DIR)/assets/*.js))
ASSETS_H   := $(SRC_DIR)/rp_assets.h

$(ASSETS_H): $(ASSETS) $(SRC_DIR)/assets/embed.awk
	@LC_ALL=C awk -f $(SRC_DIR)/assets/embed.awk $(ASSETS) > $@.tmp \
	    && mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }

$(MODULE) $(UNIT_TESTS) $(BUILD)/bench_render: $(ASSETS_H)

fixture: $(FIXTURE)

$(FIXTURE): $(FIX_DIR)/mod_reqprof_fixture.c apxs.mk
	@cd $(FIX_DIR) && $(APXS) -c -o mod_reqprof_fixture.la $(APXS_WARN) \
	    -Wc,-fno-omit-frame-pointer -Wc,-fno-optimize-sibling-calls \
	    mod_reqprof_fixture.c 2>&1 | { grep -v "$(QUIET)" || true; }
	@echo "built $@"

deps:
	@missing=""; \
	for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	        | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	        --no-install-recommends $$missing; \
	fi
	@$(MAKE) -s -f apxs.mk npm

# The npm packages (NPM_PKGS), installed again when apxs.mk changes.
npm: $(NPM_STAMP)

$(NPM_STAMP): apxs.mk
	@command -v npm >/dev/null \
	    || { echo "npm is missing: make -f apxs.mk deps" >&2; exit 1; }
	npm install --no-save --no-audit --no-fund --no-package-lock \
	    --loglevel=error --prefix $(NPM_DIR) $(NPM_PKGS)
	@touch $@

$(BUILD):
	mkdir -p $@

$(BUILD)/asan/%.o: $(SRC_DIR)/%.c apxs.mk | $(ASSETS_H)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(SAN) -c -o $@ $<

$(BUILD)/tsan/%.o: $(SRC_DIR)/%.c apxs.mk | $(ASSETS_H)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(TSAN) -c -o $@ $<

# Rebuilt whole (rm first): a source taken out of the list leaves no
# stale member behind.
$(ASAN_LIB): $(ASAN_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

$(TSAN_LIB): $(TSAN_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/check_%: $(UNIT_DIR)/check_%.c $(ASAN_LIB) apxs.mk | $(BUILD)
	$(CC) $(UNIT_CFLAGS) $(SAN) -o $@ $< $(ASAN_LIB) $(UNIT_LIBS)

# PHP's headers (php8.2-dev, from make deps) against rp_php_abi.h; PHP's
# headers are not warning-clean under our flags, so theirs are -isystem.
$(BUILD)/check_php_abi: $(UNIT_DIR)/check_php_abi.c $(SRC_DIR)/rp_php_abi.h \
                        apxs.mk | $(BUILD)
	$(CC) $(UNIT_CFLAGS) $(SAN) \
	    $(patsubst -I%,-isystem %,$(shell php-config --includes)) \
	    -o $@ $< $(UNIT_LIBS)

# CPython 3.11's headers, internal ones too (libpython3.11-dev), and
# Python itself embedded: the walk is checked against the real thing.
$(BUILD)/check_python: $(UNIT_DIR)/check_python.c $(SRC_DIR)/rp_py_abi.h \
                       $(ASAN_LIB) apxs.mk | $(BUILD)
	$(CC) $(UNIT_CFLAGS) $(SAN) -isystem /usr/include/python3.11 \
	    -o $@ $< $(ASAN_LIB) -lpython3.11 $(UNIT_LIBS)

$(BUILD)/tsan/unit_tsan.o: $(UNIT_DIR)/unit_tsan.c apxs.mk
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(TSAN) -c -o $@ $<

$(BUILD)/check_%_tsan: $(UNIT_DIR)/check_%.c $(BUILD)/tsan/unit_tsan.o \
                       $(TSAN_LIB) apxs.mk | $(BUILD)
	$(CC) $(UNIT_CFLAGS) $(TSAN) -o $@ $< $(BUILD)/tsan/unit_tsan.o \
	    $(TSAN_LIB) $(UNIT_LIBS)

unit: $(UNIT_TESTS) $(TSAN_TESTS)

demo: deps all fixture
	$(PYTHON) tests/demo.py

test: deps all fixture unit
	$(PYTHON) tests/run_tests.py $(UNIT_TESTS) $(TSAN_TESTS)

integration: all fixture npm
	$(PYTHON) -m pytest -q tests

# The render benchmark: optimised, no sanitizers, as the module is built.
$(BUILD)/bench_render: tests/bench_render.c $(UNIT_SRCS) $(HEADERS) | $(BUILD)
	$(CC) -O2 -g $(WARN) -I$(SRC_DIR) \
	    $(shell pkg-config --cflags apr-1 libpcre2-8 libdw) -o $@ $< \
	    $(UNIT_SRCS) $(shell pkg-config --libs apr-1 libpcre2-8 libdw) \
	    -lunwind -lunwind-x86_64 -lelf -lz -lpthread -ldl

bench-render: $(BUILD)/bench_render
	$(BUILD)/bench_render

# The heap each answer needs beyond its output, every view and export.
.PHONY: bench-memory
bench-memory: $(BUILD)/bench_render
	$(BUILD)/bench_render --memory

# What each part of the request path costs (rp_tsc.h): the module built
# again with RP_TSC, from copies of its sources in its own directory (the
# module proper is untouched), under tests/bench_request.py.
TSC_DIR    := $(BUILD)/tsc
TSC_MODULE := $(TSC_DIR)/.libs/mod_reqprof.so

$(TSC_MODULE): $(SOURCES) $(HEADERS) $(ASSETS_H) $(SRC_DIR)/exports.map \
               apxs.mk
	@mkdir -p $(TSC_DIR)
	@cp $(SOURCES) $(sort $(HEADERS) $(ASSETS_H)) $(TSC_DIR)/
	@cd $(TSC_DIR) && $(APXS) -c -o mod_reqprof.la -DRP_TSC $(APXS_WARN) \
	    $(EXPORTS) $(notdir $(SOURCES)) $(LIBS) 2>&1 \
	    | { grep -v "$(QUIET)" || true; }
	@echo "built $@"

.PHONY: bench-request
bench-request: deps all fixture $(TSC_MODULE)
	REQPROF_MODULE=$(CURDIR)/$(TSC_MODULE) $(PYTHON) tests/bench_request.py

bench: deps all fixture bench-render
	$(PYTHON) tests/bench.py

soak: deps all fixture
	$(PYTHON) tests/soak.py

# httpd's own test suite (apache/httpd-tests, Apache::Test) without the
# module, then profiling every request with each timer; passes when no
# new test file fails and no child crashed.  HTTPD_TESTS: a checkout kept
# outside this repository.  See tests/conformance.py for the settings.
CONFORMANCE_PKGS   := libapache2-mod-perl2 libwww-perl libhttp-dav-perl \
                      libdatetime-perl libio-socket-ssl-perl \
                      libnet-ssleay-perl liblwp-protocol-https-perl \
                      libanyevent-perl libanyevent-websocket-client-perl \
                      libfcgi-perl libfcgi-procmanager-perl openssl
CONFORMANCE_TIMERS ?= real cpu
.PHONY: conformance
conformance: deps all
	@[ -n "$(HTTPD_TESTS)" ] || { echo "usage: make -f apxs.mk" \
	    "conformance HTTPD_TESTS=DIR (an httpd-tests checkout)" >&2; exit 2; }
	@missing=""; \
	for p in $(CONFORMANCE_PKGS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	        | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	        --no-install-recommends $$missing; \
	fi
	HTTPD_TESTS="$(HTTPD_TESTS)" CONFORMANCE_TIMERS="$(CONFORMANCE_TIMERS)" \
	    $(PYTHON) tests/conformance.py

# APACHE_CONFDIR: a Debian-style configuration directory to write
# reqprof.load and reqprof.conf into (the tests use a copy of
# /etc/apache2); REQPROF_SO: the module path the .load file names.
APACHE_CONFDIR ?= /etc/apache2
REQPROF_SO     ?= $(shell $(APXS) -q LIBEXECDIR)/mod_reqprof.so

install: all
	$(APXS) -i -n reqprof $(MODULE)
	@$(MAKE) -s -f apxs.mk install-conf

install-conf:
	@if [ -d $(APACHE_CONFDIR)/mods-available ]; then \
	    echo "LoadModule reqprof_module $(REQPROF_SO)" \
	        > $(APACHE_CONFDIR)/mods-available/reqprof.load; \
	    cp conf.d/reqprof.conf $(APACHE_CONFDIR)/mods-available/reqprof.conf; \
	    echo "installed; enable with: a2enmod reqprof && apachectl graceful"; \
	fi

clean:
	rm -rf $(BUILD) $(SRC_DIR)/.libs $(FIX_DIR)/.libs
	rm -f $(ASSETS_H)
	rm -f $(SRC_DIR)/*.lo $(SRC_DIR)/*.slo $(SRC_DIR)/*.o $(SRC_DIR)/*.la
	rm -f $(FIX_DIR)/*.lo $(FIX_DIR)/*.slo $(FIX_DIR)/*.o $(FIX_DIR)/*.la

# Header dependencies of the unit objects and programs (from -MMD).
-include $(wildcard $(BUILD)/*.d $(BUILD)/asan/*.d $(BUILD)/tsan/*.d)
