#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/trace-replay's command line: the plan of a slice (from a small trace written here, and
# from the shared Philly trace when present), the scoring of job completion logs as slurmctld's
# jobcomp/filetxt writes them, and the refusal of every kind of bad input with its file and line.
set -u
replay="${ZENITH_BUILDDIR:-.}/bench/trace-replay"
cli=$replay
dir="${TMPDIR:-/tmp}/zenith-trace-replay-cli-$$"
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT

check 0 "trace-replay plan [--from S]" "--help" --help
check 2 "takes plan or score first" "no verb" frob
check 2 "--time-scale" "a scale of 0" plan --time-scale 0 x.csv
check 2 "--from takes a whole number" "a negative start" plan --from -5 x.csv
check 2 "--span takes 1 second or more" "an empty slice" plan --span 0 x.csv
check 2 "unknown option --frob" "unknown option" plan --frob x.csv
check 2 "takes one trace file" "plan without a trace" plan
check 2 "needs --nodes, --topology" "score without its files" score plan

# A trace of five jobs: two one-node jobs, one 16-GPU job (2 nodes x 8), one 4-GPU job outside
# the slice, one 1-GPU job.
header=job_id,user,num_gpu,submit_time,iterations,model_name,duration,interval,expect_time_list,expect_value_list,best_effort,job_type
cat >"$dir/trace.csv" <<EOF
$header
1,vc_a,1,100,10,vgg16,40,1,1,1,0,strict
2,vc_a,16,105,10,vgg16,300,1,1,1,0,strict
3,vc_b,8,110,10,resnet,4,1,1,1,0,strict
4,vc_b,4,500,10,resnet,30,1,1,1,0,strict
5,vc_c,1,120,10,alexnet,20,1,1,1,0,strict
EOF
check 0 "3 jobs, 1 multi-node (all of the window's), 2 one-node (1 in 2)" "slice summary" \
    plan --from 100 --span 100 --one-node-every 2 --nodes 4 "$dir/trace.csv"
"$replay" plan --from 100 --span 100 --one-node-every 2 --nodes 4 "$dir/trace.csv" >"$dir/plan"
# Job 1 at 0 ms for 4 s; job 2 at 500 ms, 2x8 GPUs, 30 s; job 3 dropped (1 in 2 one-node jobs);
# job 5 at 2000 ms for 2 s. Time limits: a minute covers each run and its start.
expect="philly-1 0 1 1 4 1 1
philly-2 500 2 8 30 1 2
philly-5 2000 1 1 2 1 5"
if [ "$(grep -v '^#' "$dir/plan")" = "$expect" ]; then
    passed=$((passed + 1)); echo "ok - plan lines"
else
    failed=$((failed + 1)); echo "not ok - plan lines: $(cat "$dir/plan")"
fi
check 1 "no GPU job of" "an empty window" plan --from 1000 "$dir/trace.csv"
# No row with a GPU at all: refused before the (empty) job list is sorted.
printf '%s\n1,vc_a,0,100,10,vgg16,40,1,1,1,0,strict\n' "$header" >"$dir/nogpu.csv"
check 1 "nogpu.csv has no job with GPUs" "a trace without GPU jobs" plan "$dir/nogpu.csv"
printf '%s\n1,vc_a,1,100,10,vgg16,forty,1,1,1,0,strict\n' "$header" >"$dir/bad.csv"
check 1 "bad.csv:2: duration \"forty\" is not a whole number" "a bad trace line" plan "$dir/bad.csv"
printf '%s\n1,vc_a,64,100,10,vgg16,4,1,1,1,0,strict\n' "$header" >"$dir/big.csv"
check 1 "needs 8 nodes with 8 GPUs and the replay cluster has 4" "a job larger than the cluster" \
    plan --nodes 4 "$dir/big.csv"

# Logs of two runs of that plan on 4 nodes under two leaves, as jobcomp/filetxt writes them.
printf 'SwitchName=leaf1 Nodes=zb[1-2]\nSwitchName=leaf2 Nodes=zb[3-4]\nSwitchName=spine Switches=leaf[1-2]\n' \
    >"$dir/topology.conf"
