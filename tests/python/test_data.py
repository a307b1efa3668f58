# SPDX-License-Identifier: GPL-2.0-or-later
"""zenith.data against real files, a real engine and real processes: what a batch holds, the
order over ranks, epochs and resume, the lifetime of shared memory whatever a program keeps,
bad input raising with the engine's message, signals, forks and kills.

Run by tests/python/run.sh (make check) with /usr/bin/python3 and the build's zenith package.
"""

import gc
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import threading
import time
import traceback

import numpy as np
import torch

import zenith.data as zd

WORK = tempfile.mkdtemp(prefix="zenith-pytest-")
SEQ = 15  # windows of 16 tokens


def token_file(name, tokens, dtype=np.uint16):
    path = os.path.join(WORK, name)
    (np.arange(tokens) % 65521).astype(dtype).tofile(path)
    return path


def record_file(name, records, size):
    """Record i is filled with bytes of (i * 7 + j) % 251: any record names itself."""
    path = os.path.join(WORK, name)
    j = np.arange(size, dtype=np.uint64)
    with open(path, "wb") as f:
        for i in range(records):
            f.write(((i * 7 + j) % 251).astype(np.uint8).tobytes())
    return path


def record_id(row):
    return int(row[0]) * pow(7, -1, 251) % 251  # only mod 251: used with < 251 records


TOKENS = token_file("train.bin", SEQ * 103 + 1)  # 103 windows: not a multiple of the batch
RECORDS = record_file("records.dat", 200, 4096)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def raises(kind, needle, fn):
    try:
        fn()
    except kind as e:
        expect(needle in str(e), f"{kind.__name__} without {needle!r}: {e}")
        expect(str(e).startswith("zenith: "), f"message does not start with 'zenith: ': {e}")
        return e
    raise AssertionError(f"no {kind.__name__} ({needle!r})")


def windows_of(loader):
    out = []
    for w in loader:
        out.append(np.asarray(w).copy())
    return out


def first_tokens(batches):
    return [int(t) for b in batches for t in b[:, 0]]


# ---------------------------------------------------------------------------- what a batch is

