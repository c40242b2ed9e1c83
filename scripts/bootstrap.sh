#!/usr/bin/env bash
# Idempotent setup: missing Debian packages (as root), then .venv with our packages + dev tools.
# A second run checks dpkg and a stamp and returns in well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  mosquitto mosquitto-clients victoria-metrics postgresql chromium fonts-noto-cjk
  nftables iproute2 rsync openssh-server python3-venv wrk
  rauc casync ffmpeg prometheus-alertmanager dbus squashfs-tools
)
DEV_TOOLS=(ruff mypy pytest pytest-timeout playwright types-psutil httpx2 pyyaml hypothesis import-linter)
VENV=.venv
STAMP="$VENV/.bootstrap-stamp"
# Apache ECharts (Apache-2.0) from the npm registry, pinned by version and tarball sha256; the controller
# serves it at /console/charts/ (controller/station_controller/charts/, docs/monitoring.md "Charts").
ECHARTS_VERSION=5.6.0
ECHARTS_SHA256=e1b82487dd7f8d9f0438eec1f1433051148e0095ac7a15d4db890afda45cf610
ECHARTS_DIR=controller/station_controller/charts/vendor

missing_packages() {
  local pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

install_packages() {
  local missing
  mapfile -t missing < <(missing_packages)
  ((${#missing[@]} == 0)) && return 0
  if [[ $EUID -ne 0 ]]; then
    echo "bootstrap: missing Debian packages: ${missing[*]}; run 'make setup' as root" >&2
    exit 1
  fi
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
  # Our stack runs its own broker/TSDB/database on its own ports; a system-wide instance the
  # packages may have started (where systemd runs) is not used and would only hold the ports.
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    systemctl disable --now mosquitto victoria-metrics 2>/dev/null || true
  fi
}

venv_fingerprint() {
  # Reinstall when a dependency list or the tool list changes.
  cat protocol/pyproject.toml agent/pyproject.toml controller/pyproject.toml stationctl/pyproject.toml \
    simulator/pyproject.toml scripts/bootstrap.sh | sha256sum
}

install_venv() {
  local want
  want="$(venv_fingerprint)"
  if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
    return 0
  fi
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  # Playwright drives Debian's /usr/bin/chromium; never download browsers.
  export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
  # stationctl was a station-controller script; pip would delete the new package's script while
  # uninstalling that old controller, so an old venv drops it first.
  if grep -qs "station_controller.stationctl" "$VENV/bin/stationctl"; then
    "$VENV/bin/python" -m pip uninstall --quiet --yes station-controller
  fi
  # Likewise station-sim, which moved from station-controller to station-simulator.
  if grep -qs "station_controller.simulator" "$VENV"/lib/python3*/site-packages/station_controller-*.dist-info/entry_points.txt; then
    "$VENV/bin/python" -m pip uninstall --quiet --yes station-controller
  fi
  "$VENV/bin/python" -m pip install --quiet -e protocol -e agent -e stationctl -e simulator -e controller \
    "${DEV_TOOLS[@]}"
  echo "$want" >"$STAMP"
  echo "bootstrap: $VENV ready"
}

install_echarts() {
  [[ -f "$ECHARTS_DIR/echarts.min.js" && "$(cat "$ECHARTS_DIR/VERSION" 2>/dev/null)" == "$ECHARTS_VERSION" ]] && return 0
  # npm comes with the machine's Node.js (nodesource's nodejs bundles it and conflicts with Debian's
  # npm package); only where there is no npm at all do we install Debian's.
  if ! command -v npm >/dev/null; then
    [[ $EUID -eq 0 ]] || { echo "bootstrap: npm missing; run 'make setup' as root" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm
  fi
  local tmp
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "echarts@$ECHARTS_VERSION" >/dev/null)
  echo "$ECHARTS_SHA256  $tmp/echarts-$ECHARTS_VERSION.tgz" | sha256sum --check --quiet
  tar -xzf "$tmp/echarts-$ECHARTS_VERSION.tgz" -C "$tmp" package/dist/echarts.min.js package/LICENSE package/NOTICE
  install -m 0644 "$tmp/package/dist/echarts.min.js" "$tmp/package/LICENSE" "$tmp/package/NOTICE" "$ECHARTS_DIR/"
  echo "$ECHARTS_VERSION" >"$ECHARTS_DIR/VERSION"
  rm -rf "$tmp"
  echo "bootstrap: ECharts $ECHARTS_VERSION in $ECHARTS_DIR"
}

install_packages
install_venv
install_echarts
