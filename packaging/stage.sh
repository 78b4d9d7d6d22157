#!/bin/sh
# Lays out the installed files of a package under DESTDIR, as both packages install them:
#   packaging/stage.sh deb|rpm DESTDIR
# Needs `make build` first. Production dependencies come from package-lock.json (npm ci).
set -eu

flavour=$1
dest=$2
root=$(cd "$(dirname "$0")/.." && pwd)
case "$flavour" in
  deb)
    unitdir=/lib/systemd/system
    docdir=/usr/share/doc/recodex-monitor
    ;;
  rpm)
    unitdir=/usr/lib/systemd/system
    docdir=/usr/share/doc/recodex-monitor
    ;;
  *)
    echo "usage: $0 deb|rpm DESTDIR" >&2
    exit 2
    ;;
esac
if [ ! -f "$root/dist/src/cli.js" ]; then
  echo "$0: dist/src/cli.js is missing; run make build first" >&2
  exit 1
fi

# Packages are built with the host's Node.js for the host's architecture.
node_platform=$(node -p 'process.platform')
node_arch=$(node -p 'process.arch')

umask 022
rm -rf "$dest"
lib="$dest/usr/lib/recodex-monitor"
mkdir -p "$lib/dist/src" "$dest/usr/bin" "$dest/etc/recodex/monitor" "$dest$unitdir" "$dest$docdir"

# Compiled code without source maps: they point at TypeScript sources that are not installed.
cp -R "$root/dist/src/." "$lib/dist/src/"
find "$lib/dist/src" -name '*.map' -delete
chmod 0755 "$lib/dist/src/cli.js"
cp "$root/package.json" "$root/package-lock.json" "$lib/"
# Install scripts are skipped: every native module we use ships prebuilt binaries.
(cd "$lib" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
rm "$lib/package-lock.json"

# Native binaries for other systems and architectures are dead weight in an arch package.
uws="$lib/node_modules/uWebSockets.js"
find "$uws/binaries" -name '*.node' ! -name "uws_${node_platform}_${node_arch}_*.node" -delete
# Copies of the same binaries for the package's own loader, which src/uws.ts bypasses.
find "$uws/dist" -name '*.node' -delete
zmq_build="$lib/node_modules/zeromq/build"
find "$zmq_build" -mindepth 1 -maxdepth 1 -type d ! -name "$node_platform" -exec rm -rf {} +
find "$zmq_build/$node_platform" -mindepth 1 -maxdepth 1 -type d ! -name "$node_arch" \
  -exec rm -rf {} +

install -m 0755 "$root/packaging/recodex-monitor" "$dest/usr/bin/recodex-monitor"
install -m 0644 "$root/etc/config.yml" "$dest/etc/recodex/monitor/config.yml"
install -m 0644 "$root/etc/recodex-monitor.service" "$dest$unitdir/recodex-monitor.service"
if [ -f "$root/README.md" ]; then
  install -m 0644 "$root/README.md" "$dest$docdir/README.md"
fi
if [ "$flavour" = deb ]; then
  install -m 0644 "$root/packaging/deb/copyright" "$dest$docdir/copyright"
else
  install -D -m 0644 "$root/LICENSE" "$dest/usr/share/licenses/recodex-monitor/LICENSE"
fi

# Whatever the builder's umask or npm's tarballs said: readable by all, writable by root only.
chmod -R u+rwX,go+rX,go-w "$dest"