record() { # id name state submit start end nodelist nodecount
    echo "JobId=$1 UserId=root(0) GroupId=root(0) Name=$2 JobState=$3 Partition=main TimeLimit=1 StartTime=2026-12-01T10:00:$5 EndTime=2026-12-01T10:00:$6 NodeList=$7 NodeCnt=$8 ProcCnt=2 WorkDir=/tmp ReservationName= Tres=cpu=2,mem=2G,node=1,billing=2 Account= QOS= WcKey= Cluster=unknown SubmitTime=2026-12-01T10:00:$4 EligibleTime=2026-12-01T10:00:$4 DerivedExitCode=0:0 ExitCode=0:0 "
}
# Stock: job 1 on zb1, the gang across the leaves (zb2, zb3) after waiting 2 s, job 5 on zb1.
{
    record 1 philly-1 COMPLETED 00 00 04 zb1 1
    record 2 philly-2 COMPLETED 00 02 32 'zb[2-3]' 2
    record 3 philly-5 COMPLETED 02 02 04 zb1 1
} >"$dir/stock.log"
# Zenith: the gang inside leaf2 at once, the one-node jobs on zb1.
{
    record 1 philly-1 COMPLETED 00 00 04 zb1 1
    record 3 philly-5 COMPLETED 02 02 04 zb1 1
    record 2 philly-2 COMPLETED 00 00 30 'zb[3-4]' 2
} >"$dir/zenith.log"
score() { # extra arguments, then the two logs
    "$replay" score --nodes 'zb[1-4]' --topology "$dir/topology.conf" "$@"
}
cli_score() { score --time-scale 10 "$dir/plan" "$@"; }
cli=cli_score
# Stock: one-leaf 0 of 1; waits 0, 2, 0 -> mean 0.7, p95 2; stranded: zb1 has 7 of 8 GPUs free
# for 2 s, then 6 for 2 s (26 GPU-s = 0.01 GPU-h; 14 GPU-s until the last arrival at 2 s); the
# gang fills its nodes.
check 0 "stock:  3 jobs; 1 multi-node, 0 (0.0%) inside one leaf switch; wait mean 0.7 s, p95 2 s; stranded 0.01 GPU-h, 0.00 while jobs arrive; makespan 32 s" \
    "stock metrics" "$dir/stock.log" "$dir/zenith.log"
check 0 "zenith: 3 jobs; 1 multi-node, 1 (100.0%) inside one leaf switch; wait mean 0.0 s, p95 0 s" \
    "zenith metrics" "$dir/stock.log" "$dir/zenith.log"
check 0 "zenith/stock: one-leaf share n/a, wait mean 0.000, wait p95 0.000, stranded GPU-h 1.000 (1.000 while jobs arrive), makespan 0.938" \
    "ratios" "$dir/stock.log" "$dir/zenith.log"
# Per request shape: the two 1-GPU jobs waited 0 s in both runs, the gang 2 s under stock.
check 0 "wait mean by request (nodes x GPUs: s, jobs): 1x1: 0.0 (2), 2x8: 2.0 (1)" \
    "waits per request shape" "$dir/stock.log" "$dir/zenith.log"
# Two runs of one policy scored against each other: the noise of a repeat, labelled as such.
check 0 "stock-2/stock-1: one-leaf share n/a" "runs named by --names" \
    --names stock-1,stock-2 "$dir/stock.log" "$dir/stock.log"
check 0 "stock-1: 3 jobs" "the first run's label" --names stock-1,stock-2 "$dir/stock.log" "$dir/stock.log"
check 2 "--names takes two names of 1 to 31 characters joined by a comma (stock-1,stock-2), not \"stock\"" \
    "one name" --names stock "$dir/stock.log" "$dir/zenith.log"
check 2 "not \"a,b,c\"" "three names" --names a,b,c "$dir/stock.log" "$dir/zenith.log"
sed 's/philly-5 JobState=COMPLETED/philly-5 JobState=TIMEOUT/' "$dir/stock.log" >"$dir/timeout.log"
check 1 "timeout.log:3: job philly-5 (JobId=3) ended TIMEOUT, not COMPLETED" "a failed job" \
    "$dir/timeout.log" "$dir/zenith.log"
