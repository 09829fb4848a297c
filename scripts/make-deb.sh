#!/usr/bin/env bash
# make deb: evaluatord_<version>_<arch>.deb with Debian's own tools (dpkg-shlibdeps for the
# dependencies, dpkg-deb to build). The binaries link the Swift runtime statically
# (--static-swift-stdlib), so the package runs on a Debian box without Swift and depends only
# on Debian's libraries. Built in .build-deb (a scratch folder of its own: the flag changes
# every object, and the ordinary debug and release builds stay incremental).
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
scratch=.build-deb
version=$(sed -n 's/.*static let version = "\(.*\)"/\1/p' Sources/EvaluatorCore/BuildInfo.swift)
arch=$(dpkg --print-architecture)
bash scripts/stamp-commit.sh
$SWIFT build -c release --static-swift-stdlib --scratch-path "$scratch" --product evaluatord
$SWIFT build -c release --static-swift-stdlib --scratch-path "$scratch" --product evaluatorctl
bin="$scratch/release"
for b in evaluatord evaluatorctl; do
    if ldd "$bin/$b" | grep -q swift; then echo "make-deb: $b still links a Swift library dynamically:" >&2; ldd "$bin/$b" >&2; exit 1; fi
done
stage="$scratch/pkg"
rm -rf "$stage" && mkdir -p "$stage/DEBIAN"
make --no-print-directory install BUILD_DIR="$bin" DESTDIR="$PWD/$stage" PREFIX=/usr SYSCONFDIR=/etc \
    UNITDIR=/usr/lib/systemd/system SYSUSERSDIR=/usr/lib/sysusers.d
strip --strip-unneeded "$stage/usr/bin/evaluatord" "$stage/usr/bin/evaluatorctl"
# dpkg-shlibdeps reads debian/control from the folder it runs in.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debian"
printf 'Source: evaluatord\n\nPackage: evaluatord\nArchitecture: any\n' > "$work/debian/control"
depends=$(cd "$work" && dpkg-shlibdeps -O "$OLDPWD/$stage/usr/bin/evaluatord" "$OLDPWD/$stage/usr/bin/evaluatorctl" | sed -n 's/^shlibs:Depends=//p')
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@DEPENDS@/$depends/" -e "s/@SIZE@/$size/" \
    Packaging/debian/control.in > "$stage/DEBIAN/control"
install -m 755 Packaging/debian/postinst Packaging/debian/prerm Packaging/debian/postrm "$stage/DEBIAN/"
# Every file under /etc is a conffile: an operator's changes survive upgrades.
(cd "$stage" && find etc -type f | sed 's|^|/|') > "$stage/DEBIAN/conffiles"
mkdir -p dist
out="dist/evaluatord_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" >/dev/null
echo "$out"
