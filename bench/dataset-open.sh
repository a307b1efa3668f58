#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What opening a dataset costs at start-up: zn_dataset_open validates and indexes everything
# (every tar header, every Megatron sequence), against what users run today on the same files:
#   tar:      GNU tar -tf over every shard (a C walk of the headers, seeking past data), and
#             Python's tarfile getmembers() over every shard (timed inside the interpreter);
#   megatron: Megatron-LM's _IndexReader (numpy memmap + frombuffer of the three arrays) plus the
#             same checks zenith makes, vectorized with numpy (timed inside the interpreter).
# Warm page cache, then cold (the files dropped with POSIX_FADV_DONTNEED before every round) for
# tar. Needs a built tree (make bench/dataset-open) and /usr/bin/python3 with numpy.
#   bench/dataset-open.sh [SHARDS] [SAMPLES_PER_SHARD] [SEQUENCES] [ROUNDS]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
prog=${ZENITH_BUILDDIR:-$top/build}/bench/dataset-open
shards=${1:-32}
per_shard=${2:-1000}
sequences=${3:-4000000}
rounds=${4:-5}
py=/usr/bin/python3

if [ ! -x "$prog" ]; then
    echo "zenith: $prog is not built (make bench/dataset-open in the build directory)" >&2
    exit 1
fi
work=$(mktemp -d /var/tmp/zenith-dataset-open.XXXXXX)
trap 'rm -rf "$work"' EXIT
last=$((shards - 1))
pattern="$work/train-{0000..$(printf %04d "$last")}.tar"

# Shards as WebDataset writes them: per sample a JPEG-sized blob (1-24 KiB), a label, a JSON.
"$py" - "$work" "$shards" "$per_shard" <<'EOF'
import io, os, random, sys, tarfile
work, shards, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(1)
blob = os.urandom(24 * 1024)
for s in range(shards):
    with tarfile.open(f"{work}/train-{s:04d}.tar", "w", format=tarfile.GNU_FORMAT) as t:
        for k in range(per):
            key = f"{s:04d}{k:06d}"
            for ext, data in (("jpg", blob[: rng.randint(1024, 24 * 1024)]),
                              ("cls", str(rng.randint(0, 999)).encode()),
                              ("json", b'{"caption": "%d"}' % k)):
                info = tarfile.TarInfo(f"{key}.{ext}")
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
EOF

# A Megatron dataset: SEQUENCES sequences of 1-2048 uint16 tokens, documents of 1-8 sequences,
# the .bin sparse (opening reads only its size). "scattered": the same sequences laid out in .bin
# in a random order, which makes zenith build its token prefix sum.
"$py" - "$work" "$sequences" <<'EOF'
import sys, numpy as np
work, S = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(1)
lengths = rng.integers(1, 2049, S, dtype=np.int32)
docs = np.concatenate(([0], np.cumsum(rng.integers(1, 9, S))))
docs = np.concatenate((docs[docs < S], [S])).astype(np.int64)
sizes = lengths.astype(np.int64) * 2
contiguous = np.concatenate(([0], np.cumsum(sizes)[:-1]))
order = rng.permutation(S)
scattered = np.empty(S, dtype=np.int64)
scattered[order] = np.concatenate(([0], np.cumsum(sizes[order])[:-1]))
for name, pointers in (("contiguous", contiguous), ("scattered", scattered)):
    with open(f"{work}/{name}.idx", "wb") as f:
        f.write(b"MMIDIDX\x00\x00" + np.uint64(1).tobytes() + bytes([8]))
        f.write(np.uint64(S).tobytes() + np.uint64(len(docs)).tobytes())
        f.write(lengths.tobytes() + pointers.tobytes() + docs.tobytes())
    with open(f"{work}/{name}.bin", "wb") as f:
        f.truncate(int(sizes.sum()))
EOF
sync

