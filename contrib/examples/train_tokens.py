# SPDX-License-Identifier: GPL-2.0-or-later
"""A byte-level language model trained with PyTorch DDP (gloo, CPU) on a token file read by
zenith.data, with no rendezvous code of its own (init_process_group reads the env:// contract
zenith-run exports). Either zenith-run's data service reads each rank's share ahead:

    srun --mpi=pmix zenith-run --data path=train.bin,seq_len=64,batch=16,seed=1,epochs=0 \\
        /usr/bin/python3 train_tokens.py --steps 60

or the program gives the SPEC itself and the same engine runs in each rank's process:

    srun --mpi=pmix zenith-run /usr/bin/python3 train_tokens.py --data path=train.bin,seed=1

(make_tokens.py writes such a file.) Every rank prints `rank R/W step S loss L` every
--print-every steps and `rank R/W first-loss X last-loss Y` at the end. --ids FILE writes
FILE.RANK, a line `STEP EPOCH ID` for every sample a step trained on; --save-state FILE writes
FILE.RANK, the Loader's state_dict() and those ids as JSON (and FILE.model, the weights);
--resume FILE continues from FILE.RANK (under the data service, start zenith-run with
--data ...,epoch=E,consumed=C from that state: the service cannot move).
"""
import argparse
import datetime
import json
import os
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

import zenith.data


class ByteGRU(torch.nn.Module):
    def __init__(self, dim=32, hidden=64):
        super().__init__()
        self.embed = torch.nn.Embedding(256, dim)
        self.rnn = torch.nn.GRU(dim, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, 256)

    def forward(self, x):
        h, _ = self.rnn(self.embed(x))
        return self.head(h)


def per_rank(path, rank):
    return f"{path}.{rank}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", metavar="SPEC",
                    help="zenith-data(7) SPEC for the in-process engine (ignored under "
                         "zenith-run --data, whose SPEC decides)")
    ap.add_argument("--batch", type=int, help="samples per batch (in-process default 16)")
    ap.add_argument("--seq-len", type=int, help="tokens per window (in-process default 64)")
    ap.add_argument("--keep-short", action="store_true",
                    help="also train on an epoch's short last batch (the Loader drops it)")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--print-every", type=int, default=10)
    ap.add_argument("--ids", metavar="FILE")
    ap.add_argument("--save-state", metavar="FILE")
    ap.add_argument("--resume", metavar="FILE")
    ap.add_argument("--timeout", type=float, default=120,
                    help="seconds to wait for the other ranks and for a batch")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rank_env = f"rank {os.environ.get('RANK', '0')}/{os.environ.get('WORLD_SIZE', '1')}"

    # The data first: a file every rank finds damaged fails every rank here, before any rank
    # waits for the others in the rendezvous.
    try:
        if "ZENITH_DATAPLANE_FD" in os.environ:
            loader = zenith.data.Loader(batch_size=args.batch, seq_len=args.seq_len,
                                        drop_last=not args.keep_short, timeout=args.timeout)
        else:
            if not args.data:
                raise zenith.data.Error("zenith: data: no data: run under zenith-run --data "
                                        "SPEC or give --data SPEC")
            loader = zenith.data.Loader(args.data, batch_size=args.batch or 16,
                                        seq_len=args.seq_len or 64,
                                        drop_last=False if args.keep_short else None,
                                        timeout=args.timeout)
        start_step, resumed_ids = 0, []
        if args.resume:
            with open(per_rank(args.resume, loader.rank)) as f:
                saved = json.load(f)
            loader.load_state_dict(saved["state"])
            start_step = saved["step"]
    except (zenith.data.Error, OSError, ValueError, KeyError) as e:
        print(f"train_tokens: {rank_env}: {e}", file=sys.stderr, flush=True)
        return 1
    if loader.info["format"] not in ("tokens", "megatron"):
        print(f"train_tokens: {rank_env}: the data is {loader.info['format']}, not tokens",
              file=sys.stderr)
        return 1

    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=args.timeout))
    rank, world = dist.get_rank(), dist.get_world_size()
    if (rank, world) != (loader.rank, loader.world_size):
        print(f"train_tokens: rank {rank}/{world}: the Loader is rank "
              f"{loader.rank}/{loader.world_size}'s", file=sys.stderr)
        return 1
    torch.manual_seed(0)  # the same initial weights everywhere (DDP broadcasts rank 0's too)
    model = ByteGRU()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    if args.resume and os.path.exists(args.resume + ".model"):
        saved_model = torch.load(args.resume + ".model")
        model.load_state_dict(saved_model["model"])
        opt.load_state_dict(saved_model["opt"])
    ddp = DistributedDataParallel(model)

    ids_out = open(per_rank(args.ids, rank), "w") if args.ids else None
    taken = []
    step, first, last = start_step, None, None
    try:
        while step < args.steps:
            for raw in loader.batches():
                w = loader.convert(raw)  # int64 [samples, seq_len+1]: a copy, so
                epoch, ids = raw.epoch, raw.ids()
                del raw  # the slot goes back to the reader now
                x, y = w[:, :-1], w[:, 1:]
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(ddp(x).reshape(-1, 256), y.reshape(-1))
                loss.backward()
                opt.step()
                last = loss.item()
                if first is None:
                    first = last
                taken += ids
                if ids_out:
                    ids_out.writelines(f"{step} {epoch} {i}\n" for i in ids)
                if step % args.print_every == 0 or step == args.steps - 1:
                    print(f"rank {rank}/{world} step {step} loss {last:.3f}", flush=True)
                step += 1
                if step >= args.steps:
                    break
    except zenith.data.Error as e:  # the data ran out (epochs=), or a file went bad
        print(f"train_tokens: rank {rank}/{world}: {e}", file=sys.stderr, flush=True)
        return 1
    if ids_out:
        ids_out.close()
    if args.save_state:
        with open(per_rank(args.save_state, rank), "w") as f:
            json.dump({"step": step, "state": loader.state_dict(), "ids": taken}, f)
        if rank == 0:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict()},
                       args.save_state + ".model")
    stats = loader.stats()
    loader.close()
    dist.barrier()
    if first is None:
        print(f"rank {rank}/{world} trained no step", flush=True)
    else:
        print(f"rank {rank}/{world} first-loss {first:.3f} last-loss {last:.3f} "
              f"stall {stats['stall_s']:.3f}s", flush=True)
    dist.destroy_process_group()
    return 0 if first is not None else 1


if __name__ == "__main__":
    sys.exit(main())
