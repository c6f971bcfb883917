#!/usr/bin/env node
// Re-renders the benchmark plot from its raw points:
//   node test/pressure/dist/plot-main.js [docs/bench-plot.json [docs/bench-plot.svg]]
import { renderPointsFile, svgPathFor } from './bench-plot';

const [pointsFile = 'docs/bench-plot.json', svgFile = svgPathFor(pointsFile)] = process.argv.slice(2);
renderPointsFile(pointsFile, svgFile).then(
  (written) => process.stdout.write(`plot written to ${written}\n`),
  (err: unknown) => {
    process.stderr.write(`plot: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
