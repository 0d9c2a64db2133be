# Shared helpers for scripts/run, scripts/test and scripts/bench. Source, don't run.

APT_UPDATED=""

# Install Debian packages when root; otherwise print the exact command and stop.
apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing packages. Please run:  sudo apt-get install -y $*" >&2
    exit 1
  fi
  if [ -z "$APT_UPDATED" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
  echo "Installing: $*" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

have_pg_server() {
  local d
  d=$(pg_config --bindir 2>/dev/null || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && return 0
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}

# PostgreSQL server binaries (initdb, pg_ctl) for the private cluster. Not needed with DATABASE_URL.
need_postgres_server() {
  if [ -n "${DATABASE_URL:-}" ] || have_pg_server; then return 0; fi
  apt_install postgresql postgresql-contrib
}

# Chromium, chromedriver and a CJK font (so screenshots show Chinese text) for browser tests.
need_browser() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || [ -x /usr/lib/chromium/chromedriver ] || missing+=(chromium-driver)
  fc-list 2>/dev/null | grep -qi "cjk\|wqy\|droid sans fallback" || missing+=(fonts-noto-cjk)
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
}

need_cargo() {
  if command -v cargo >/dev/null 2>&1; then return 0; fi
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
  command -v cargo >/dev/null 2>&1 || {
    echo "Rust is missing: install it from https://rustup.rs (cargo 1.85 or newer)." >&2
    exit 1
  }
}
