# greenlight: the two commands of README, and their parts.
#   make demo   set everything up, deploy staging and production of the sample app, promote v1 -> v2
#   make test   lint, unit tests, end-to-end tests on Docker, Molecule

SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
# Base image of every image built here. Empty: build a Debian one locally with debootstrap
# (works with no registry). On a machine that can pull: make demo BASE_IMAGE=debian:bookworm-slim
BASE_IMAGE ?=
DEMO_REPO ?= /var/lib/greenlight/demo/warehouse.git

export ANSIBLE_FORCE_COLOR ?= 1
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: demo test setup secrets venv docker base-image browser vps-packages pipx nftables compose pebble sslyze lint collection unit e2e molecule clean-demo docs bench bench-backups bench-monitoring bench-contention interruptions bench-docker fresh-debian shells promtool bench-engine

demo: setup
	DEMO_REPO=$(DEMO_REPO) bash scripts/demo.sh

test: setup lint unit e2e molecule

setup: venv docker base-image secrets

# The demo's vault password and vault files, made once on this machine (scripts/make-secrets.sh).
secrets: venv
	bash scripts/make-secrets.sh

venv: $(VENV)/.installed

# Debian and Ubuntu ship python3 without its venv module (package python3-venv).
$(VENV)/.installed: pyproject.toml requirements.yml
	python3 -c 'import ensurepip' 2>/dev/null || { echo "installing python3-venv (python3 -m venv needs it)" >&2; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; }
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/ansible-galaxy collection install -r requirements.yml >/dev/null
	touch $@

docker:
	bash scripts/ensure-docker.sh

# The base image goes into the project's inventories (group_vars/all/base_image.yml, not
# committed), so every later greenlight command uses it with no variable to export.
base-image: docker
	mkdir -p .greenlight
	if [ -n "$(BASE_IMAGE)" ]; then echo "$(BASE_IMAGE)"; else bash scripts/build-base-image.sh; fi > .greenlight/base-image
	for env in staging production; do \
	  printf -- '---\n# Written by make base-image: the base image of every image built on the host.\ngreenlight_base_image: %s\n' \
	    "$$(cat .greenlight/base-image)" > inventories/$$env/group_vars/all/base_image.yml; done
	echo "base image: $$(cat .greenlight/base-image) (inventories/*/group_vars/all/base_image.yml)"

lint: venv docs collection
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint

# The Ansible collection greenlight.deploy (galaxy.yml; the checkout is its root, reached as
# Ansible finds it through .collections): its modules', filters' and roles' documentation passes
# the Ansible ecosystem's own check, and ansible-galaxy builds its archive.
COLLECTION := .collections/ansible_collections/greenlight/deploy
collection: venv
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs $(COLLECTION)
	$(BIN)/ansible-galaxy collection build --force --output-path .cache/collection . >/dev/null
	@echo "collection: $$(ls .cache/collection/greenlight-deploy-*.tar.gz)"

# The documentation site (docs/conf.py, docs/decisions.md): the guides of docs/ and the
# collection's reference, which antsibull-docs renders from the collection (modules, filters,
# roles' argument specs with their defaults: scripts/docs-collection.py), built by Sphinx with
# warnings as errors, so a broken link, anchor or reference fails make test. Into .cache/site.
docs: venv
	rm -rf .cache/docs .cache/site && mkdir -p .cache/docs && cp -r docs .cache/docs/src && chmod og-w .cache/docs/src
	$(BIN)/python scripts/docs-collection.py .cache/docs
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/.cache/docs $(BIN)/antsibull-docs collection --use-current --fail-on-error \
	  --no-indexes --no-add-antsibull-docs-version --dest-dir .cache/docs/src greenlight.deploy >/dev/null
	$(BIN)/sphinx-build -q -W --keep-going -n -c docs -b html .cache/docs/src .cache/site
	@echo "docs: .cache/site/index.html"

unit: venv shells promtool nftables
	PROMTOOL=$(PROMTOOL) $(BIN)/pytest -q tests/unit

# nft: the unit tests have it check the table greenlight adopt writes; adopt needs it on the host.
nftables:
	command -v nft >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables >/dev/null; }

# Debian's docker-compose (v1): tests/e2e/test_compose_adopt.py runs a compose app as its team
# does, and make bench measures a naive compose recreate.
compose:
	command -v docker-compose >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; }

# zsh: the unit tests run the shell completion in bash and in zsh.
shells:
	command -v zsh >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zsh >/dev/null; }

