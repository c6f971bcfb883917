import { tiertalk, type DeliverReport } from '@tiertalk/proto';
import type { PushWaiter } from '../types';

/**
 * One Deliver batch whose PushBatches are out: settled once every one of them
 * was acknowledged by its gateway or dropped because its gateway left. The
 * count starts at one, released by seal(), so a batch acknowledged while the
 * rest are still being queued cannot settle it early.
 */
export class DeliveryReceipt implements PushWaiter {
  report: DeliverReport = tiertalk.DeliverReport.create({ envelopes: 0, pushes: 0 });
  settled = false;
  private outstanding = 1;

  constructor(private readonly onSettled: () => void) {}

  /** One more PushBatch to wait for. */
  expect(): void {
    this.outstanding += 1;
  }

  batchDone(): void {
    this.outstanding -= 1;
    if (this.outstanding !== 0) return;
    this.settled = true;
    this.onSettled();
  }

  /** Every PushBatch of the batch is queued. */
  seal(): void {
    this.batchDone();
  }
}