ms_of() { sed -n 's/.*ms=\([0-9.]*\).*/\1/p'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
drop() { for f in "$work"/train-*.tar; do dd if="$f" iflag=nocache count=0 status=none; done; }

gnu_tar_ms() { # cold|warm
    for _ in $(seq "$rounds"); do
        [ "$1" = cold ] && drop
        start=$(date +%s%N)
        for f in "$work"/train-*.tar; do tar -tf "$f" >/dev/null; done
        echo $((($(date +%s%N) - start) / 1000))
    done | median | awk '{ printf "%.2f", $1 / 1000 }'
}

python_tar_ms() { # cold|warm
    "$py" - "$work" "$rounds" "$1" <<'EOF'
import glob, os, sys, tarfile, time
work, rounds, cold = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "cold"
files = sorted(glob.glob(f"{work}/train-*.tar"))
times = []
for _ in range(rounds):
    if cold:
        for p in files:
            fd = os.open(p, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)
    t = time.perf_counter()
    members = sum(len(tarfile.open(p).getmembers()) for p in files)
    times.append((time.perf_counter() - t) * 1e3)
print("%.2f" % sorted(times)[len(times) // 2])
EOF
}

megatron_numpy_ms() { # name
    "$py" - "$work/$1" "$rounds" <<'EOF'
import os, sys, time, numpy as np
prefix, rounds = sys.argv[1], int(sys.argv[2])
times = []
for _ in range(rounds):
    t = time.perf_counter()
    with open(prefix + ".idx", "rb") as f:
        assert f.read(9) == b"MMIDIDX\x00\x00"
        assert np.frombuffer(f.read(8), np.uint64)[0] == 1
        code = f.read(1)[0]
        S, D = np.frombuffer(f.read(16), np.uint64)
    m = np.memmap(prefix + ".idx", mode="r", order="C")
    b = memoryview(m)
    lengths = np.frombuffer(b, np.int32, int(S), 34)
    pointers = np.frombuffer(b, np.int64, int(S), 34 + lengths.nbytes)
    docs = np.frombuffer(b, np.int64, int(D), 34 + lengths.nbytes + pointers.nbytes)
    size = os.path.getsize(prefix + ".bin")
    assert m.size in (34 + 12 * S + 8 * D, 34 + 13 * S + 8 * D)
    assert (lengths >= 0).all() and (pointers >= 0).all()
    assert (pointers + lengths.astype(np.int64) * 2 <= size).all()
    assert docs[0] == 0 and docs[-1] == S and (np.diff(docs) >= 0).all()
    tokens = int(lengths.sum(dtype=np.int64))
    del lengths, pointers, docs, b, m
    times.append((time.perf_counter() - t) * 1e3)
print("%.2f" % sorted(times)[len(times) // 2])
EOF
}

samples=$((shards * per_shard))
echo "tar: $shards shards x $per_shard samples x 3 fields ($(du -sh "$work" --exclude='*.bin' --exclude='*.idx' | cut -f1)), median of $rounds rounds"
for cache in warm cold; do
    extra=""
    [ "$cache" = cold ] && extra=--cold
    out=$("$prog" $extra --rounds "$rounds" tar "$pattern")
    z=$(echo "$out" | ms_of)
    g=$(gnu_tar_ms "$cache")
    p=$(python_tar_ms "$cache")
    echo "  $cache: zenith open $z ms ($out), GNU tar -tf $g ms, Python tarfile $p ms;" \
        "zenith/GNU tar $(ratio "$z" "$g"), zenith/tarfile $(ratio "$z" "$p")"
done
echo "  index: $(ratio "$("$prog" --rounds 1 tar "$pattern" | sed -n 's/.*index_bytes=\([0-9]*\).*/\1/p')" "$samples") bytes per sample"
echo "megatron: $sequences sequences, warm, median of $rounds rounds"
for name in contiguous scattered; do
    out=$("$prog" --rounds "$rounds" megatron "$work/$name")
    z=$(echo "$out" | ms_of)
    n=$(megatron_numpy_ms "$name")
    echo "  $name: zenith open $z ms ($out), numpy reader + checks $n ms; zenith/numpy $(ratio "$z" "$n")"
done
