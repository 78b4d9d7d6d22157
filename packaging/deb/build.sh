#!/bin/sh
# Builds the .deb from a staged tree with dpkg-deb alone (no debhelper: nothing to compile,
# and dh_shlibdeps would trip over the prebuilt binaries for other libcs).
#   packaging/deb/build.sh OUTDIR   (prints the path of the package)
set -eu

out=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
version="$(node -p "require('$root/package.json').version")-${RELEASE:-1}"
arch=$(dpkg --print-architecture)
tree="$root/dist/packaging/deb/root"

"$root/packaging/stage.sh" deb "$tree"
mkdir -p "$tree/DEBIAN"
install -m 0644 "$here/conffiles" "$tree/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 0755 "$here/$script" "$tree/DEBIAN/$script"
done
size=$(du -sk --exclude=DEBIAN "$tree" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@INSTALLED_SIZE@|$size|" \
  -e "s|@MAINTAINER@|${MAINTAINER:-ReCodEx Team <recodex-monitor@invalid>}|" \
  "$here/control.in" >"$tree/DEBIAN/control"

mkdir -p "$out"
package="$out/recodex-monitor_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$tree" "$package" >/dev/null
echo "$package"
