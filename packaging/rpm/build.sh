#!/bin/sh
# Builds the .rpm from a staged tree with rpmbuild (Debian's `rpm` package has it too).
#   packaging/rpm/build.sh OUTDIR   (prints the path of the package)
set -eu

out=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
version=$(node -p "require('$root/package.json').version")
work="$root/dist/packaging/rpm"
tree="$work/root"

"$root/packaging/stage.sh" rpm "$tree"
rm -rf "$work/rpmbuild"
# zstd payload as Fedora and RHEL 8+ use; dist tag empty unless the builder's rpm sets one.
rpmbuild -bb --quiet \
  --define "_topdir $work/rpmbuild" \
  --define "stage_dir $tree" \
  --define "pkg_version $version" \
  --define "pkg_release ${RELEASE:-1}" \
  --define "_binary_payload w19.zstdio" \
  "$here/recodex-monitor.spec" >/dev/null

mkdir -p "$out"
for package in "$work"/rpmbuild/RPMS/*/*.rpm; do
  mv "$package" "$out/"
  echo "$out/$(basename "$package")"
done
