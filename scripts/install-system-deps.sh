#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only those that are missing.
# Runs apt-get as root (CI, containers) or through sudo when available.
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || need+=(chromium)
ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1 || need+=(fonts-noto-cjk)
command -v node >/dev/null || need+=(nodejs npm)
# PostgreSQL for the database contract tests (tests start a throwaway cluster; no service is used).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
# nginx, only for `nginx -t` on deploy/nginx.conf (tests/test_compose.py); it is never started.
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
# Janus (VideoRoom) for the Janus media backend's tests and bench: the tests start their own
# Janus inside a network namespace (tests/media/janus_netns.py); the packaged service is not used.
command -v janus >/dev/null || [ -x /usr/bin/janus ] || need+=(janus)
command -v ip >/dev/null || need+=(iproute2)  # ip netns / veth for that namespace
# coturn for the TURN tests (relay-only media path); the tests start their own turnserver.
command -v turnserver >/dev/null || [ -x /usr/bin/turnserver ] || need+=(coturn)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${need[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "missing packages ${need[*]} and not root: install them with apt-get" >&2; exit 1; fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts nginx on install where services may start: the tests only need the binary.
if [[ " ${need[*]} " == *" nginx "* ]] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
fi
if [[ " ${need[*]} " == *" coturn "* ]] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now coturn >/dev/null 2>&1 || true
fi
# Same for Janus: a packaged Janus listening on 8088/7088 with the demo config is not wanted.
if [[ " ${need[*]} " == *" janus "* ]]; then
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now janus >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/janus ]; then
    $SUDO /etc/init.d/janus stop >/dev/null 2>&1 || true
    $SUDO update-rc.d janus disable >/dev/null 2>&1 || true
  fi
fi
