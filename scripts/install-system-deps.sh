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
