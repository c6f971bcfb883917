// The scenarios of `--scenarios default` (what `make bench` runs), in the
// scenario-file format of scenarios.ts: NAME then the tool's own options.
export const DEFAULT_SCENARIOS_TEXT = `# name      options (command-line options override them)
latency-5k  --pairs 50 --rate 5000 --duration 20
throughput  --pairs 100 --rate 0 --window 64 --duration 20
latency-1k  --pairs 50 --rate 1000 --duration 15
offline     --mode offline --pairs 100 --messages 200
# --mode group: one 2,000-member group (users grp-0001..., shared by these scenarios, which keep the members
# logged in from one to the next, so "none online" comes first); the seed's group table
group-2000-offline-5      --mode group --users-prefix grp- --members 2000 --online none --rate 5 --duration 10
group-2000-online-1       --mode group --users-prefix grp- --members 2000 --online all --rate 1 --duration 10
group-2000-online-2       --mode group --users-prefix grp- --members 2000 --online all --rate 2 --duration 10
group-2000-online-5       --mode group --users-prefix grp- --members 2000 --online all --rate 5 --duration 10 --drain 20
group-2000-max            --mode group --users-prefix grp- --members 2000 --online all --rate 0 --window 8 --duration 10
group-2000-max-nocontrol  --mode group --users-prefix grp- --members 2000 --online all --rate 0 --window 8 --duration 10 --group-push-control off
`;