# promtool, from Debian's prometheus package, unpacked into .cache (not installed: the package
# would start a Prometheus of its own on 9090 and pull in a node exporter on 9100, the ports of
# greenlight's monitoring): the unit tests run the alert rules on test series (test_alert_rules.py).
PROMTOOL := $(CURDIR)/.cache/prometheus/usr/bin/promtool
promtool: $(PROMTOOL)
$(PROMTOOL):
	rm -rf .cache/prometheus && mkdir -p .cache/prometheus
	cd .cache/prometheus && { apt-get download prometheus 2>/dev/null || { apt-get update -qq && apt-get download prometheus; }; } \
	  && dpkg-deb -x prometheus_*.deb . && rm prometheus_*.deb
	test -x $@

# sslyze, a TLS scanner, in a virtualenv of its own (it pins a cryptography older than the one
# community.crypto's modules need): tests/e2e/test_certificates.py judges the proxy's TLS settings with it.
SSLYZE := $(CURDIR)/.cache/sslyze/bin/sslyze
sslyze: $(SSLYZE)
$(SSLYZE):
	rm -rf .cache/sslyze && python3 -m venv .cache/sslyze && .cache/sslyze/bin/pip install -q 'sslyze>=6,<7'
	test -x $@

# Debian's chromium and its driver: the end-to-end tests load the status page in a real browser.
browser:
	command -v chromedriver >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

# What a VPS has (docs/getting-started.md): sshd, sudo, and the python3 packages of Ansible's
# docker and mysql modules. tests/e2e/test_ssh.py deploys over SSH to this machine.
vps-packages:
	[ -x /usr/sbin/sshd ] && command -v sudo restic >/dev/null && /usr/bin/python3 -c 'import requests, pymysql' 2>/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server sudo restic python3-requests python3-pymysql >/dev/null; }

# Debian's pebble, an ACME test server, and its challenge test server (as DNS): tests/e2e/test_certificates.py
# gets and renews certificates from it through its real HTTP-01 validation.
pebble:
	command -v pebble pebble-challtestsrv >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pebble >/dev/null; }

# pipx: tests/e2e/test_day_two.py installs the built wheel with it, as a user would.
pipx:
	command -v pipx >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pipx >/dev/null; }

e2e: setup browser vps-packages pipx nftables compose pebble sslyze
	$(BIN)/pytest -q -s --durations=40 tests/e2e

molecule: setup
	$(BIN)/molecule test

# The README's commands on a stock Debian 12 (a privileged container with its own Docker
# engine; tests/fresh/run.sh): make fresh-debian, or make fresh-debian TARGET=test.
fresh-debian: base-image
	bash tests/fresh/run.sh $(or $(TARGET),demo)

# The demo's containers and data, and its state on the host: backups and restic repositories
# included (their passwords are this clone's, made by make-secrets.sh; another clone's demo
# could not open them).
clean-demo:
	bash scripts/remove-app.sh warehouse
	rm -rf /var/lib/greenlight/warehouse-staging /var/lib/greenlight/warehouse-production /var/lib/greenlight/warehouse \
	  /var/lib/greenlight/restic/warehouse-staging /var/lib/greenlight/restic/warehouse-production

# The benchmark (bench/README.md): load through each strategy's deploy, a rollback, and a naive
# docker-compose recreate. BENCH_ARGS, for example: make bench BENCH_ARGS="--rate 200 --cases naive blue_green"
BENCH_ARGS ?=
bench: setup compose
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Where the time of promote, a no-op deploy, cron's no-op, rollback, status and verify goes:
# configured waits against the engine's own overhead, and the slowest tasks (bench/engine.py).
bench-engine: setup
	$(BIN)/python bench/engine.py $(BENCH_ARGS)

# Backup, verification, restore and import times on a database of a million rows (bench/backups.py).
bench-backups: setup
	$(BIN)/python bench/backups.py

# The monitoring stack's memory and CPU with both environments under 100 requests/s (bench/monitoring.py).
bench-monitoring: setup
	$(BIN)/python bench/monitoring.py

# Production's latency while every staging container burns CPU, with and without staging's lower CPU weight (bench/contention.py).
bench-contention: setup
	$(BIN)/python bench/contention.py

# The whole kill matrix (tests/e2e/test_interruptions.py): greenlight killed at every point of a
# production deploy, each followed by a plain rerun; `make test` runs three of the points.
interruptions: setup
	GREENLIGHT_KILL_MATRIX=all $(BIN)/pytest -q -s tests/e2e/test_interruptions.py

# The CIS Docker Benchmark's image and container-runtime checks on app APP's running containers,
# and a summary per check: docker-bench-security from a checkout you point at (it is not part of
# this project): make bench-docker DOCKER_BENCH_DIR=/path/to/docker-bench-security
# The monitoring stack: make bench-docker BENCH_DOCKER_LABEL=greenlight.monitoring
APP ?= warehouse
BENCH_DOCKER_LABEL ?= greenlight.app=$(APP)
bench-docker:
	DOCKER_BENCH_DIR=$(DOCKER_BENCH_DIR) bash bench/docker-bench.sh $(BENCH_DOCKER_LABEL)
