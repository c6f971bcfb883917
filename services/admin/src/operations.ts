// The one operations layer under the CLI and the HTTP API: a parsed command
// in, its answer out, errors as OpsError (errors.ts).
import { type GroupInvocation, type OpsLink, type OpsOutput, runGroupCommand, toOpsError } from '@tiertalk/cluster-ops';
import { runUserCommand, type UserCommand } from './user-ops';

export type AdminCommand = { area: 'group'; group: GroupInvocation } | { area: 'directory'; command: UserCommand };

export async function runCommand(link: OpsLink, cmd: AdminCommand): Promise<OpsOutput> {
  try {
    return cmd.area === 'group' ? await runGroupCommand(link, cmd.group) : await runUserCommand(link, cmd.command);
  } catch (err) {
    throw toOpsError(err);
  }
}
