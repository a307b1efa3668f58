# SPDX-License-Identifier: GPL-2.0-or-later
"""A real PyTorch DDP program with no rendezvous code of its own: init_process_group reads the
env:// contract zenith-run exports. Trains a small model on CPU (gloo) for a few steps, each
rank on its own data, then checks that DDP kept every rank's weights identical and prints
one line per rank with the all-reduced result, which must be the same on every rank."""
import os
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


def main():
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    assert rank == int(os.environ["RANK"]) and world == int(os.environ["WORLD_SIZE"])
    torch.manual_seed(0)  # the same initial weights everywhere
    model = DistributedDataParallel(torch.nn.Linear(16, 4))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(1000 + rank)  # different data on every rank
    for _ in range(int(os.environ.get("STEPS", "5"))):
        x, y = torch.randn(32, 16, generator=gen), torch.randn(32, 4, generator=gen)
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    weights = torch.cat([p.detach().flatten() for p in model.parameters()])
    # Identical weights on every rank: the max of |w - mean over ranks| must be 0.
    mean = weights.clone()
    dist.all_reduce(mean)
    mean /= world
    drift = (weights - mean).abs().max().item()
    total = torch.tensor([weights.sum().item(), float(rank)], dtype=torch.float64)
    dist.all_reduce(total)
    print(f"rank {rank}/{world} local {os.environ['LOCAL_RANK']}/{os.environ['LOCAL_WORLD_SIZE']} "
          f"node {os.environ['NODE_RANK']} drift {drift:.3g} allreduce {total[0].item():.6f} "
          f"ranks {int(total[1].item())}", flush=True)
    dist.destroy_process_group()
    return 0 if drift < 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
