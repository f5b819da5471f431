#!/usr/bin/env bash
# Build pyha's source RPM and noarch binary RPM for EL6 and for EL7 from one spec
# (packaging/rpm/pyha.spec), on an EL host or on Debian with rpm 4.18.
#
#   packaging/rpm/build.sh                 prepare (if needed), then build EL6 and EL7
#   packaging/rpm/build.sh --prepare       only download the bundled wheels
#   packaging/rpm/build.sh --el 7          one release only
#   packaging/rpm/build.sh --offline       never download (fail if a wheel is missing)
#   packaging/rpm/build.sh --outdir DIR    where the RPMs go (default: dist/rpm)
#   packaging/rpm/build.sh -D 'pyha_scl rh-python38'   extra rpmbuild --define (repeatable;
#                                          EL6 interpreter choices: packaging/README.md)
#
# Two steps, and only the first may use the network:
#  1. prepare: the pinned wheels (packaging/vendor/requirements.txt) are downloaded from
#     PyPI into packaging/vendor/ if missing, with pip (PYHA_PIP, else the first
#     `python -m pip` found), and always checked against packaging/vendor/SHA256SUMS.
#  2. build (offline): Source0 is a tarball of the working tree (tracked and untracked
#     files that git does not ignore, so uncommitted changes are packaged too), the wheels
#     are Source10.., and rpmbuild runs in a scratch _topdir once per EL release.
# Prints the paths of the RPMs built, one per line, on stdout; progress goes to stderr.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
spec=$top/packaging/rpm/pyha.spec
vendor=$top/packaging/vendor
outdir=$top/dist/rpm
els="6 7"
mode=build
offline=${PYHA_RPM_OFFLINE:-0}
defines=()

while [ $# -gt 0 ]; do
    case "$1" in
        --prepare) mode=prepare ;;
        --offline) offline=1 ;;
        --el) els=$2; shift ;;
        --el=*) els=${1#--el=} ;;
        --outdir) outdir=$2; shift ;;
        --outdir=*) outdir=${1#--outdir=} ;;
        -D|--define) defines+=(--define "$2"); shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ "$els" = all ] && els="6 7"

log() { echo "build.sh: $*" >&2; }
die() { echo "build.sh: ERROR: $*" >&2; exit 1; }

# The wheel file names, as the spec lists them (Source10.. basenames).
wheels() {
    sed -n 's/^Source1[0-9]*:[[:space:]]*//p' "$spec" | sed 's|.*/||'
}

find_pip() {
    local py
    if [ -n "${PYHA_PIP:-}" ]; then echo "$PYHA_PIP"; return 0; fi
    for py in python3 /var/tmp/pyha-venvs/py3/bin/python /opt/pyha-venv311/bin/python; do
        if command -v "$py" >/dev/null 2>&1 && "$py" -m pip --version >/dev/null 2>&1; then
            echo "$py -m pip"; return 0
        fi
    done
    return 1
}

prepare() {
    local missing="" w pip
    for w in $(wheels); do
        [ -f "$vendor/$w" ] || missing="$missing $w"
    done
    if [ -n "$missing" ]; then
        [ "$offline" = 1 ] && die "offline and missing wheels:$missing (run build.sh --prepare with network access)"
        pip=$(find_pip) || die "no pip found to download$missing (set PYHA_PIP)"
        log "downloading$missing"
        # For the target (CPython 3.6, pure Python), not for the interpreter running pip.
        $pip download --quiet --disable-pip-version-check --retries 2 --timeout 30 \
            --no-deps --only-binary=:all: \
            --python-version 3.6 --implementation py --abi none --platform any \
            -r "$vendor/requirements.txt" -d "$vendor" >&2
    fi
    for w in $(wheels); do
        [ -f "$vendor/$w" ] || die "$w: not downloaded (spec and requirements.txt disagree?)"
    done
    (cd "$vendor" && sha256sum --quiet -c SHA256SUMS >&2) || die "wheels do not match packaging/vendor/SHA256SUMS"
}

source_tarball() {
    # $1: version, $2: destination directory
    local name=pyha-$1 dest=$2/pyha-$1.tar.gz
    if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        (cd "$top" && git ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done |
            tar --null -T - --sort=name --owner=0 --group=0 --numeric-owner \
                --mtime="@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}" \
                --transform "s|^|$name/|" -czf "$dest")
    else
        (cd "$top" && tar --exclude-vcs --exclude=./dist --exclude=./build --exclude='*.egg-info' \
            --exclude=__pycache__ --exclude='*.pyc' --exclude='./packaging/vendor/*.whl' \
            --exclude=./.pytest_cache --exclude=./.hypothesis \
            --sort=name --owner=0 --group=0 --numeric-owner \
            --transform "s|^\./|$name/|" -czf "$dest" .)
    fi
    echo "$dest"
}

prepare
[ "$mode" = prepare ] && { log "wheels ready in $vendor"; exit 0; }

command -v rpmbuild >/dev/null 2>&1 || die "rpmbuild is not installed (Debian: apt-get install rpm)"
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$top/pyha/__init__.py")
spec_version=$(sed -n 's/^Version:[[:space:]]*//p' "$spec")
[ "$version" = "$spec_version" ] || die "pyha/__init__.py says $version, pyha.spec says $spec_version"

work=$(mktemp -d "${TMPDIR:-/tmp}/pyha-rpm.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/sources" "$outdir"
tarball=$(source_tarball "$version" "$work/sources")
for w in $(wheels); do cp -p "$vendor/$w" "$work/sources/"; done

for el in $els; do
    case "$el" in 6|7) ;; *) die "--el must be 6, 7 or all (got $el)" ;; esac
    t=$work/el$el
    mkdir -p "$t"/{BUILD,BUILDROOT,RPMS,SOURCES,SPECS,SRPMS}
    cp -p "$work"/sources/* "$t/SOURCES/"
    cp -p "$spec" "$t/SPECS/"
    log "rpmbuild for EL$el"
    # No network is needed from here on; nothing in the spec downloads.
    if ! rpmbuild -ba --quiet \
            --define "_topdir $t" \
            --define "rhel $el" --define "dist .el$el" ${defines[@]+"${defines[@]}"} \
            "$t/SPECS/pyha.spec" >"$t/rpmbuild.log" 2>&1; then
        cat "$t/rpmbuild.log" >&2
        die "rpmbuild failed for EL$el"
    fi
    for f in "$t"/SRPMS/*.src.rpm "$t"/RPMS/noarch/*.rpm; do
        cp -p "$f" "$outdir/"
        echo "$outdir/$(basename "$f")"
    done
done
log "done (source tarball was $(basename "$tarball"))"
