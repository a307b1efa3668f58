# SPDX-License-Identifier: GPL-2.0-or-later
"""Batches from Zenith's dataplane, ready for PyTorch.

    import zenith.data
    loader = zenith.data.Loader("path=train.bin", batch_size=12, seq_len=1024)
    for epoch in range(3):
        loader.set_epoch(epoch)
        for windows in loader:                  # int64 tensor [12, 1025], rank's share
            x, y = windows[:, :-1], windows[:, 1:]

Under `srun zenith-run --data SPEC python train.py` the Loader takes the batches zenith-run's
data service reads ahead for the rank; without it the same engine runs in this process, with
the rank and world from the env:// contract (RANK, WORLD_SIZE) or the arguments. The batches
live in shared memory: an array or tensor yielded is a view of its slot, and the slot goes back
to the reader when the last object viewing it is freed. See zenith-data(7).
"""

import atexit
import os
import signal
import threading
import weakref

from . import _data

Error = _data.Error
Stream = _data.Stream
Batch = _data.Batch

__all__ = ["Loader", "IterableDataset", "Error", "Terminated", "spec_help"]


class Terminated(SystemExit):
    """SIGTERM (Slurm's scancel, or the time limit) arrived while Zenith's handler was set:
    the loop ends with this exception, `finally` blocks run, and the program exits with 143
    unless it catches it (to save a checkpoint, say)."""

    def __init__(self):
        super().__init__(143)


def spec_help():
    """The SPEC keys, a line each (as zenith-run --help lists them)."""
    return _data.spec_help()


def _on_sigterm(signum, frame):
    raise Terminated()


def _take_sigterm():
    # Only a handler nobody else set, and only from the main thread (Python's rule).
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _on_sigterm)


_open_loaders = weakref.WeakSet()


@atexit.register
def _close_open_loaders():
    for loader in list(_open_loaders):
        loader.close()


def _spec_value(value):
    if value is True:
        return "1"
    if value is False:
        return "0"
    return str(value)


def _env_int(name, default):
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise Error(f"zenith: data: {name}={text} is not a number; fix the environment "
                    "(zenith-run sets it) or pass rank= and world_size=") from None


