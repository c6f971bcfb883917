/**
 * Now in TeamTalk's time unit: its PDUs' times (create_time, server_time, ...) and its
 * tables' created/updated columns are whole seconds since the epoch. Browser-safe.
 */
export function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}
