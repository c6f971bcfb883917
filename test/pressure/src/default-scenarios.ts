// The built-in scenario lists, in the scenario-file format of scenarios.ts:
// NAME then the tool's own options. `--scenarios default` is what `make bench`
// runs (about 15 minutes on a 2-core machine); `--scenarios sweep` adds the plot's
// offered-load points (make bench ARGS="--scenarios sweep").
export const DEFAULT_SCENARIOS_TEXT = `# name      options (command-line options override them)
latency-5k  --pairs 50 --rate 5000 --duration 20
throughput  --pairs 100 --rate 0 --window 64 --duration 20
latency-1k  --pairs 50 --rate 1000 --duration 15
offline     --mode offline --pairs 100 --messages 200
# --mode logins: login cost (200 in flight, 10 % wrong passwords); --mode idle-conns: memory per idle connection
logins      --mode logins --users 1000 --concurrency 200 --wrong-ratio 0.1 --duration 15
idle-conns  --mode idle-conns --conns 2000 --duration 35
# --mode group: one 2,000-member group (users grp-0001..., shared by these scenarios, which keep the members
# logged in from one to the next, so "none online" comes first); the seed's group table
group-2000-offline-5      --mode group --users-prefix grp- --members 2000 --online none --rate 5 --duration 10
group-2000-online-1       --mode group --users-prefix grp- --members 2000 --online all --rate 1 --duration 10
group-2000-online-2       --mode group --users-prefix grp- --members 2000 --online all --rate 2 --duration 10
group-2000-online-5       --mode group --users-prefix grp- --members 2000 --online all --rate 5 --duration 10 --drain 20
group-2000-max            --mode group --users-prefix grp- --members 2000 --online all --rate 0 --window 8 --duration 10
# Default settings, flood control included (--msg-rate-limit default: a cluster as make up runs it); 8 senders keep
# each under the 20 msg/s per connection at 100 msg/s; the drain shows whether everything arrives
group-2000-default-2      --mode group --users-prefix grp- --members 2000 --senders 8 --rate 2 --duration 10 --drain 30 --msg-rate-limit default --plot-series group-2000-default
group-2000-default-20     --mode group --users-prefix grp- --members 2000 --senders 8 --rate 20 --duration 10 --drain 60 --msg-rate-limit default --plot-series group-2000-default
group-2000-default-100    --mode group --users-prefix grp- --members 2000 --senders 8 --rate 100 --duration 5 --drain 90 --msg-rate-limit default --plot-series group-2000-default
# 2,000 connections (the group's users, already rehashed), 15 msg/s each to a partner, placed by the login server's
# /msg_server, flood control at its default
many-conns  --pairs 1000 --users-prefix grp- --rate 30000 --duration 20 --drain 30 --via-login --msg-rate-limit default --plot-series many-conns
group-2000-max-nocontrol  --mode group --users-prefix grp- --members 2000 --online all --rate 0 --window 8 --duration 10 --group-push-control off
`;

/** `--scenarios sweep`: the offered-load points of docs/bench-plot.svg (1:1 and group), about 12 minutes. */
export const SWEEP_SCENARIOS_TEXT = `# name      options (command-line options override them)
many-conns-5k   --pairs 1000 --users-prefix grp- --rate 5000 --duration 15 --drain 30 --via-login --msg-rate-limit default --plot-series many-conns
many-conns-10k  --pairs 1000 --users-prefix grp- --rate 10000 --duration 15 --drain 30 --via-login --msg-rate-limit default --plot-series many-conns
many-conns-15k  --pairs 1000 --users-prefix grp- --rate 15000 --duration 15 --drain 30 --via-login --msg-rate-limit default --plot-series many-conns
many-conns-20k  --pairs 1000 --users-prefix grp- --rate 20000 --duration 15 --drain 30 --via-login --msg-rate-limit default --plot-series many-conns
many-conns      --pairs 1000 --users-prefix grp- --rate 30000 --duration 20 --drain 30 --via-login --msg-rate-limit default --plot-series many-conns
group-2000-default-2      --mode group --users-prefix grp- --members 2000 --senders 8 --rate 2 --duration 10 --drain 30 --msg-rate-limit default --plot-series group-2000-default
group-2000-default-20     --mode group --users-prefix grp- --members 2000 --senders 8 --rate 20 --duration 10 --drain 60 --msg-rate-limit default --plot-series group-2000-default
group-2000-default-100    --mode group --users-prefix grp- --members 2000 --senders 8 --rate 100 --duration 5 --drain 90 --msg-rate-limit default --plot-series group-2000-default
`;

/** The lists --scenarios knows by name. */
export const BUILT_IN_SCENARIOS: Record<string, string> = { default: DEFAULT_SCENARIOS_TEXT, sweep: SWEEP_SCENARIOS_TEXT };
