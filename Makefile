# TierTalk local operations. Every target is a script in deploy/local/.
#   make up      build and start a local cluster (MariaDB, Redis, etcd; 2 db-proxy, push, 2 route, 2 msg, msfs, file, login, admin, http-api)
#   make test    build and run every jest suite against real MariaDB/Redis/etcd
#   make faults  only the fault suite (kill -9, restarts, etcd down under load); table in .run/fault-results.md
#   make bench   pressure scenarios into docs/BENCHMARKS.md; make profile: CPU profile of the cluster under load
#   make images  one container image per service with podman (local Debian + Node base; deploy/README.md)
# Extra arguments: make test ARGS="services/db-proxy"   (bench passes ARGS to the pressure tool)

SHELL := /bin/bash
ARGS ?=

.PHONY: help up down status logs build test faults bench profile images

help:
	@sed -n '2,7p' Makefile | sed 's/^# \{0,1\}//'
	@echo "  make down | status | logs | build | bench"

up:
	@deploy/local/up.sh

down:
	@deploy/local/down.sh

status:
	@deploy/local/status.sh

logs:
	@deploy/local/logs.sh

build:
	npm run build

test:
	@deploy/local/test.sh $(ARGS)

faults:
	@deploy/local/faults.sh $(ARGS)

bench:
	@deploy/local/bench.sh $(ARGS)

profile:
	@deploy/local/profile.sh $(ARGS)

images:
	@deploy/local/images.sh $(ARGS)
