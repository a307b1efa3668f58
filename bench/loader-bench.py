#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""zenith.data's in-process Loader against PyTorch's DataLoader (and nanoGPT's get_batch) on
the same files, in the same sample order, delivering the same bytes, in one run.

Three data sets, each a file written here: fixed 4 KiB records, fixed 150 KiB records, and a
flat uint16 token file read as random windows of seq_len+1 tokens (nanoGPT's train.bin). The
order is Zenith's own: one epoch's sample ids are taken from a Zenith Loader first
(Batch.ids(); for token windows, each window's first token), and every baseline is fed exactly
those batches through a batch sampler. A verification pass hashes every batch of every loader
(blake2b over the batch as the file's dtype) and compares them; the timed passes do no hashing
and do not touch the data, so each loader is timed delivering its batch objects into Python.

Measured per loader: samples/s (first batch to last, so a DataLoader's worker start-up, paid
once per job with persistent workers, is not charged to an epoch), time to first batch (from
constructing the loader), CPU-seconds of all its processes (this one, its threads, io_uring's
workers and reaped DataLoader workers), peak RSS (this process and each worker, high-water),
page cache warm (rounds with the loaders alternating, so drift hits them alike: the first
with every loader, then --repeat - 1 more with Zenith's, the raw read, nanoGPT's and the three
fastest DataLoaders; each figure is the median of its runs) and cold (sync, then
POSIX_FADV_DONTNEED on the file before the run; one run each of the loaders compared), and
a step loop: a fixed-work single-thread matmul of about --step-ms per batch, with the wait for
each next batch (the stall) timed, in rounds as warm. A single-thread os.preadv() loop reading
the same byte ranges in the same order into one preallocated buffer gives the raw-read share.
Other processes' CPU during each run (from /proc/stat) is printed beside it, since a shared
machine's figures are only as good as its quiet.
"""

import argparse
import gc
import hashlib
import os
import platform
import resource
import statistics
import sys
import time
import traceback
import warnings

import numpy as np
import torch
import torch.utils.data as tud

import zenith.data as zd

# The default collate wraps the memmap's read-only rows with torch.as_tensor before stacking
# them, and torch warns (once) that the tensor is not writable; nothing here writes to it.
warnings.filterwarnings("ignore", message="The given NumPy array is not writable")

BATCH = 64
SEED = 0
SEQ_LEN = 1024
VOCAB = 50257                   # GPT-2's, as nanoGPT's train.bin holds
KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
CLK_TCK = os.sysconf("SC_CLK_TCK")
now = time.perf_counter


# ------------------------------------------------------------------------------ the data sets

class DataSet:
    """One file and how every loader addresses it: sample i is `length` bytes at offset(i)."""

    def __init__(self, name, kind, path, size, record=None, target=None):
        self.name, self.kind, self.path, self.size = name, kind, path, size
        self.target = target                    # the warm ratio against DataLoader
        if kind == "records":
            self.record = record
            self.count = size // record
            self.length = record
            self.dtype = np.uint8
            self.spec = f"path={path},record={record // KIB}K"
        else:
            self.tokens = size // 2
            self.length = (SEQ_LEN + 1) * 2
            self.dtype = np.uint16
            self.spec = f"path={path},seq_len={SEQ_LEN},windows=random"

    def offset(self, i):
        return i * self.record if self.kind == "records" else i * 2

    def describe(self):
        if self.kind == "records":
            return (f"{self.count:,} records of {self.record // KIB} KiB "
                    f"({self.size / GIB:.2f} GiB)")
        return (f"{self.tokens:,} uint16 tokens ({self.size / GIB:.2f} GiB), random windows "
                f"of {SEQ_LEN}+1 tokens ({self.length} bytes)")


def write_file(ds, rng):
    """Random bytes (records) or random tokens below GPT-2's vocabulary, 64 MiB at a time,
    then fsync'ed so that dropping the page cache later really empties it. An existing file
    of the right size is reused (--keep): every loader reads the same file either way."""
    if os.path.exists(ds.path) and os.path.getsize(ds.path) == ds.size:
        return "reused"
    with open(ds.path, "wb") as f:
        left = ds.size
        while left:
            n = min(left, 64 * MIB)
            if ds.kind == "records":
                f.write(rng.bytes(n))
            else:
                f.write(rng.integers(0, VOCAB, n // 2, dtype=np.uint16).tobytes())
            left -= n
        f.flush()
        os.fsync(f.fileno())
    return "written"


def drop_cache(ds):
    os.sync()
    fd = os.open(ds.path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def zenith_order(ds):
    """Epoch 0's batches of sample ids as Zenith delivers them. The Loader's own loop drops
    the epoch's short last batch (drop_last), so the baselines get the full batches only."""
    loader = zd.Loader(ds.spec, batch_size=BATCH, seed=SEED, shuffle=True, drop_last=True,
                       output="numpy", epochs=1)
    batches = [list(raw.ids()) for raw in loader.batches() if raw.samples == BATCH]
    loader.close()
    return batches


# ------------------------------------------------------------------------------ the loaders

class Contender:
    """A loader under test. open() starts a fresh one and returns (batch iterator, close(),
    worker pids()); canon(batch) gives the batch as a C-contiguous array of the file's dtype,
    for the verification pass only."""

    def __init__(self, name, kind, open_, canon, like=True, unconverted=False):
        self.name, self.kind, self.open, self.canon = name, kind, open_, canon
        self.like = like                # delivers what the baselines deliver (int64 tokens)
        self.unconverted = unconverted  # delivers the file's bytes as they are (raw share)
        self.warm, self.cold, self.step = [], None, None


def no_pids():
    return []


def zenith_contender(ds, output, async_):
    keys = {} if async_ is None else {"async_": async_}

    def open_():
        # epochs=1: the engine stops at the epoch's end instead of reading on into the next.
        loader = zd.Loader(ds.spec, batch_size=BATCH, seed=SEED, shuffle=True, drop_last=True,
                           output=output, epochs=1, **keys)
        return iter(loader), loader.close, no_pids

    def canon(batch):
        a = batch.numpy() if output == "torch" else batch
        return np.ascontiguousarray(a, dtype=ds.dtype)

    mode = "auto" if async_ is None else str(async_)
    name = f"zenith {output} async={mode}" + (" (default)" if async_ is None else "")
    tokens = ds.kind == "tokens"
    return Contender(name, "zenith", open_, canon, like=not tokens or output == "torch",
                     unconverted=not tokens or output == "numpy")


def zenith_raw_contender(ds, async_):
    """Zenith's Batch objects as Loader.batches() yields them (a buffer over the slot, no
    array made): what the Loader's own conversion to arrays costs. Shown, never compared."""
    def open_():
        loader = zd.Loader(ds.spec, batch_size=BATCH, seed=SEED, shuffle=True, drop_last=True,
                           output="numpy", epochs=1, async_=async_)
        full = (b for b in loader.batches() if b.samples == BATCH)
        return full, loader.close, no_pids

    def canon(batch):
        return np.frombuffer(batch, dtype=ds.dtype)

    return Contender(f"(zenith Batch objects, async={async_})", "zenith-raw", open_, canon,
                     like=False)


def _identity(batch):
    return batch


class MemmapRecords(tud.Dataset):
    """Records from a numpy.memmap, mapped on first use, so that each worker maps the file
    after the fork and a cold run starts with nothing mapped. __getitem__ returns the row (a
    view); the default collate's stack makes the batch's one copy."""

    def __init__(self, ds):
        self.path, self.record, self.count = ds.path, ds.record, ds.count
        self.mm = None

    def _map(self):
        if self.mm is None:
            self.mm = np.memmap(self.path, dtype=np.uint8, mode="r").reshape(-1, self.record)
        return self.mm

    def __len__(self):
        return self.count

    def __getitem__(self, i):
        return self._map()[i]


class MemmapRecordsBatched(MemmapRecords):
    """A whole batch per call: one fancy-indexed gather out of the memmap."""

    def __getitems__(self, ids):
        return torch.from_numpy(self._map()[np.asarray(ids)])

    def __getitem__(self, ids):             # the batch_size=None form (a list of ids)
        return self.__getitems__(ids)


class MemmapTokens(tud.Dataset):
    """Windows of a numpy.memmap'd uint16 token file as int64 tensors (torch 1.13 has no
    uint16), as the usual memmap Dataset over nanoGPT's train.bin does."""

    def __init__(self, ds):
        self.path, self.tokens = ds.path, ds.tokens
        self.mm = None

    def _map(self):
        if self.mm is None:
            self.mm = np.memmap(self.path, dtype=np.uint16, mode="r")
        return self.mm

    def __len__(self):
        return self.tokens - SEQ_LEN

    def __getitem__(self, start):
        return torch.from_numpy(self._map()[start:start + SEQ_LEN + 1].astype(np.int64))


class MemmapTokensBatched(MemmapTokens):
    """A whole batch per call, converted straight into one int64 array (one copy)."""

    def __getitems__(self, starts):
        mm = self._map()
        out = np.empty((len(starts), SEQ_LEN + 1), dtype=np.int64)
        for k, s in enumerate(starts):
            out[k] = mm[s:s + SEQ_LEN + 1]
        return torch.from_numpy(out)

    def __getitem__(self, starts):
        return self.__getitems__(starts)


def getitems_used():
    """Whether this torch's DataLoader hands a batch's indices to Dataset.__getitems__ (1.13's
    map-style fetcher does); if not, batched datasets get the list through batch_size=None."""
    class Probe(tud.Dataset):
        used = False

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return i

        def __getitems__(self, ids):
            Probe.used = True
            return list(ids)

    list(tud.DataLoader(Probe(), batch_size=2))
    return Probe.used


def dataloader_contender(ds, batches, workers, prefetch, batched, getitems):
    if ds.kind == "records":
        dataset_type = MemmapRecordsBatched if batched else MemmapRecords
    else:
        dataset_type = MemmapTokensBatched if batched else MemmapTokens

    def open_():
        dataset = dataset_type(ds)
        keys = {"num_workers": workers}
        if workers:
            keys.update(persistent_workers=True, prefetch_factor=prefetch)
        if batched and getitems:
            loader = tud.DataLoader(dataset, batch_sampler=batches, collate_fn=_identity, **keys)
        elif batched:
            loader = tud.DataLoader(dataset, sampler=batches, batch_size=None,
                                    collate_fn=_identity, **keys)
        else:
            loader = tud.DataLoader(dataset, batch_sampler=batches, **keys)
        it = iter(loader)

        def close():
            # Join the workers now (persistent ones would wait for the next epoch), so their
            # CPU time is in RUSAGE_CHILDREN before the run's figures are taken.
            shutdown = getattr(it, "_shutdown_workers", None)
            if shutdown is not None:
                shutdown()

        return it, close, lambda: [w.pid for w in getattr(it, "_workers", [])]

    def canon(batch):
        return np.ascontiguousarray(batch.numpy(), dtype=ds.dtype)

    kind = "batched" if batched else "per-sample"
    name = f"DataLoader {kind} workers={workers}"
    if workers:
        name += f" prefetch={prefetch}"
    return Contender(name, "dataloader", open_, canon)


def nanogpt_contender(ds, batches):
    """nanoGPT's get_batch (train.py), the memmap made again every call as there, with the
    window starts taken from the order instead of torch.randint."""
    def get_batches():
        for ix in batches:
            data = np.memmap(ds.path, dtype=np.uint16, mode="r")
            x = torch.stack([torch.from_numpy((data[i:i + SEQ_LEN]).astype(np.int64))
                             for i in ix])
            y = torch.stack([torch.from_numpy((data[i + 1:i + 1 + SEQ_LEN]).astype(np.int64))
                             for i in ix])
            yield x, y

    def open_():
        gen = get_batches()
        return gen, gen.close, no_pids

    def canon(xy):
        x, y = xy
        if not torch.equal(x[:, 1:], y[:, :-1]):
            return np.zeros(1, dtype=ds.dtype)          # cannot match any real batch
        return np.ascontiguousarray(torch.cat([x, y[:, -1:]], 1).numpy(), dtype=ds.dtype)

    return Contender("nanoGPT get_batch", "nanogpt", open_, canon)


def raw_contender(ds, batches):
    """One thread, os.preadv() of each sample's bytes into its row of one preallocated batch
    buffer, the same ranges in the same order as every loader: the raw read of these bytes
    from Python (one system call per sample, no loader)."""
    def get_batches(fd):
        buf = np.empty((BATCH, ds.length), dtype=np.uint8)
        rows = [memoryview(buf[k]) for k in range(BATCH)]
        offset, length = ds.offset, ds.length
        try:
            for ids in batches:
                for k, i in enumerate(ids):
                    if os.preadv(fd, [rows[k]], offset(i)) != length:
                        raise OSError(f"short read at sample {i}")
                yield buf
        finally:
            os.close(fd)

    def open_():
        gen = get_batches(os.open(ds.path, os.O_RDONLY))
        return gen, gen.close, no_pids

    def canon(buf):
        return buf.view(ds.dtype)

    return Contender("raw os.preadv, 1 thread", "raw", open_, canon, like=False,
                     unconverted=True)


# ------------------------------------------------------------------------------ measuring

def cpu_seconds():
    """CPU time of this process (all its threads, io_uring's workers among them) and of every
    child reaped so far."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def machine_busy_seconds():
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / CLK_TCK


def vm_hwm_mib(pid="self"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def reset_hwm():
    """Start this process's RSS high-water mark again from its current RSS (clear_refs 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def measure(contender, limit=None, step=None):
    """One fresh run of `contender`: every batch (or the first `limit`), `step` run on each."""
    gc.collect()
    reset_hwm()
    cpu0, busy0, t0 = cpu_seconds(), machine_busy_seconds(), now()
    it, close, pids = contender.open()
    arrivals, stalls = [], []
    stepping = 0.0
    waited = now()
    for batch in it:
        t = now()
        arrivals.append(t)
        stalls.append(t - waited)
        if step is not None:
            step(batch)
            stepping += now() - t
        del batch
        if limit is not None and len(arrivals) >= limit:
            break
        waited = now()
    workers_mib = sum(vm_hwm_mib(pid) for pid in pids())
    close()
    del it
    gc.collect()
    cpu = cpu_seconds() - cpu0
    other = max(0.0, machine_busy_seconds() - busy0 - cpu)
    n = len(arrivals)
    steady = arrivals[-1] - arrivals[0] if n > 1 else float("nan")
    return {
        "rate": (n - 1) * BATCH / steady if n > 1 else float("nan"),
        "first": arrivals[0] - t0,
        "stall": statistics.fmean(stalls[1:]) if n > 1 else float("nan"),
        "stall95": sorted(stalls[1:])[int(0.95 * (n - 2))] if n > 2 else float("nan"),
        "step": stepping / n if n else float("nan"),
        "cpu": cpu, "other": other, "wall": now() - t0, "batches": n,
        "rss": vm_hwm_mib(), "rss_workers": workers_mib,
    }


def verify(contender):
    """One pass hashing every batch: the digests, in order."""
    it, close, _pids = contender.open()
    digests = [hashlib.blake2b(contender.canon(batch), digest_size=16).digest()
               for batch in it]
    close()
    del it
    gc.collect()
    return digests


def make_step(ms):
    """A fixed amount of single-thread compute of about `ms` (matmuls of 128x128 float32),
    sized once on this machine; returns step(batch), its median ms and the matmuls in it."""
    torch.set_num_threads(1)
    a, out = torch.randn(128, 128), torch.empty(128, 128)
    # The fastest of 20 rounds: on a shared machine the others are this one plus interference.
    each = float("inf")
    for _ in range(20):
        t = now()
        for _ in range(50):
            torch.mm(a, a, out=out)
        each = min(each, (now() - t) / 50)
    reps = max(1, round(ms / 1000 / each))

    def step(_batch):
        for _ in range(reps):
            torch.mm(a, a, out=out)

    times = []
    for _ in range(51):
        t = now()
        step(None)
        times.append(now() - t)
    return step, statistics.median(times) * 1000, reps


# ------------------------------------------------------------------------------ reporting

def fmt_rate(x):
    if x != x:
        return "n/a"
    return f"{x / 1e6:.3f}M" if x >= 1e6 else f"{x / 1e3:.1f}k"


def fmt_ratio(x):
    return "n/a" if x != x else f"{x:.2f}x"


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def print_runs(title, rows, ds):
    print(f"  {title}")
    print(f"    {'loader':<44} {'runs':>4} {'samples/s':>10} {'MB/s':>7} {'1st batch':>9} "
          f"{'CPU-s':>6} {'RSS MiB':>8} {'workers':>8} {'other CPU-s':>11}")
    for c, r, runs in rows:
        print(f"    {c.name:<44} {runs:>4} {fmt_rate(r['rate']):>10} "
              f"{r['rate'] * ds.length / 1e6:>7.0f} {r['first'] * 1000:>7.1f}ms "
              f"{r['cpu']:>6.2f} {r['rss']:>8.0f} {r['rss_workers']:>8.0f} {r['other']:>11.2f}")


def summarize_warm(c):
    runs = c.warm
    return {key: median_of(runs, key) for key in
            ("rate", "first", "cpu", "rss", "rss_workers", "other", "stall", "stall95")}


def verdict(ok):
    return "PASS" if ok else "FAIL"


# ------------------------------------------------------------------------------ one data set

def bench(ds, args, step, getitems, results):
    print(f"\n=== {ds.name}: {ds.describe()}")
    batches = zenith_order(ds)
    print(f"  order: Zenith's epoch 0 (seed {SEED}), {len(batches):,} full batches of {BATCH} "
          f"({len(batches) * BATCH:,} samples, {len(batches) * BATCH * ds.length / GIB:.2f} GiB "
          "read per epoch); every loader gets exactly these batches")

    contenders = [zenith_contender(ds, out, a)
                  for out, a in (("numpy", 0), ("numpy", 1), ("torch", 0), ("torch", 1),
                                 ("torch", None))]
    contenders += [zenith_raw_contender(ds, a) for a in (0, 1)]
    for batched in (False, True):
        contenders.append(dataloader_contender(ds, batches, 0, None, batched, getitems))
        for workers in (1, 2):
            for prefetch in (2, 4):
                contenders.append(dataloader_contender(ds, batches, workers, prefetch,
                                                       batched, getitems))
    if ds.kind == "tokens":
        contenders.append(nanogpt_contender(ds, batches))
    contenders.append(raw_contender(ds, batches))

    # Verification (untimed; it also warms the page cache and every code path).
    reference = None
    identical = True
    for c in contenders:
        digests = verify(c)
        if reference is None:
            reference = digests
        same = digests == reference
        identical &= same
        if not same:
            print(f"  MISMATCH: {c.name}: {len(digests)} batches, "
                  f"{sum(a != b for a, b in zip(digests, reference))} differ from "
                  f"{contenders[0].name}'s")
    print(f"  batches identical: {'yes' if identical else 'no'} ({len(contenders)} loaders x "
          f"{len(reference):,} batches, blake2b of each batch as {np.dtype(ds.dtype).name})")

    # Warm: rounds of loaders in turn. The first round has every loader; later ones only
    # Zenith's, the raw read, nanoGPT's and the three fastest DataLoaders of the first round
    # (the others are far behind, and a run of one takes several seconds on 2 CPUs).
    for c in contenders:
        c.warm.append(measure(c))
    fastest = sorted((c for c in contenders if c.kind == "dataloader"),
                     key=lambda c: c.warm[0]["rate"], reverse=True)[:3]
    again = [c for c in contenders if c.kind != "dataloader" or c in fastest]
    for _ in range(args.repeat - 1):
        for c in again:
            c.warm.append(measure(c))
    warm = {c.name: summarize_warm(c) for c in contenders}
    print_runs(f"page cache warm (median of the runs each had: {args.repeat} for those in "
               "every round, 1 for the rest)",
               [(c, warm[c.name], len(c.warm)) for c in contenders], ds)

    zen = [c for c in contenders if c.kind == "zenith"]
    default = next(c for c in zen if "default" in c.name)
    best_zen = max((c for c in zen if c.like), key=lambda c: warm[c.name]["rate"])
    best_unconv = max((c for c in zen if c.unconverted), key=lambda c: warm[c.name]["rate"])
    dls = [c for c in contenders if c.kind == "dataloader"]
    best_dl = max(dls, key=lambda c: warm[c.name]["rate"])
    nanogpt = next((c for c in contenders if c.kind == "nanogpt"), None)
    raw = next(c for c in contenders if c.kind == "raw")
    baselines = dls + ([nanogpt] if nanogpt else [])
    best_base = max(baselines, key=lambda c: warm[c.name]["rate"])

    # Cold: one run each of the loaders the comparison needs, alternating.
    cold_set = []
    for c in (best_zen, default, best_unconv, best_dl, best_base, raw):
        if c not in cold_set:
            cold_set.append(c)
    cold_rows = []
    for c in cold_set:
        drop_cache(ds)
        c.cold = measure(c)
        cold_rows.append((c, c.cold, 1))
    print_runs("page cache cold (sync + POSIX_FADV_DONTNEED before each run; one run each)",
               cold_rows, ds)

    # Step loop: the Zenith loaders compared and every baseline, then more rounds, as warm, of
    # Zenith's, the fastest warm baseline and the three fastest baselines of the first round
    # (one run is at the mercy of the host's drift, so the warm one is always among them).
    step_set = [c for c in (best_zen, default) if c.like]
    step_set = list(dict.fromkeys(step_set)) + baselines
    limit = min(args.step_batches, len(batches))
    step_runs = {c.name: [measure(c, limit=limit, step=step[0])] for c in step_set}
    fastest = sorted(baselines, key=lambda c: step_runs[c.name][0]["rate"], reverse=True)[:3]
    fastest.append(best_base)
    for _ in range(args.repeat - 1):
        for c in step_set:
            if c.kind == "zenith" or c in fastest:
                step_runs[c.name].append(measure(c, limit=limit, step=step[0]))
    for c in step_set:
        runs = step_runs[c.name]
        c.step = {key: median_of(runs, key) for key in runs[0]}
        c.step["runs"] = len(runs)
    # Each side at its best in the loop: the baselines' fastest there, and Zenith's.
    best_step = max(baselines, key=lambda c: c.step["rate"])
    zen_step = max((c for c in step_set if c.kind == "zenith"), key=lambda c: c.step["rate"])
    print(f"  step loop: {step[2]} matmuls of 128x128 float32 per batch, 1 thread, sized at the "
          f"start to {step[1]:.2f} ms; the first {limit:,} batches. 'step' is the step's own "
          "time in the run (the host's speed drifts, and a loader taking CPU from it "
          "lengthens it)")
    print(f"    {'loader':<44} {'runs':>4} {'samples/s':>10} {'stall/batch':>11} "
          f"{'p95 stall':>10} {'step':>8} {'CPU-s':>6} {'other CPU-s':>11}")
    for c in step_set:
        r = c.step
        print(f"    {c.name:<44} {r['runs']:>4} {fmt_rate(r['rate']):>10} "
              f"{r['stall'] * 1000:>9.3f}ms {r['stall95'] * 1000:>8.3f}ms "
              f"{r['step'] * 1000:>6.2f}ms {r['cpu']:>6.2f} {r['other']:>11.2f}")

    # The comparisons, each measured in this run.
    def ratio(a, b):
        return a / b if b else float("nan")

    zw, bw = warm[best_zen.name], warm[best_dl.name]
    print("  results:")
    lines = []
    target = ds.target
    warm_ratio = ratio(zw["rate"], bw["rate"])
    lines.append((f"warm: {best_zen.name} {fmt_rate(zw['rate'])}/s vs best DataLoader "
                  f"({best_dl.name}) {fmt_rate(bw['rate'])}/s: {fmt_ratio(warm_ratio)}",
                  warm_ratio >= target, f"{ds.name} warm >= {target:g}x DataLoader"))
    d_ratio = ratio(warm[default.name]["rate"], bw["rate"])
    lines.append((f"warm: {default.name} {fmt_rate(warm[default.name]['rate'])}/s vs the same: "
                  f"{fmt_ratio(d_ratio)}", d_ratio >= target,
                  f"{ds.name} warm >= {target:g}x DataLoader (Zenith default)"))
    if ds.kind == "tokens":
        nw = warm[nanogpt.name]
        n_ratio = ratio(zw["rate"], nw["rate"])
        lines.append((f"warm: {best_zen.name} vs nanoGPT get_batch {fmt_rate(nw['rate'])}/s: "
                      f"{fmt_ratio(n_ratio)}", n_ratio >= target,
                      f"{ds.name} warm >= {target:g}x nanoGPT get_batch"))
        u = warm[best_unconv.name]
        print(f"    (info) {best_unconv.name}: {fmt_rate(u['rate'])}/s of uint16 windows, "
              f"{fmt_ratio(ratio(u['rate'], bw['rate']))} the best DataLoader; not like for "
              "like, the baselines' int64 conversion is left to the consumer")
    if ds.name == "records-4k":
        rate = zw["rate"]
        lines.append((f"{best_zen.name} {rate / 1e6:.3f} M samples/s into Python",
                      rate >= 1.3e6, f"{ds.name} >= 1.3 M samples/s"))
    share = ratio(warm[best_unconv.name]["rate"], warm[raw.name]["rate"])
    lines.append((f"raw-read share, warm: {best_unconv.name} / raw os.preadv = {share:.0%}",
                  share >= 0.8, f"{ds.name} raw-read share >= 80%"))
    for text, ok, _name in lines:
        print(f"    {text}: {verdict(ok)}")
    cold_share = ratio(best_unconv.cold["rate"], raw.cold["rate"])
    print(f"    raw-read share, cold: {cold_share:.0%} (no target)")

    cold_ratio = ratio(best_zen.cold["rate"], best_base.cold["rate"])
    step_ratio = ratio(zen_step.step["rate"], best_step.step["rate"])
    cpu_ratio = ratio(zw["cpu"], warm[best_base.name]["cpu"])
    print(f"    cold: {best_zen.name} {fmt_rate(best_zen.cold['rate'])}/s vs {best_base.name} "
          f"{fmt_rate(best_base.cold['rate'])}/s: {fmt_ratio(cold_ratio)}; first batch "
          f"{best_zen.cold['first'] * 1000:.1f} vs {best_base.cold['first'] * 1000:.1f} ms")
    print(f"    step: stall per batch {zen_step.step['stall'] * 1000:.3f} ms ({zen_step.name}) vs "
          f"{best_step.step['stall'] * 1000:.3f} ms ({best_step.name}); samples/s "
          f"{fmt_ratio(step_ratio)}")
    print(f"    CPU-s per epoch, warm: {zw['cpu']:.2f} vs {warm[best_base.name]['cpu']:.2f} "
          f"({best_base.name}): {fmt_ratio(cpu_ratio)}")
    win = (warm_ratio >= target and cold_ratio >= 1.0 and step_ratio >= 1.0 and cpu_ratio <= 1.0)
    results.append({
        "name": ds.name, "target": target, "warm": warm_ratio, "default": d_ratio,
        "cold": cold_ratio, "step": step_ratio, "cpu": cpu_ratio, "share": share,
        "win": win, "targets": [(name, ok) for _text, ok, name in lines],
        "zenith": best_zen.name, "baseline": best_base.name,
        "step_pair": (zen_step.name, best_step.name),
    })


# ------------------------------------------------------------------------------ main

def header(args, sets, getitems, info):
    cpus = len(os.sched_getaffinity(0))
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / GIB
    print("loader-bench: zenith.data Loader (in-process engine) vs PyTorch DataLoader, "
          "same files, order and bytes")
    print(f"machine: {cpus} CPUs usable (nproc), {os.cpu_count()} online, {model}, "
          f"{mem:.1f} GiB memory, Linux {platform.release()}")
    so = zd._data.__file__
    with open(so, "rb") as f:
        build = hashlib.sha256(f.read()).hexdigest()[:12]
    built = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(so)))
    print(f"software: Python {platform.python_version()}, numpy {np.__version__}, "
          f"torch {torch.__version__} ({torch.get_num_threads()} intra-op thread)")
    print(f"zenith.data: {os.path.dirname(zd.__file__)}, {os.path.basename(so)} sha256 {build}, "
          f"built {built}; in-process engine: reader {info['reader']}, arena on "
          f"{info['backing']}")
    print(f"data: {args.dir}" + (" (--quick sizes)" if args.quick else ""))
    for ds in sets:
        print(f"  {ds.name:<12} {os.path.basename(ds.path):<14} {ds.size / MIB:>8.0f} MiB  "
              f"{ds.describe()}  [{ds.written}]")
    print(f"configs: batch {BATCH}, seed {SEED}, shuffled, drop_last. Zenith: output numpy and "
          "torch, async=0, 1 and unset (the default: on for samples >= 64 KiB on 2+ CPUs), "
          "slots=8, epochs=1.")
    print("  DataLoader (memmap datasets): per-sample (__getitem__ + default collate) and "
          f"batched ({'__getitems__' if getitems else 'batch_size=None with lists'}, "
          "collate_fn=identity), workers 0, 1, 2, prefetch_factor 2 and 4, "
          "persistent_workers=True, pin_memory off.")
    rounds = "a round of every loader"
    if args.repeat > 1:
        rounds += (f", then {args.repeat - 1} more of Zenith's, the raw read, nanoGPT's and the "
                   "3 fastest DataLoaders of the first (step loop: the 3 fastest baselines and "
                   "the fastest warm one); each figure the median of its runs")
    print(f"  warm and step loop: {rounds}; cold: one run each; step loop: "
          f"{args.step_ms:g} ms target, the first {args.step_batches} batches.")
    print("  samples/s counts from the first batch to the last; 1st batch is from constructing "
          "the loader.")
    print("  CPU-s: RUSAGE_SELF + RUSAGE_CHILDREN over the run; RSS: VmHWM of this process "
          "(reset per run) and the sum of the workers' VmHWM; numpy.memmap pages a process "
          "touched count in its RSS (they are page cache, not extra memory).")
    print(f"  load at start: {open('/proc/loadavg').read().strip()}; 'other CPU-s': the "
          "machine's busy time (/proc/stat) during a run less the run's own, i.e. other "
          "processes and kernel threads")
    print("  raw os.preadv pays a Python call per sample: for 4 KiB samples "
          "it is slower than a C read loop, so its share is an upper bound there.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default="/var/tmp/zn-loader-bench",
                        help="where the data files go (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help="small files, one warm run")
    parser.add_argument("--repeat", type=int,
                        help="rounds of warm and step-loop runs (default 3; 1 quick)")
    parser.add_argument("--step-ms", type=float, default=2.0,
                        help="compute per batch in the step loop (default %(default)s)")
    parser.add_argument("--step-batches", type=int,
                        help="batches of the step loop (default 500; 100 quick)")
    parser.add_argument("--only", action="append", choices=["records-4k", "records-150k",
                                                            "tokens"],
                        help="run this data set only (repeatable)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the data files (and reuse them next time)")
    args = parser.parse_args()
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.step_batches = args.step_batches or (100 if args.quick else 500)

    scale = 1 / 8 if args.quick else 1
    sets = [
        DataSet("records-4k", "records", os.path.join(args.dir, "records-4k.dat"),
                int(1.5 * GIB * scale), record=4 * KIB, target=4.0),
        DataSet("records-150k", "records", os.path.join(args.dir, "records-150k.dat"),
                int(10240 * scale) * 150 * KIB, record=150 * KIB, target=2.0),
        DataSet("tokens", "tokens", os.path.join(args.dir, "tokens.bin"),
                int(GIB / 2 * scale), target=4.0),
    ]
    if args.only:
        sets = [ds for ds in sets if ds.name in args.only]

    os.makedirs(args.dir, exist_ok=True)
    started, busy0, cpu0 = now(), machine_busy_seconds(), cpu_seconds()
    results = []
    try:
        rng = np.random.default_rng(1)
        for ds in sets:
            ds.written = write_file(ds, rng)
        step = make_step(args.step_ms)
        getitems = getitems_used()
        probe = zd.Loader(sets[0].spec, batch_size=BATCH, output="numpy", epochs=1)
        info = dict(probe.info)
        probe.close()
        header(args, sets, getitems, info)
        for ds in sets:
            bench(ds, args, step, getitems, results)
    finally:
        if not args.keep:
            for ds in sets:
                if os.path.exists(ds.path):
                    os.unlink(ds.path)
            if not os.listdir(args.dir):
                os.rmdir(args.dir)

    print("\n=== summary (ratios: Zenith / baseline, measured in this run)")
    print(f"  {'data set':<13} {'warm':>7} {'target':>7} {'default':>8} {'cold':>7} "
          f"{'step':>7} {'CPU-s':>7} {'raw share':>9}  win holds (warm >= target, cold >= 1, "
          "step >= 1, CPU <= 1)")
    for r in results:
        print(f"  {r['name']:<13} {fmt_ratio(r['warm']):>7} {r['target']:>6g}x "
              f"{fmt_ratio(r['default']):>8} {fmt_ratio(r['cold']):>7} "
              f"{fmt_ratio(r['step']):>7} {fmt_ratio(r['cpu']):>7} {r['share']:>9.0%}  "
              f"{'yes' if r['win'] else 'no'}")
    for r in results:
        print(f"  {r['name']}: {r['zenith']} against {r['baseline']}; step loop: "
              f"{r['step_pair'][0]} against {r['step_pair'][1]}")
    met = [name for r in results for name, ok in r["targets"] if ok]
    missed = [name for r in results for name, ok in r["targets"] if not ok]
    print(f"  targets met: {', '.join(met) if met else 'none'}")
    print(f"  targets not met: {', '.join(missed) if missed else 'none'}")
    print(f"  wins claimed: {', '.join(r['name'] for r in results if r['win']) or 'none'}")
    wall = now() - started
    other = max(0.0, machine_busy_seconds() - busy0 - (cpu_seconds() - cpu0))
    capacity = wall * len(os.sched_getaffinity(0))
    print(f"  total time {wall:.0f} s; other processes used {other:.0f} CPU-s of the "
          f"{capacity:.0f} the machine had meanwhile ({other / capacity:.0%}); load at end: "
          f"{open('/proc/loadavg').read().strip()}")
    return 0 if results and all(ok for r in results for _n, ok in r["targets"]) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:                   # exit 1 means a missed target: an error is 2
        traceback.print_exc()
        sys.exit(2)
