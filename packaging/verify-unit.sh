#!/bin/sh
# Static checks of a systemd unit: `systemd-analyze verify` must print nothing, and the
# sandbox's exposure (`systemd-analyze security --offline`) must be at most 1.5 of 10.
#   packaging/verify-unit.sh [UNIT]   (default etc/recodex-monitor.service)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
unit=${1:-$root/etc/recodex-monitor.service}
if ! command -v systemd-analyze >/dev/null; then
  echo "verify-unit: systemd-analyze is not installed; nothing checked" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# verify insists that ExecStart exists: point it at the wrapper that the packages install.
sed "s|/usr/bin/recodex-monitor|$root/packaging/recodex-monitor|" "$unit" \
  >"$tmp/recodex-monitor.service"
warnings=$(systemd-analyze verify "$tmp/recodex-monitor.service" 2>&1) || {
  echo "$warnings" >&2
  exit 1
}
if [ -n "$warnings" ]; then
  echo "$warnings" >&2
  exit 1
fi
echo "systemd-analyze verify: no complaints"
# The threshold is in tenths: 15 is an exposure of 1.5.
status=0
report=$(systemd-analyze security --offline=yes --threshold=15 "$tmp/recodex-monitor.service") ||
  status=$?
echo "$report" | tail -n 1
if [ "$status" -ne 0 ]; then
  echo "verify-unit: exposure above 1.5; the failed checks:" >&2
  echo "$report" | grep '✗' >&2
fi
exit "$status"
