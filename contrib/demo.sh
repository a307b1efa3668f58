#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The README's first command: install what is needed, build, start the local 4-node Slurm
# cluster, and run the demo: Zenith's placement planner on this machine and on a real GPU
# server, a multi-node PMIx job that reports where each rank landed, then PyTorch DDP training
# on 4 nodes started with srun zenith-run. The cluster stays up.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/contrib/install-deps.sh"
"$top/contrib/build.sh"
plan="$top/build/tools/zenith-plan"
cluster="$top/contrib/cluster/zenith-cluster"

echo
echo "== This machine, as Zenith sees it"
"$plan"

server="$top/../shared/fixtures/topology/aws-g4dn.metal_2xXeon8259CL_8xT4_EFA_hwloc2.8.xml"
[ -r "$server" ] || server="$top/tests/fixtures/zenith-2s4n-8xH100-4xCX7-smt2.xml"
echo
echo "== A GPU server ($(basename "$server"))"
"$plan" --xml "$server"
echo
echo "== Zenith's plan there for 8 ranks, one per GPU, with 16G of huge pages for the node"
"$plan" --xml "$server" --node gpu-node --tasks 8 --gpus 0-7 --hugepages 16G
echo
echo "== Task 0's environment in that plan"
"$plan" --xml "$server" --tasks 8 --gpus 0-7 --format env | sed -n '2,/^# task 1/p' | sed '$d'

echo
echo "== A local Slurm cluster: 4 nodes with this machine's CPUs and 8 (stand-in) GPUs each,"
echo "   two leaf switches, Zenith's SPANK plugin in plugstack.conf"
"$cluster" up 4
eval "$("$cluster" env)"
export SLURM_CONF
sinfo -N -o '%N %T %G %c'
echo
echo "== A 2-node job: 4 ranks over PMIx, 2 GPUs per node; where each rank landed"
cd /tmp
srun -N2 --ntasks-per-node=2 --gres=gpu:2 --mpi=pmix "$top/build/tests/integration/pmix_hello" | sort -n -k2
echo
echo "== The same job with Zenith's binding report and 8M of huge pages per node"
report=$(mktemp)
srun -N2 --ntasks-per-node=2 --gres=gpu:2 --mpi=pmix --zenith-bind=core,verbose --zenith-hugepages=8M \
    "$top/build/tests/integration/pmix_hello" 2>"$report" | sort -n -k2
echo "-- the binding reports (each node writes its own, on the job's standard error):"
cat "$report"
rm -f "$report"
echo
echo "== PyTorch DDP training (gloo, CPU) on 4 nodes x 2 ranks: srun zenith-run python3 ddp_train.py"
echo "   (the program has no rendezvous code: zenith-run exports the env:// contract)"
demo_dir=$(mktemp -d /tmp/zenith-demo.XXXXXX)
chmod 755 "$demo_dir"
cp "$top/contrib/examples/ddp_train.py" "$demo_dir/"
srun -N4 --ntasks-per-node=2 --mpi=pmix "$top/build/launcher/zenith-run" --verbose \
    /usr/bin/python3 "$demo_dir/ddp_train.py" >"$demo_dir/out" 2>"$demo_dir/err"
grep '^zenith: rank 0 (' "$demo_dir/err"
sort -t/ -k1.6n "$demo_dir/out"
echo
echo "== The data service: 2 nodes x 2 ranks, each reading its share of a token file ahead into"
echo "   shared memory (zenith-run --data); a C consumer checks every window it gets"
/usr/bin/python3 -c "
import array, sys
array.array('H', (t % 65521 for t in range(1024 * 20000 + 1))).tofile(open(sys.argv[1], 'wb'))" \
    "$demo_dir/train.bin"
chmod 644 "$demo_dir/train.bin"
srun -N2 --ntasks-per-node=2 --mpi=pmix "$top/build/launcher/zenith-run" \
    --data "path=$demo_dir/train.bin,seq_len=1024,batch=16,seed=1" \
    "$top/build/tests/integration/dp_check" "$demo_dir/ids" | sort -k3n
echo "-- samples over all ranks: $(cat "$demo_dir"/ids.* | wc -l), distinct: $(cat "$demo_dir"/ids.* | sort -u | wc -l)"
echo
echo "== zenith.data in PyTorch: a byte-level model trained with DDP on 4 nodes x 2 ranks, on"
echo "   tokens made from Debian's license texts, each rank's batches read by zenith-run --data"
/usr/bin/python3 "$top/contrib/examples/make_tokens.py" "$demo_dir/licenses.bin"
chmod 644 "$demo_dir/licenses.bin"
PYTHONPATH="$top/build/python" srun -N4 --ntasks-per-node=2 --mpi=pmix "$top/build/launcher/zenith-run" \
    --data "path=$demo_dir/licenses.bin,seq_len=64,batch=16,seed=1,epochs=0" \
    /usr/bin/python3 "$top/contrib/examples/train_tokens.py" --steps 60 --print-every 20 |
    sort -s -k2,2n
rm -rf "$demo_dir"
echo
echo "The cluster stays up: eval \"\$($cluster env)\" to use it, '$cluster down' to stop it."