def test_token_windows_numpy_and_torch():
    loader = zd.Loader(TOKENS, batch_size=8, seq_len=SEQ, output="numpy")
    batches = windows_of(loader)
    expect(len(batches) == 103 // 8 == len(loader), f"{len(batches)} batches, len {len(loader)}")
    for b in batches:
        expect(b.dtype == np.uint16 and b.shape == (8, SEQ + 1), f"{b.dtype} {b.shape}")
        # A window is SEQ + 1 consecutive tokens of the file, starting at a window boundary.
        expect((np.diff(b.astype(np.int64), axis=1) == 1).all(), "a window is not consecutive")
        expect((b[:, 0] % SEQ == 0).all(), "a window starts off a window boundary")
    starts = first_tokens(batches)
    expect(len(set(starts)) == len(starts) == 96, "windows repeat within an epoch")
    loader.close()
    t = next(iter(zd.Loader(TOKENS, batch_size=8, seq_len=SEQ)))
    expect(t.dtype == torch.int64 and tuple(t.shape) == (8, SEQ + 1), f"{t.dtype} {t.shape}")


def test_drop_last_false_yields_the_short_batch():
    loader = zd.Loader(TOKENS, batch_size=8, seq_len=SEQ, drop_last=False, output="numpy")
    batches = windows_of(loader)
    expect(len(batches) == 13 == len(loader), f"{len(batches)} batches, len {len(loader)}")
    expect(batches[-1].shape[0] == 103 - 96, f"last batch {batches[-1].shape}")
    expect(sorted(first_tokens(batches)) == [i * SEQ for i in range(103)], "not every window")


def test_records_are_uint8_rows_without_a_copy():
    loader = zd.Loader(f"path={RECORDS},record=4K", batch_size=16, shuffle=False)
    rows = next(iter(loader))
    expect(rows.dtype == torch.uint8 and tuple(rows.shape) == (16, 4096), f"{rows.shape}")
    expect([record_id(r.numpy()) for r in rows] == list(range(16)), "shuffle=0 is not file order")
    expect(loader.stats()["held"] == 1, "the tensor does not hold its slot")
    # The tensor is the slot: a second view sees a write through the first.
    raw = next(loader.batches())
    view = np.frombuffer(raw, dtype=np.uint8)
    view[0] = 99
    expect(bytes(memoryview(raw)[:1]) == b"\x63", "the buffer is not the batch's memory")


def test_tar_samples_are_dicts_of_memoryviews():
    path = os.path.join(WORK, "shard-0.tar")
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for i in range(10):
            for ext, data in (("txt", f"sample {i}".encode()), ("cls", str(i % 3).encode())):
                info = tarfile.TarInfo(f"s{i:03d}.{ext}")
                info.size = len(data)
                tar.addfile(info, __import__("io").BytesIO(data))
    loader = zd.Loader(f"path={path}", batch_size=4, shuffle=False, drop_last=False)
    samples = [s for batch in loader for s in batch]
    expect(len(samples) == 10, f"{len(samples)} samples")
    for i, s in enumerate(samples):
        expect(isinstance(s["txt"], memoryview), f"{type(s['txt'])}")
        expect(bytes(s["txt"]) == f"sample {i}".encode() and bytes(s["cls"]) == str(i % 3).encode(),
               f"sample {i}: {dict((k, bytes(v) if k != '__id__' else v) for k, v in s.items())}")


# ---------------------------------------------------------------------------- order and ranks

def test_ranks_take_disjoint_shares_of_the_epoch():
    seen = []
    for rank in range(3):
        loader = zd.Loader(TOKENS, batch_size=4, seq_len=SEQ, rank=rank, world_size=3,
                           drop_last=False, output="numpy", seed=5)
        starts = first_tokens(windows_of(loader))
        expect(len(starts) == 35, f"rank {rank}: {len(starts)} windows")  # 103 padded to 105
        seen.append(starts)
        loader.close()
    flat = [s for share in seen for s in share]
    expect(sorted(set(flat)) == [i * SEQ for i in range(103)], "the union is not the epoch")
    expect(len(flat) - len(set(flat)) == 2, "more repeats than the padding")


def test_order_is_the_seeds_and_changes_per_epoch():
    def epoch_order(seed, epoch):
        loader = zd.Loader(TOKENS, batch_size=8, seq_len=SEQ, seed=seed, output="numpy")
        loader.set_epoch(epoch)
        return first_tokens(windows_of(loader))

    expect(epoch_order(1, 0) == epoch_order(1, 0), "the same seed gave two orders")
    expect(epoch_order(1, 0) != epoch_order(1, 1), "epochs 0 and 1 have one order")
    expect(epoch_order(1, 0) != epoch_order(2, 0), "seeds 1 and 2 have one order")
    # Looping again continues into the next epoch, as set_epoch(1) would.
    loader = zd.Loader(TOKENS, batch_size=8, seq_len=SEQ, seed=1, output="numpy")
    windows_of(loader)
    expect(first_tokens(windows_of(loader)) == epoch_order(1, 1), "the second loop is not epoch 1")


def test_resume_continues_the_order_exactly():
    reference = zd.Loader(TOKENS, batch_size=8, seq_len=SEQ, seed=9, output="numpy")
    straight = first_tokens(windows_of(reference)) + first_tokens(windows_of(reference))
    first = zd.Loader(TOKENS, batch_size=8, seq_len=SEQ, seed=9, output="numpy")
    taken = []
    for i, w in enumerate(first):
        taken += [int(t) for t in w[:, 0]]
        if i == 4:
            break
    state = first.state_dict()
    expect(state["epoch"] == 0 and state["consumed"] == 40, f"{state}")
    first.close()
    second = zd.Loader(TOKENS, batch_size=8, seq_len=SEQ, seed=9, output="numpy")
    second.load_state_dict(state)
    rest = first_tokens(windows_of(second)) + first_tokens(windows_of(second))
    expect(taken + rest == straight, "the resumed order differs")
    # On another world size the job's remaining samples are the same set.
    union = []
    for rank in range(2):
        part = zd.Loader(TOKENS, batch_size=8, seq_len=SEQ, seed=9, rank=rank, world_size=2,
                         output="numpy", drop_last=False)
        part.load_state_dict(state)
        union += first_tokens(windows_of(part))
    # The rest of the epoch, padded with its first sample as the epoch run straight is.
    rest_of_epoch = set(range(0, 103 * SEQ, SEQ)) - set(taken) | {straight[0]}
    expect(set(union) == rest_of_epoch and len(union) == 64, "resume on 2 ranks differs")
    other = zd.Loader(TOKENS, batch_size=8, seq_len=SEQ, seed=10, output="numpy")
    raises(zd.Error, "seed=9", lambda: other.load_state_dict(state))


# ---------------------------------------------------------------------------- lifetime

def test_a_freed_view_gives_its_slot_back():
    loader = zd.Loader(f"path={RECORDS},record=4K", batch_size=4, slots=4, output="numpy",
                       epochs=3)
    it = iter(loader)
    kept = [next(it) for _ in range(4)]
    expect(loader.stats()["held"] == 4, f"held {loader.stats()['held']}")
    raises(zd.Error, "holds all 4 batches", lambda: next(it))
    slice_of_one = kept[2][1:3]  # a view of a view still holds the slot
    del kept
    gc.collect()
    expect(loader.stats()["held"] == 1, f"held {loader.stats()['held']} after del")
    del slice_of_one
    expect(loader.stats()["held"] == 0, "a slot was not given back")
    expect(sum(1 for _ in loader) > 0, "no batch after the slots came back")


def test_batches_kept_after_close_stay_valid():
    loader = zd.Loader(f"path={RECORDS},record=4K", batch_size=8, shuffle=False)
    it = iter(loader)
    kept = [next(it) for _ in range(3)]
    torch_view = kept[1][:, :16]
    ids = [record_id(r.numpy()) for r in kept[2]]
    loader.close()
    del it
    gc.collect()
    # The engine is gone; the memory stays until the last view goes.
    expect([record_id(r.numpy()) for r in kept[2]] == ids, "a kept batch changed after close")
    expect(int(torch_view[0, 0]) == (8 * 7) % 251, "a kept view changed after close")
    raises(ValueError, "closed", lambda: next(iter(loader)))


def test_an_epoch_past_the_last_raises():
    loader = zd.Loader(TOKENS, batch_size=8, seq_len=SEQ, epochs=1, output="numpy")
    expect(len(windows_of(loader)) == 12, "epoch 0 is not 12 batches")
    raises(zd.Error, "every epoch was delivered already (epochs=1", lambda: windows_of(loader))


def test_copy_true_holds_no_slot():
    loader = zd.Loader(f"path={RECORDS},record=4K", batch_size=4, slots=4, copy=True, epochs=2)
    kept = list(loader)  # 50 batches on 4 slots
    expect(len(kept) == 50 and loader.stats()["held"] == 0, f"{len(kept)} {loader.stats()}")


def test_iterable_dataset_adapter():
    loader = zd.Loader(TOKENS, batch_size=8, seq_len=SEQ)
    dl = torch.utils.data.DataLoader(zd.IterableDataset(loader), batch_size=None, num_workers=0)
    shapes = [tuple(b.shape) for b in dl]
    expect(len(shapes) == len(dl) == 12 and shapes[0] == (8, SEQ + 1), f"{shapes[:2]} {len(dl)}")
    workers = torch.utils.data.DataLoader(zd.IterableDataset(loader), batch_size=None,
                                          num_workers=1)
    try:
        next(iter(workers))
        raise AssertionError("a DataLoader worker took batches")
    except zd.Error as e:  # DataLoader re-raises it with the worker's traceback
        expect("zenith: data: a Zenith Loader reads ahead itself" in str(e), f"{e}")


# ---------------------------------------------------------------------------- bad input

def test_bad_specs_name_the_key_and_value():
    raises(zd.Error, "unknown key 'colour'",
           lambda: zd.Loader(f"path={TOKENS},seq_len=8,colour=red"))
    raises(zd.Error, "batch=0 is not valid", lambda: zd.Loader(TOKENS, seq_len=8, batch_size=0))
    raises(zd.Error, "needs seq_len", lambda: zd.Loader(TOKENS))
    raises(zd.Error, "cannot tell the format", lambda: zd.Loader(os.path.join(WORK, "x.data")))
    raises(zd.Error, "windows=diagonal", lambda: zd.Loader(TOKENS, seq_len=8, windows="diagonal"))
    raises(ValueError, "output='pandas'", lambda: zd.Loader(TOKENS, seq_len=8, output="pandas"))
    raises(ValueError, "rank 2 of world 2", lambda: zd.Loader(TOKENS, seq_len=8, rank=2,
                                                            world_size=2))
    raises(zd.Error, "no SPEC and no data service", lambda: zd.Loader())
    missing = os.path.join(WORK, "missing.bin")
    raises(zd.Error, missing, lambda: zd.Loader(missing, seq_len=8))
    expect("path=FILE" in zd.spec_help(), "spec_help has no path=")


def test_damaged_files_raise_with_file_and_offset():
    odd = os.path.join(WORK, "odd.bin")
    with open(odd, "wb") as f:
        f.write(b"\0" * 1001)  # not whole uint16 tokens
    raises(zd.Error, odd, lambda: zd.Loader(odd, seq_len=8))
    bad_tar = os.path.join(WORK, "bad.tar")
    with open(os.path.join(WORK, "shard-0.tar"), "rb") as f:
        data = bytearray(f.read())
    data[148:156] = b"0000000\0"  # the first header's checksum
    with open(bad_tar, "wb") as f:
        f.write(data)
    e = raises(zd.Error, bad_tar, lambda: zd.Loader(f"path={bad_tar}"))
    expect("offset 0" in str(e) or "byte 0" in str(e), f"no offset in: {e}")


def test_a_file_cut_while_reading_raises_not_crashes():
    path = record_file("shrinking.dat", 2000, 4096)
    loader = zd.Loader(f"path={path},record=4K", batch_size=8, slots=2, shuffle=False,
                       output="numpy")
    it = iter(loader)
    next(it)
    os.truncate(path, 4096 * 64)
    e = raises(zd.Error, path, lambda: [None for _ in it])
    expect("short" in str(e) or "end of" in str(e) or "offset" in str(e), f"{e}")


# ---------------------------------------------------------------------------- processes

def child(code, *args):
    """A Python child with the build's zenith package; returns the Popen."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ))


def wait_line(proc, prefix, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(prefix):
            return line
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"child never said {prefix!r}: {proc.stderr.read()}")


LOOPING_CHILD = """
    import sys, time, zenith.data as zd
    loader = zd.Loader(sys.argv[1], batch_size=4, seq_len=15, epochs=0)
    try:
        print("ready", flush=True)
        while True:
            for batch in loader:
                time.sleep(0.01)
    finally:
        print("finally ran", flush=True)
"""


def mappers(name="memfd:zenith-data"):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/maps") as f:
                if name in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def test_sigterm_ends_the_loop_cleanly():
    proc = child(LOOPING_CHILD, TOKENS)
    wait_line(proc, "ready")
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the child did not stop on SIGTERM within 20 s")
    expect(proc.returncode == 143, f"exit {proc.returncode}: {err}")
    expect("finally ran" in out, f"the finally block did not run: {out}")
    expect("Traceback" not in err, f"SIGTERM printed a traceback: {err}")


def test_ctrl_c_raises_keyboard_interrupt():
    proc = child(LOOPING_CHILD, TOKENS)
    wait_line(proc, "ready")
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    expect(proc.returncode != 0 and "KeyboardInterrupt" in err, f"{proc.returncode}: {err}")
    expect("finally ran" in out, f"the finally block did not run: {out}")


def test_kill_9_leaves_no_shared_memory():
    shm_before = set(os.listdir("/dev/shm"))
    proc = child(LOOPING_CHILD, TOKENS)
    wait_line(proc, "ready")
    with open(f"/proc/{proc.pid}/maps") as f:
        expect("memfd:zenith-data.rank0" in f.read(), "the child has no arena mapped")
    proc.kill()
    proc.wait(timeout=20)
    time.sleep(0.2)
    expect(proc.pid not in mappers(), "the killed child still maps its arena")
    expect(set(os.listdir("/dev/shm")) == shm_before, "/dev/shm changed")


def test_a_forked_child_cannot_take_batches():
    loader = zd.Loader(TOKENS, batch_size=4, seq_len=SEQ, output="numpy")
    it = iter(loader)
    kept = next(it)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            next(iter(loader))
        except zd.Error as e:
            code = 0 if "forked" in str(e) else 2
        finally:
            del kept  # must not give the parent's slot back
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    expect(os.waitstatus_to_exitcode(status) == 0, f"the child exited {status}")
    expect(loader.stats()["held"] == 1, "the child gave the parent's slot back")
    expect(sum(1 for _ in it) > 0, "the parent cannot go on after the fork")


def test_two_threads_on_one_loader_are_refused():
    loader = zd.Loader(f"path={RECORDS},record=4K", batch_size=1, slots=2, output="numpy",
                       epochs=0)
    it = loader.batches()
    held = [next(it), next(it)]  # every slot: the next call waits inside next()
    errors = []

    def waiter():
        try:
            loader._stream.next(2.0)
        except TimeoutError:
            pass
        except Exception as e:  # noqa: BLE001 -- reported below
            errors.append(e)

    raises(zd.Error, "holds all 2 batches", lambda: loader._stream.next(0.1))
    del held
    gc.collect()
    t = threading.Thread(target=waiter)
    t.start()
    t.join()
    expect(not errors, f"{errors}")


def test_service_mode_checks_the_arguments():
    zenith_run = os.path.join(os.environ["ZENITH_BUILDDIR"], "launcher", "zenith-run")
    code = textwrap.dedent("""
        import zenith.data as zd
        loader = zd.Loader(output="numpy")
        print("batches", sum(1 for _ in loader), "len", len(loader))
        try:
            zd.Loader("path=/elsewhere.bin", batch_size=8)
        except zd.Error as e:
            print("second:", e)
        loader.close()
        try:
            zd.Loader(batch_size=8)
        except zd.Error as e:
            print("mismatch:", e)
    """)
    out = subprocess.run([zenith_run, "--data", f"path={TOKENS},seq_len={SEQ},batch=4",
                          sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    expect(out.returncode == 0, f"exit {out.returncode}: {out.stderr}")
    # The service pads (its SPEC's drop_last=0), and the Loader follows it: 25 batches and
    # the short one.
    expect("batches 26 len 26" in out.stdout, out.stdout)
    expect("second: zenith: data: this process has a Loader" in out.stdout, out.stdout)
    expect("mismatch: zenith: data: this Loader asks for batch_size=8 (the service has batch=4)"
           in out.stdout, out.stdout)


# ---------------------------------------------------------------------------- runner

def main():
    tests = [(n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)]
    only = set(sys.argv[1:])
    failed = 0
    for name, fn in tests:
        if only and name not in only:
            continue
        t0 = time.monotonic()
        try:
            fn()
            print(f"PASS: {name} ({time.monotonic() - t0:.2f} s)", flush=True)
        except Exception:  # noqa: BLE001 -- every failure is reported, then counted
            failed += 1
            print(f"FAIL: {name}", flush=True)
            traceback.print_exc()
        gc.collect()
    shutil.rmtree(WORK, ignore_errors=True)
    print(f"{len(tests) - failed} of {len(tests)} passed" if not only else "", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