class Loader:
    """Loader(spec=None, batch_size=None, seq_len=None, shuffle=None, seed=None,
    drop_last=None, *, output="torch", dtype=None, copy=False, timeout=None, rank=None,
    world_size=None, handle_sigterm=True, **keys)

    spec: SPEC text as zenith-run --data takes it ("path=train.bin,seq_len=1024"), or just a
    path. The named arguments and **keys (any SPEC key: record="4K", slots=16, windows="random",
    async_=0) override the SPEC's keys. Unset, shuffle is on, seed 0, drop_last on.

    Under zenith-run --data the service's SPEC decides; the arguments given are checked against
    it. Iterating yields one epoch of this rank's share. output="torch" gives tensors
    (token windows int64 [batch, seq_len+1], records uint8 [batch, record]), "numpy" arrays in
    the file's dtype; WebDataset samples are dicts of memoryviews either way. copy=True copies
    each batch out of shared memory and gives its slot back at once.
    """

    def __init__(self, spec=None, batch_size=None, seq_len=None, shuffle=None, seed=None,
                 drop_last=None, *, output="torch", dtype=None, copy=False, timeout=None,
                 rank=None, world_size=None, handle_sigterm=True, **keys):
        if output not in ("torch", "numpy"):
            raise ValueError(f"zenith: data: output={output!r} is not valid; expected 'torch' "
                             "or 'numpy'")
        if spec is not None and not isinstance(spec, str):
            spec = os.fspath(spec)
        if spec is not None and "=" not in spec:
            spec = "path=" + spec
        self._np = __import__("numpy")
        self._native = {1: self._np.uint8, 2: self._np.uint16, 4: self._np.uint32}
        self._torch = __import__("torch") if output == "torch" else None
        self._dtype = dtype
        self._copy = bool(copy)
        self.timeout = timeout
        self._stream = None
        self._closed = False
        self._given = {"batch": batch_size, "seq_len": seq_len, "seed": seed}
        self._service = spec is None or "ZENITH_DATAPLANE_FD" in os.environ
        if self._service:
            if "ZENITH_DATAPLANE_FD" not in os.environ:
                raise Error("zenith: data: no SPEC and no data service; give the Loader a SPEC "
                            "(\"path=train.bin,seq_len=1024\") or run the program as "
                            "zenith-run --data SPEC")
            if any(other._service and not other._closed for other in _open_loaders):
                raise Error("zenith: data: this process has a Loader on zenith-run's data "
                            "service already, and two would split its batches; use that one, "
                            "or close it first")
            self._stream = Stream(None, what="ZENITH_DATAPLANE_FD")
            self.info = self._stream.info()
            self._check_service(rank, world_size)
        else:
            overrides = {"batch": batch_size, "seq_len": seq_len, "shuffle": shuffle,
                         "seed": seed, "drop_last": drop_last}
            for key, value in keys.items():
                overrides[key.rstrip("_")] = value
            if drop_last is None and not _data.spec_has_key(spec, "drop_last"):
                overrides["drop_last"] = True
            # Iteration ends at each epoch's last batch; the engine runs on into the next.
            if not _data.spec_has_key(spec, "epochs") and "epochs" not in overrides:
                overrides["epochs"] = 0
            text = ",".join(f"{k}={_spec_value(v)}" for k, v in overrides.items()
                            if v is not None)
            self._spec = _data.spec_merge(spec, text)
            self.rank = _env_int("RANK", 0) if rank is None else int(rank)
            self.world_size = _env_int("WORLD_SIZE", 1) if world_size is None else int(world_size)
            self._open(self._spec)
        self.rank, self.world_size = self.info["rank"], self.info["world"]
        # Unset, partial batches go as the SPEC's tail does: the service's, or the Loader's
        # default (drop_last=1) given to the in-process engine.
        self.drop_last = self.info["drop_last"] if drop_last is None else bool(drop_last)
        self.batch_size = self.info["batch"]
        self._epoch = self.info["first_epoch"]
        self._consumed = self.info["first_consumed"]
        self._ended = False
        if handle_sigterm:
            _take_sigterm()
        _open_loaders.add(self)

    # ---------------------------------------------------------------- the stream

    def _open(self, text):
        self._stream = Stream(text, self.rank, self.world_size, "zenith.data.Loader")
        self.info = self._stream.info()

    def _restart(self, epoch, consumed):
        if self._service:
            raise Error(f"zenith: data: the data service zenith-run started cannot move to "
                        f"epoch {epoch} at sample {consumed}; start the step with "
                        f"zenith-run --data ...,epoch={epoch},consumed={consumed} instead")
        self._stream.close()
        self._open(_data.spec_merge(self._spec, f"epoch={epoch},consumed={consumed}"))
        self._epoch, self._consumed = epoch, consumed
        self._ended = False

    def _check_service(self, rank, world_size):
        info = self.info
        wrong = []
        for key, name in (("batch", "batch_size"), ("seq_len", "seq_len"), ("seed", "seed")):
            if self._given[key] is not None and int(self._given[key]) != info[key]:
                wrong.append(f"{name}={self._given[key]} (the service has {key}={info[key]})")
        if rank is not None and int(rank) != info["rank"]:
            wrong.append(f"rank={rank} (the service is rank {info['rank']}'s)")
        if world_size is not None and int(world_size) != info["world"]:
            wrong.append(f"world_size={world_size} (the service's world is {info['world']})")
        if wrong:
            raise Error("zenith: data: this Loader asks for " + ", ".join(wrong) +
                        "; make zenith-run --data and the Loader agree, or leave those "
                        "arguments out")

    # ---------------------------------------------------------------- iteration

    def batches(self):
        """This epoch's raw Batch objects (buffers over their slots, with ids(), epoch,
        consumed, ...): the batches the loop yields, before convert()."""
        self._usable()
        first = True
        while not self._ended:
            batch = self._stream.next(self.timeout)
            if batch is None:
                self._ended = True
                break
            first = False
            if batch.last:
                self._epoch, self._consumed = batch.epoch + 1, 0
            else:
                self._epoch, self._consumed = batch.epoch, batch.consumed
            last = batch.last
            if not (self.drop_last and last and batch.samples + batch.skipped < self.batch_size):
                yield batch
            del batch
            if last:
                return
        if first:
            # An empty loop is a training run that silently does nothing.
            where = ("start the step with zenith-run --data ...,epochs=0 (no end) or more "
                     "epochs" if self._service else "leave epochs= out (no end) or give more")
            raise Error(f"zenith: data: every epoch was delivered already "
                        f"(epochs={self.info['epochs']} from epoch {self.info['first_epoch']}); "
                        f"{where}")

    def __iter__(self):
        for batch in self.batches():
            out = self.convert(batch)
            del batch
            yield out

    def __len__(self):
        """Batches the next (or current) epoch's loop yields on this rank."""
        info = self.info
        samples = (info["rank_samples_first_epoch"] if self._epoch == info["first_epoch"]
                   else info["rank_samples_per_epoch"])
        if self.drop_last:
            return samples // self.batch_size
        return -(-samples // self.batch_size)

    def _usable(self):
        if self._closed:
            raise ValueError("zenith: data: the Loader is closed")

    # ---------------------------------------------------------------- batches as arrays

    def _rows(self, batch, itemsize, dtype):
        """The batch's samples as one [n, length] array over the slot (strided when direct=1
        put each on a 4 KiB boundary), or a list of arrays when they differ in length."""
        np = self._np
        rows = batch.rows()
        if rows is not None:
            first, stride, length = rows
            return np.ndarray((batch.samples, length // itemsize), dtype=dtype, buffer=batch,
                              offset=first, strides=(stride, itemsize))
        view = memoryview(batch)
        return [np.frombuffer(view[off:off + size], dtype=dtype) for off, size in batch.extents()]

    def convert(self, batch):
        """What iterating yields for a raw Batch of batches(): an array or tensor over its slot
        (or a copy with copy=True), or tar samples; batch.ids() gives the samples' numbers."""
        fmt = self.info["format"]
        if fmt == "tar":
            return self._samples(batch)
        itemsize = self.info["item_bytes"]
        rows = self._rows(batch, itemsize, self._native[itemsize])
        if self._torch is None:
            if isinstance(rows, list):
                return [self._numpy(r) for r in rows]
            return self._numpy(rows)
        return self._tensor(rows, fmt)

    def _numpy(self, rows):
        if self._dtype is not None:
            return rows.astype(self._dtype)
        return rows.copy() if self._copy else rows

    def _tensor(self, rows, fmt):
        torch = self._torch
        dtype = self._dtype
        if isinstance(rows, list):
            return [self._tensor(r, fmt) for r in rows]
        if dtype is None:
            dtype = torch.uint8 if fmt == "records" else torch.int64
        if rows.dtype == self._np.uint8 and dtype == torch.uint8:
            t = torch.from_numpy(rows)
        elif rows.dtype == self._np.uint32 and dtype == torch.int32:
            t = torch.from_numpy(rows.view(self._np.int32))
        else:
            # torch has no uint16 (nor uint32): wider integers are a copy anyway.
            return torch.from_numpy(rows.astype(self._np.int64)).to(dtype)
        return t.clone() if self._copy else t

    def _samples(self, batch):
        view = memoryview(batch)
        ids = batch.ids()
        samples = [{"__id__": i} for i in ids]
        for sample, name, off, size in batch.members():
            part = view[off:off + size]
            samples[sample][name] = bytes(part) if self._copy else part
        return samples

    # ---------------------------------------------------------------- epochs and resume

    def set_epoch(self, epoch):
        """Deliver epoch `epoch` next, from its start (as DistributedSampler.set_epoch). A
        no-op when the loader is there already."""
        epoch = int(epoch)
        self._usable()
        if epoch == self._epoch and self._consumed == 0 and not self._ended:
            return
        self._restart(epoch, 0)

    def state_dict(self):
        """Where the order stands after the batches yielded so far: enough to continue it
        exactly, on any number of ranks."""
        return {"epoch": self._epoch, "consumed": self._consumed, "seed": self.info["seed"],
                "samples_per_epoch": self.info["samples_per_epoch"],
                "world_size": self.world_size, "batch_size": self.batch_size}

    def load_state_dict(self, state):
        """Continue from a state_dict(): the next batch is the one that would have followed."""
        self._usable()
        for key in ("seed", "samples_per_epoch"):
            if key in state and state[key] != self.info[key]:
                raise Error(f"zenith: data: the saved state has {key}={state[key]}, this "
                            f"Loader's data has {key}={self.info[key]}; resume with the same "
                            "data and seed")
        epoch, consumed = int(state["epoch"]), int(state["consumed"])
        if (self._service and epoch == self.info["first_epoch"] and
                consumed == self.info["first_consumed"] and self._stream.stats()["batches"] == 0):
            return
        if epoch == self._epoch and consumed == self._consumed and not self._ended:
            return
        self._restart(epoch, consumed)

    # ---------------------------------------------------------------- the rest

    def stats(self):
        """samples/s, bytes/s, stall seconds (time this process waited for a batch), ..."""
        self._usable()
        return self._stream.stats()

    def close(self):
        """Stop the in-process reader. Batches still held stay valid until freed."""
        if self._closed:
            return
        self._closed = True
        _open_loaders.discard(self)
        if self._stream is not None:
            self._stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        where = "zenith-run's data service" if self._service else "in-process engine"
        return (f"<zenith.data.Loader {self.info['format']} batch={self.batch_size} "
                f"rank={self.rank}/{self.world_size} from {where}>")


def IterableDataset(loader):
    """A torch.utils.data.IterableDataset over a Loader, for code that keeps a DataLoader
    shell: DataLoader(IterableDataset(loader), batch_size=None, num_workers=0)."""
    import torch.utils.data

    class _ZenithDataset(torch.utils.data.IterableDataset):
        def __iter__(self):
            if torch.utils.data.get_worker_info() is not None:
                raise Error("zenith: data: a Zenith Loader reads ahead itself; use the "
                            "DataLoader with num_workers=0 (and batch_size=None)")
            return iter(loader)

        def __len__(self):
            return len(loader)

    return _ZenithDataset()
