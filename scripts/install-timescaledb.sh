#!/usr/bin/env bash
# Installs TimescaleDB (Apache-2 build) into this machine's PostgreSQL cluster.
#
# Why build from source: the only network here is the package registries, and Debian's
# stable release of this machine does not ship timescaledb; Debian 13 "trixie" does, as a
# source package. We add a *temporary* deb-src entry for trixie, reusing the URI of the
# machine's own apt sources (never hard-coded here), fetch the source with `apt-get source`,
# build it against the local postgresql-server-dev-<major>, `make install`, add timescaledb to
# shared_preload_libraries and restart the cluster. See docs/architecture.md §Storage.
#
# Idempotent: exits early when the extension is already available and preloaded.
# Usage: scripts/install-timescaledb.sh   (as root; PG_MAJOR and PG_CLUSTER may be overridden)
set -euo pipefail

log() { printf '[install-timescaledb] %s\n' "$*" >&2; }

PG_MAJOR=${PG_MAJOR:-$(ls /etc/postgresql | sort -n | tail -n 1)}
PG_CLUSTER=${PG_CLUSTER:-main}
PG_CONF=/etc/postgresql/$PG_MAJOR/$PG_CLUSTER/postgresql.conf
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
[ -f "$PG_CONF" ] || { log "no cluster config at $PG_CONF"; exit 1; }

ext_dir() { "$PG_CONFIG" --sharedir 2>/dev/null; }
installed() { [ -x "$PG_CONFIG" ] && [ -f "$(ext_dir)/extension/timescaledb.control" ]; }
preloaded() { grep -Eq "^[[:space:]]*shared_preload_libraries[[:space:]]*=.*timescaledb" "$PG_CONF"; }

restart_cluster() {
  log "restarting PostgreSQL $PG_MAJOR/$PG_CLUSTER"
  pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" "$PG_CLUSTER" restart
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && return 0
    sleep 1
  done
  log "PostgreSQL did not come back"; return 1
}

if installed && preloaded; then
  # Make sure the running server has actually loaded it (config may have changed without restart).
  if psql -h 127.0.0.1 -U postgres -Atc "show shared_preload_libraries" 2>/dev/null | grep -q timescaledb; then
    log "already installed and loaded"; exit 0
  fi
  restart_cluster; exit 0
fi

if ! installed; then
  export DEBIAN_FRONTEND=noninteractive
  uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n 1 || true)
  if [ -z "$uri" ]; then
    uri=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n 1 || true)
  fi
  [ -n "$uri" ] || { log "cannot find the machine's apt mirror URI"; exit 1; }
  src_list=/etc/apt/sources.list.d/pulse-trixie-src.list
  trap 'rm -f "$src_list"' EXIT
  echo "deb-src $uri trixie main" > "$src_list"
  log "apt-get update (with a temporary trixie deb-src)"
  apt-get update -qq
  log "installing build dependencies"
  apt-get install -y -qq --no-install-recommends \
    "postgresql-server-dev-$PG_MAJOR" cmake make gcc libssl-dev libkrb5-dev dpkg-dev >/dev/null
  work=$(mktemp -d /tmp/timescaledb-build.XXXXXX)
  cd "$work"
  log "fetching the timescaledb source package"
  apt-get source -qq --download-only timescaledb >/dev/null
  dpkg-source -x --no-check ./*.dsc src >/dev/null
  cd src
  log "building (Apache-only) against PostgreSQL $PG_MAJOR"
  PATH="/usr/lib/postgresql/$PG_MAJOR/bin:$PATH" ./bootstrap -DAPACHE_ONLY=ON -DREGRESS_CHECKS=OFF \
    -DTAP_CHECKS=OFF -DWARNINGS_AS_ERRORS=OFF -DPG_CONFIG="$PG_CONFIG" >/dev/null
  make -C build -j"$(nproc)" >/dev/null
  make -C build install >/dev/null
  cd / && rm -rf "$work"
  rm -f "$src_list"; apt-get update -qq || true
fi

if ! preloaded; then
  log "adding timescaledb to shared_preload_libraries"
  current=$(grep -E "^[[:space:]]*shared_preload_libraries" "$PG_CONF" | tail -n 1 | sed -E "s/.*=[[:space:]]*'?([^'#]*)'?.*/\1/" || true)
  if [ -n "$current" ]; then new="$current,timescaledb"; else new="timescaledb"; fi
  printf "\n# added by pulse-bridge scripts/install-timescaledb.sh\nshared_preload_libraries = '%s'\ntimescaledb.telemetry_level = off\n" "$new" >> "$PG_CONF"
fi
restart_cluster
log "done: $(psql -h 127.0.0.1 -U postgres -Atc "select default_version from pg_available_extensions where name='timescaledb'")"
