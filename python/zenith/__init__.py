# SPDX-License-Identifier: GPL-2.0-or-later
"""Zenith for Python programs run on Slurm.

zenith.data: batches from Zenith's dataplane (zenith-run --data, or the same engine in this
process) as numpy arrays or torch tensors, without copying. See zenith-data(7).
"""

__all__ = ["data"]
