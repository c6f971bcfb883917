/** What an operation answers: lines for a person, the same as JSON for a program (CLI --json, HTTP API). */
export interface OpsOutput {
  lines: string[];
  json: unknown;
}
