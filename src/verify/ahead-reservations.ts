import type { AheadReservation } from "../domain/fixed-allowances.js";
import { MAX_AHEAD_DELAY_MS } from "../domain/fixed-allowances.js";
import type { Reservation } from "../domain/fixed-window.js";
import type { ReservationCount } from "../store/rate-limit-windows/index.js";
import { forEachChunk } from "./chunks.js";

/** Reservations sent in one store call at most: one bulk write and one read of as many windows by `_id`. */
export const MAX_RESERVATION_BATCH = 500;

interface Waiting {
  reservation: AheadReservation;
  resolve: (count: ReservationCount) => void;
  reject: (error: unknown) => void;
}

/**
 * Room reserved in counters' next windows (domain/fixed-allowances.ts), gathered into few store
 * calls: everything waiting goes when the earliest due time comes, or at once when a caller has
 * to wait for one of them, in calls of at most MAX_RESERVATION_BATCH, one after another.
 */
export class AheadReservations {
  private readonly waiting = new Map<string, Waiting>();
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Number.POSITIVE_INFINITY;

  constructor(
    private readonly reserveAll: (reservations: Reservation[]) => Promise<ReservationCount[]>,
    private readonly now: () => number,
  ) {}

  /** The store's count for this reservation, once the call it goes in answers. */
  add(reservation: AheadReservation): Promise<ReservationCount> {
    const counted = new Promise<ReservationCount>((resolve, reject) => this.waiting.set(reservation.window.id, { reservation, resolve, reject }));
    if (this.waiting.size >= MAX_RESERVATION_BATCH) this.sendNow();
    else if (reservation.due < this.timerDue) {
      clearTimeout(this.timer);
      this.timerDue = reservation.due;
      const delay = Math.min(MAX_AHEAD_DELAY_MS, Math.max(0, reservation.due - this.now()));
      this.timer = setTimeout(() => this.sendNow(), delay).unref();
    }
    return counted;
  }

  /** Whether a reservation in this window is waiting to be sent. */
  has(windowId: string) {
    return this.waiting.has(windowId);
  }

  /** Sends everything waiting if the earliest due time has come (its timer may lag a busy event loop). */
  sendDue() {
    if (this.timerDue <= this.now()) this.sendNow();
  }

  /** Sends everything waiting now. */
  sendNow() {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Number.POSITIVE_INFINITY;
    const batch = [...this.waiting.values()];
    this.waiting.clear();
    void forEachChunk(batch, MAX_RESERVATION_BATCH, async (chunk) => {
      try {
        const counts = await this.reserveAll(chunk.map(({ reservation }) => reservation));
        chunk.forEach((waiting, index) => waiting.resolve(counts[index]!));
      } catch (error) {
        for (const waiting of chunk) waiting.reject(error);
      }
    });
  }

  stop() {
    clearTimeout(this.timer);
  }
}
