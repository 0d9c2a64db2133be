# Shared helpers for scripts/run, scripts/test and scripts/bench. Source, don't run.

APT_UPDATED=""

# Refresh the package lists once per script run (root only): a fresh container has none, and
# `apt-cache show` knows nothing until then.
apt_update_once() {
  if [ -z "$APT_UPDATED" ] && [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
}

# Install Debian packages when root; otherwise print the exact command and stop.
apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing packages. Please run:  sudo apt-get install -y $*" >&2
    exit 1
  fi
  apt_update_once
  echo "Installing: $*" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Whether apt knows a package (after refreshing the lists when we may).
apt_has() {
  apt_update_once
  apt-cache show "$1" >/dev/null 2>&1
}

have_pg_server() {
  local d
  d=$(pg_config --bindir 2>/dev/null || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && return 0
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}

# Whether the variable (default DATABASE_URL) names a database: set in the environment, or, for
# DATABASE_URL, in .env (the app reads .env too). Empty values do not count.
have_database_url() {
  local var=${1:-DATABASE_URL}
  [ -n "${!var:-}" ] && return 0
  [ "$var" = DATABASE_URL ] && [ -f .env ] &&
    grep -Eq "^[[:space:]]*(export[[:space:]]+)?DATABASE_URL=[\"']?[^\"'[:space:]#]" .env
}

# PostgreSQL server binaries (initdb, pg_ctl) for the private cluster; not needed when the
# variable (default DATABASE_URL; scripts/test passes TEST_DATABASE_URL) names a database.
need_postgres_server() {
  if have_database_url "${1:-DATABASE_URL}" || have_pg_server; then return 0; fi
  apt_install postgresql postgresql-contrib
}

# A C compiler and linker: cargo needs `cc` to link, and some crates build C code.
need_cc() {
  command -v cc >/dev/null 2>&1 || apt_install build-essential
}

# Chromium, chromedriver and a CJK font (so screenshots show Chinese text) for browser tests.
# Debian calls them chromium / chromium-driver; Ubuntu has chromium-browser /
# chromium-chromedriver instead.
need_browser() {
  local missing=() browser=chromium driver=chromium-driver
  if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    missing+=(browser)
  fi
  if ! command -v chromedriver >/dev/null 2>&1 && [ ! -x /usr/lib/chromium/chromedriver ] &&
    [ ! -x /usr/lib/chromium-browser/chromedriver ]; then
    missing+=(driver)
  fi
  if [ ${#missing[@]} -gt 0 ] && ! apt_has chromium; then
    browser=chromium-browser
    driver=chromium-chromedriver
  fi
  local packages=()
  for m in "${missing[@]}"; do
    if [ "$m" = browser ]; then packages+=("$browser"); else packages+=("$driver"); fi
  done
  fc-list 2>/dev/null | grep -qi "cjk\|wqy\|droid sans fallback" || packages+=(fonts-noto-cjk)
  if [ ${#packages[@]} -gt 0 ]; then apt_install "${packages[@]}"; fi
}

# LibreOffice Calc, headless: a test opens an exported .xlsx with it (`soffice --convert-to csv`)
# to prove real spreadsheet software reads the file. Debian's libreoffice-calc-nogui is the
# smallest package with it; older releases only have libreoffice-calc.
need_soffice() {
  if command -v soffice >/dev/null 2>&1 || command -v libreoffice >/dev/null 2>&1; then return 0; fi
  if apt_has libreoffice-calc-nogui; then
    apt_install libreoffice-calc-nogui
  else
    apt_install libreoffice-calc
  fi
}

# The mail tests' SMTP server: Python 3 with aiosmtpd (from PyPI with pip; Debian's
# python3-aiosmtpd when pip cannot), and openssl for their throwaway certificates. The tests run
# `python3` (or CRM_TEST_PYTHON).
need_smtp_server() {
  command -v openssl >/dev/null 2>&1 || apt_install openssl
  command -v python3 >/dev/null 2>&1 || apt_install python3 python3-pip
  if python3 -c 'import aiosmtpd' >/dev/null 2>&1; then return 0; fi
  echo "Installing: aiosmtpd (pip)" >&2
  python3 -m pip install --quiet --disable-pip-version-check aiosmtpd >/dev/null 2>&1 ||
    python3 -m pip install --quiet --break-system-packages aiosmtpd >/dev/null 2>&1 ||
    apt_install python3-aiosmtpd
  python3 -c 'import aiosmtpd' >/dev/null 2>&1 || {
    echo "python3 cannot import aiosmtpd: install it (pip install aiosmtpd)." >&2
    exit 1
  }
}

need_cargo() {
  if command -v cargo >/dev/null 2>&1; then return 0; fi
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
  command -v cargo >/dev/null 2>&1 || {
    echo "Rust is missing: install it from https://rustup.rs (cargo 1.85 or newer)." >&2
    exit 1
  }
}
