// The one operations layer under the CLI and the HTTP API: a parsed command
// in, its answer out, errors as AdminError (errors.ts).
import type { AdminLink } from './cluster-link';
import { toAdminError } from './errors';
import { runGroupCommand, type GroupInvocation } from './group-ops';
import type { AdminOutput } from './output';
import { runUserCommand, type UserCommand } from './user-ops';

export type AdminCommand = { area: 'group'; group: GroupInvocation } | { area: 'directory'; command: UserCommand };

export async function runCommand(link: AdminLink, cmd: AdminCommand): Promise<AdminOutput> {
  try {
    return cmd.area === 'group' ? await runGroupCommand(link, cmd.group) : await runUserCommand(link, cmd.command);
  } catch (err) {
    throw toAdminError(err);
  }
}
