# Sourced by scripts/serve and scripts/test: make this machine able to run omnidrop, idempotently.
# Installs Debian packages and a pinned virtualenv only when something is missing or the pins changed.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# apt-get that waits while another apt/dpkg process (unattended upgrades on a fresh machine, another
# installer) holds the dpkg or lists lock: apt's own DPkg::Lock::Timeout, and a retry loop around it for
# the locks and apt versions that option does not cover. Other failures fail at once.
apt_get() {
  local timeout="${OMNIDROP_APT_LOCK_TIMEOUT:-600}" pause="${OMNIDROP_APT_RETRY_SECONDS:-5}"
  local start=$SECONDS err rc
  err="$(mktemp)"
  while true; do
    rc=0
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$timeout" "$@" 2>"$err" || rc=$?
    if [ "$rc" = 0 ]; then rm -f "$err"; return 0; fi
    if grep -qE "Could not get lock|Unable to acquire the dpkg|Unable to lock" "$err" \
        && (( SECONDS - start < timeout )); then
      echo "setup: another apt/dpkg process holds the lock; waiting (up to ${timeout}s in all)" >&2
      sleep "$pause"
      continue
    fi
    cat "$err" >&2
    rm -f "$err"
    return "$rc"
  done
}

apt_updated=""
ensure_debian_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  echo "setup: installing Debian packages: ${missing[*]}"
  if [ -z "$apt_updated" ]; then apt_get update -qq; apt_updated=1; fi
  apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_python() {
  ensure_debian_packages python3 python3-venv python3-dev gcc libarchive13 unar ffmpeg curl jq ca-certificates
  local py=python3
  command -v python3.11 >/dev/null && py=python3.11
  [ -x "$VENV/bin/python" ] || "$py" -m venv "$VENV"
  # Reinstall only when the pins or the package metadata change.
  local stamp="$VENV/.omnidrop-deps" want
  want="$(cat "$ROOT/constraints.txt" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing Python packages (pinned in constraints.txt)"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -c "$ROOT/constraints.txt" -e "$ROOT[test]"
    echo "$want" > "$stamp"
  fi
}

ensure_node_packages() {
  # Real JavaScript clients for the tests, each folder pinned by its package-lock.json: tus clients
  # (tests/js) and Uppy 5 / Uppy 6 with @uppy/aws-s3 (tests/js/uppy5, tests/js/uppy6: their @uppy/core
  # peers clash, so one folder each).
  command -v node >/dev/null && command -v npm >/dev/null || ensure_debian_packages nodejs npm
  local dir stamp want
  for dir in "$ROOT/tests/js" "$ROOT/tests/js/uppy5" "$ROOT/tests/js/uppy6"; do
    stamp="$dir/node_modules/.omnidrop-lock"
    want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
      echo "setup: installing test JavaScript packages (npm ci in ${dir#"$ROOT"/})"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
      echo "$want" > "$stamp"
    fi
  done
}

ensure_model_tools() {
  # What the project job runs for splats and meshes: Assimp's CLI (FBX, COLLADA, 3DS to GLB; Debian's
  # assimp-utils) and PlayCanvas splat-transform (Gaussian splats to SOG and SPZ) in tools/splat-transform,
  # pinned by its package-lock.json. The server finds it there (or on PATH, or at OMNIDROP_SPLAT_TRANSFORM).
  ensure_debian_packages assimp-utils
  command -v node >/dev/null && command -v npm >/dev/null || ensure_debian_packages nodejs npm
  local dir="$ROOT/tools/splat-transform" stamp want
  stamp="$dir/node_modules/.omnidrop-lock"
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
  echo "setup: installing splat-transform (npm ci in tools/splat-transform)"
  # --omit=peer: its CLI bundles what it uses of the PlayCanvas engine (a 100 MB peer dependency).
  (cd "$dir" && npm ci --omit=peer --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
}

ensure_postgres() {
  pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && return 0
  ensure_debian_packages postgresql
  local version
  version="$(ls /etc/postgresql | sort -V | tail -n1)"
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  # The tests connect as postgres over TCP without a password, as on CI machines.
  if ! grep -q "omnidrop-tests" "$hba"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust # omnidrop-tests\nhost all all ::1/128 trust # omnidrop-tests' "$hba"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && return 0; sleep 1; done
  echo "setup: PostgreSQL did not start" >&2
  return 1
}

ensure_redis() {
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0
  ensure_debian_packages redis-server redis-tools
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/omnidrop-tests.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0; sleep 1; done
  echo "setup: Redis did not start" >&2
  return 1
}

ensure_web_assets() {
  # The web app (web/, pinned by its package-lock.json), built into src/omnidrop/web/dist and served under
  # /app. Rebuilt only when the lock file or a source file changes (stamp = hash of both).
  command -v node >/dev/null && command -v npm >/dev/null || ensure_debian_packages nodejs npm
  local dir="$ROOT/web" stamp="$ROOT/src/omnidrop/web/dist/.omnidrop-build" want
  want="$(cd "$dir" && find package.json package-lock.json index.html docs.html vite.config.js tsconfig.json src -type f \
          -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
  echo "setup: building the web app (npm ci + vite build in web/)"
  if [ "$(cat "$dir/node_modules/.omnidrop-lock" 2>/dev/null)" != "$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    sha256sum "$dir/package-lock.json" | cut -d' ' -f1 > "$dir/node_modules/.omnidrop-lock"
  fi
  (cd "$dir" && npm run --silent build -- --logLevel warn)
  echo "$want" > "$stamp"
}

ensure_codegen_tool() {
  # openapi-python-client for the generated-client test, in a virtualenv of its own: it pins typer below
  # the version omnidrop's CLI uses. Pinned by tests/openapi/codegen-requirements.txt.
  local venv="$ROOT/.venv-codegen" pins="$ROOT/tests/openapi/codegen-requirements.txt"
  local stamp="$ROOT/.venv-codegen/.omnidrop-deps" want
  want="$(sha256sum "$pins" | cut -d' ' -f1)"
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
  echo "setup: installing openapi-python-client into .venv-codegen"
  [ -x "$venv/bin/python" ] || "$VENV/bin/python" -m venv "$venv"
  "$venv/bin/pip" install -q -r "$pins"
  echo "$want" > "$stamp"
}

ensure_browser() {
  # Debian's chromium, driven headless by playwright-core in the web app's tests (no browser download).
  ensure_debian_packages chromium
}
