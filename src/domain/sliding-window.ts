/**
 * Sliding-window rate limits, counted across every instance sharing a store, with no
 * over-admission.
 *
 * A counter's time is cut into cells, CELLS_PER_WINDOW to a window. The store keeps each counter
 * as one record holding the count of each recent cell, and changes it only by atomic increments
 * of cells (one step per reservation, by id). The step returns every cell's count after it; from
 * those, the instance takes only the units that fit: for every run of CELLS_PER_WINDOW + 1
 * consecutive cells that holds the reserved cell, the counts stay within the limit. As increments
 * of one record are applied one at a time, every run of that many cells holds at most `limit`
 * units granted, whatever the number of instances. A span of one window, wherever it starts,
 * lies within such a run, so it admits at most `limit`: the tolerance is zero. The price is
 * that a run is a cell longer than the window: under steady load at or above the limit,
 * CELLS_PER_WINDOW / (CELLS_PER_WINDOW + 1) of the limit is admitted per window.
 *
 * A request counts in the cell of the moment it reached the instance, however long it then waits
 * for the store: a step slower than a cell does not make it chase cells that keep moving on.
 *
 * What each instance holds of a counter's cells between store steps is domain/sliding-allowances.ts.
 */

export const CELLS_PER_WINDOW = 50;

export interface SlidingCheck {
  /** The workspace whose budget of counters this one counts against. */
  workspaceId: string;
  /** Names the counter within the workspace; with the duration, the store's record. */
  counter: string;
  limit: number;
  durationMs: number;
  /** Units the request spends; 0 asks whether any room is left, spending nothing. */
  cost: number;
}

export interface SlidingOutcome {
  limit: number;
  /** Room left in the window as this instance knows it: others' use since its last reservation is not seen. */
  remaining: number;
  /** By then everything counted so far, up to the current cell, has left the window. */
  resetAt: number;
  /** Whether this limit had room for the request (all limits of a request must, for any to spend). */
  hadRoom: boolean;
}

/** One atomic step on a counter's record: units reserved in a cell, units given back to others. */
export interface CellReservation {
  /** The store's record of the counter. */
  record: string;
  cell: number;
  units: number;
  limit: number;
  /** Units reserved earlier and never used, by cell, to count down in the same step. */
  giveBack: [cell: number, units: number][];
  /** Cells too old to be in any window still counted: removed in the same step. */
  drop: number[];
  /** Made ahead, in the cell after the current one: falling short then says nothing of that cell's room once it comes. */
  ahead: boolean;
  /** The record may be removed after this: every cell it holds has left its windows. */
  expiresAt: Date;
}

/** The cell of a counter with this window that `now` falls in. */
export const cellAt = (durationMs: number, now: number) => Math.floor((now * CELLS_PER_WINDOW) / durationMs);

/** When a cell starts. */
export const cellStart = (durationMs: number, cell: number) => Math.ceil((cell * durationMs) / CELLS_PER_WINDOW);

/**
 * How many of the `units` just added to `cell` fit, given every cell's count after the addition,
 * and the room left after granting them: the least, over the runs of CELLS_PER_WINDOW + 1 cells
 * holding `cell`, of the limit less the run's count.
 */
export function grantable(cells: ReadonlyMap<number, number>, cell: number, units: number, limit: number): { granted: number; room: number } {
  // A count below zero is units given back to a record made anew after pruning: it counts as none.
  const count = (index: number) => Math.max(0, (cells.get(index) ?? 0) - (index === cell ? units : 0));
  let run = 0;
  for (let index = cell - CELLS_PER_WINDOW; index <= cell; index++) run += count(index);
  let least = limit - run;
  for (let end = cell + 1; end <= cell + CELLS_PER_WINDOW; end++) {
    run += count(end) - count(end - CELLS_PER_WINDOW - 1);
    least = Math.min(least, limit - run);
  }
  const granted = Math.max(0, Math.min(units, least));
  return { granted, room: Math.max(0, least - granted) };
}

/**
 * What a counter's cells hold against its limit at `now`: the units in the cells a window-length
 * span ending in the next cell can overlap (units reserved and not admitted yet included), and
 * when all of them have left the window.
 */
export function slidingUsage(cells: ReadonlyMap<number, number>, durationMs: number, now: number): { used: number; endsAt: Date } {
  const current = cellAt(durationMs, now);
  let used = 0;
  let latest = current;
  for (const [cell, count] of cells) {
    if (cell < current - CELLS_PER_WINDOW || count <= 0) continue;
    used += count;
    latest = Math.max(latest, cell);
  }
  return { used, endsAt: new Date(cellStart(durationMs, latest + 1 + CELLS_PER_WINDOW)) };
}

/** The store's record of a counter: its workspace, window and name. */
export const counterRecord = (check: Pick<SlidingCheck, "workspaceId" | "durationMs" | "counter">) =>
  `${check.workspaceId}:${check.durationMs}:${check.counter}`;