head -n 2 "$dir/zenith.log" >"$dir/short.log"
check 1 "short.log: job philly-2 of the plan has no record; the zenith run did not finish it" \
    "a missing job" "$dir/stock.log" "$dir/short.log"
{ cat "$dir/zenith.log"; record 9 philly-1 COMPLETED 05 05 06 zb4 1; } >"$dir/twice.log"
check 1 "twice.log:4: job philly-1 finished twice" "a job recorded twice" "$dir/stock.log" "$dir/twice.log"
{ cat "$dir/zenith.log"; record 9 other COMPLETED 05 05 06 zb4 1; } >"$dir/other.log"
check 1 "other.log:4: JobId=9 Name=other is not in the plan" "a stranger's job" "$dir/stock.log" "$dir/other.log"
sed 's/NodeList=zb\[3-4\]/NodeList=zb[4-5]/' "$dir/zenith.log" >"$dir/node.log"
check 1 "a node the replay cluster does not have" "an unknown node" "$dir/stock.log" "$dir/node.log"
sed 's/NodeCnt=2/NodeCnt=3/' "$dir/zenith.log" >"$dir/count.log"
check 1 "job philly-2 ran on 3 nodes; the plan has 2" "a wrong node count" "$dir/stock.log" "$dir/count.log"
sed 's/StartTime=2026-12-01T10:00:02/StartTime=yesterday/' "$dir/zenith.log" >"$dir/time.log"
check 1 "time.log:2: job philly-5 has times" "an unreadable time" "$dir/stock.log" "$dir/time.log"
# Both one-node jobs on zb1 at once with 8 GPUs each cannot be one cluster's record.
sed 's/^philly-1 0 1 1/philly-1 0 1 8/; s/^philly-5 2000 1 1/philly-5 2000 1 8/' "$dir/plan" >"$dir/plan8"
cli_overlap() { score "$dir/plan8" "$@"; }
cli=cli_overlap
check 1 "job philly-5 starts on zb1 with 0 of its 8 GPUs free" "overlapping records" \
    "$dir/stock.log" "$dir/zenith.log"
cli=cli_score
sed '/Name=philly-2 /s/Tres=cpu=2,mem=2G,node=1,billing=2/Tres=cpu=2,node=2,gres\/gpu=8/' "$dir/zenith.log" >"$dir/tres.log"
check 1 "job philly-2 had gres/gpu=8; the plan has 2 x 8" "GPUs in the record that are not the plan's" \
    "$dir/stock.log" "$dir/tres.log"
sed '/Name=philly-2 /s/Tres=cpu=2,mem=2G,node=1,billing=2/Tres=cpu=2,gres\/gpu=16,node=2/' "$dir/zenith.log" >"$dir/tres16.log"
check 0 "zenith: 3 jobs; 1 multi-node, 1 (100.0%)" "GPUs in the record that are the plan's" \
    "$dir/stock.log" "$dir/tres16.log"
echo "not a record" >"$dir/junk.log"
check 1 "junk.log:1: not a jobcomp/filetxt record" "a file of something else" "$dir/stock.log" "$dir/junk.log"
printf 'philly-1 0 1\n' >"$dir/badplan"
cli_badplan() { score "$dir/badplan" "$@"; }
cli=cli_badplan
check 1 "badplan:1: not a plan line" "a damaged plan" "$dir/stock.log" "$dir/zenith.log"
cli=$replay
check 1 "zb9" "a topology naming no node of --nodes leaves nodes outside the leaves" \
    score --nodes 'zb[1-4],zb9' --topology "$dir/topology.conf" "$dir/plan" "$dir/stock.log" "$dir/zenith.log"

# The shared Philly trace, when present: the default slice.
philly="${ZENITH_SHARED_FIXTURES:-}/traces/philly/chronus_trace_job_Philly_MIX1.csv"
if [ -r "$philly" ]; then
    check 0 "306 jobs, 28 multi-node (all of the window's), 278 one-node (1 in 8)" \
        "the default slice of the Philly trace" plan "$philly"
else
    echo "# skipped the Philly slice: no ../shared fixtures"
fi
finish
