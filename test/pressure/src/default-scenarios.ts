// The scenarios of `--scenarios default` (what `make bench` runs), in the
// scenario-file format of scenarios.ts: NAME then the tool's own options.
export const DEFAULT_SCENARIOS_TEXT = `# name      options (command-line options override them)
latency-5k  --pairs 50 --rate 5000 --duration 20
throughput  --pairs 100 --rate 0 --window 64 --duration 20
latency-1k  --pairs 50 --rate 1000 --duration 15
offline     --mode offline --pairs 100 --messages 200
`;
