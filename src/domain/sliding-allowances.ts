import {
  CELLS_PER_WINDOW,
  type CellReservation,
  cellAt,
  cellStart,
  counterRecord,
  grantable,
  type SlidingCheck,
  type SlidingOutcome,
} from "./sliding-window.js";
import { WorkspaceHoldings } from "./workspace-holdings.js";

/**
 * What an instance holds of sliding-window counters (domain/sliding-window.ts) between store steps.
 *
 * Instances do not write each request to the store. Each reserves units in a cell and admits
 * from them in memory while its clock is in that cell; reservations are sized by the demand the
 * instance saw in the cell before, at most half the room left, so a hot identifier costs a few
 * store steps per cell, not one per request. In the last quarter of a cell a counter in use
 * reserves in the next one too, so no request waits at a boundary. Units asked and not granted,
 * and units reserved in a cell this instance has left, are given back (counted down), so only
 * the units an instance held when it stopped are lost, to everyone, until they leave the window:
 * a crash never admits more, only less.
 */

export type SlidingDecision =
  | { admitted: boolean; outcomes: SlidingOutcome[]; prefetch: CellReservation[] }
  /** Some limit has no units here for the request: reserve these, then decide again. */
  | { reserve: CellReservation[] };

/**
 * Counters held per workspace. Workspaces are made only with the operator's ADMIN_TOKEN, so this
 * bounds memory by the operator's own decisions.
 */
export const MAX_SLIDING_COUNTERS_PER_WORKSPACE = 10_000;

/** A counter used in the last quarter of a cell reserves in the next one. */
const NEXT_CELL_LEAD = 1 / 4;

/** What this instance holds in one cell of a counter. */
interface CellAllowance {
  /** Reserved and not spent. */
  held: number;
  /** Room the store left for others after this instance's last reservation here; undefined before the first. */
  room: number | undefined;
  /** A reservation here fell short: no room until the cell changes. */
  full: boolean;
  reserving: boolean;
  /** The size of the last reservation: the next is made when the units held fall under half of it. */
  lastReserved: number;
}

interface Counter {
  record: string;
  durationMs: number;
  /** At most the current cell and the next. */
  cells: Map<number, CellAllowance>;
  /** Units held in cells this instance has left, to give back with its next reservation. */
  giveBack: Map<number, number>;
  drop: Set<number>;
  /** Units asked for here, in `demandCell` and in the cell before it. */
  demandCell: number;
  demand: number;
  previousDemand: number;
  /** Requests here, in `demandCell` and in the cell before it. */
  requests: number;
  previousRequests: number;
}

/**
 * The units this instance holds, per counter and workspace, least recently used first. A
 * workspace holds at most `maxCountersPerWorkspace`; the least recently used gives its place up,
 * and with it what it held, which only this instance loses. Every step is O(checks).
 */
export class SlidingAllowances {
  /** The same counters by store record, for the answers to their reservations. */
  private readonly records = new Map<string, Counter>();
  private readonly held: WorkspaceHoldings<Counter>;

  constructor(maxCountersPerWorkspace = MAX_SLIDING_COUNTERS_PER_WORKSPACE) {
    this.held = new WorkspaceHoldings(maxCountersPerWorkspace, (record) => this.records.delete(record));
  }

  /**
   * Admits the request only if every check has room, and only then spends in all of them. A
   * check whose cell is known full refuses at once; a check short of units here asks for some.
   * `now` is when the request arrived: the same in every round of one request.
   */
  decide(checks: readonly SlidingCheck[], now: number): SlidingDecision {
    // Loops over preallocated lists rather than map and forEach: this runs on every Limit call and
    // every verification of a key with sliding limits, and is done in phases, each for every check.
    const count = checks.length;
    const counters = new Array<Counter>(count);
    const cellsNow = new Array<number>(count);
    const allowances = new Array<CellAllowance>(count);
    const refused = new Array<boolean>(count);
    for (let i = 0; i < count; i++) counters[i] = this.counter(checks[i]!, now);
    for (let i = 0; i < count; i++) cellsNow[i] = cellAt(checks[i]!.durationMs, now);
    for (let i = 0; i < count; i++) allowances[i] = this.allowance(counters[i]!, cellsNow[i]!);
    let admitted = true;
    for (let i = 0; i < count; i++) {
      const check = checks[i]!;
      refused[i] = check.cost > check.limit || (allowances[i]!.full && allowances[i]!.held < needed(check));
      if (refused[i]) admitted = false;
    }
    if (admitted) {
      let short: CellReservation[] | undefined;
      for (let i = 0; i < count; i++) {
        const check = checks[i]!;
        if (allowances[i]!.held < needed(check)) (short ??= []).push(this.reservation(counters[i]!, cellsNow[i]!, check, needed(check) - allowances[i]!.held));
      }
      if (short) return { reserve: short };
      for (let i = 0; i < count; i++) allowances[i]!.held -= checks[i]!.cost;
    }
    const outcomes = new Array<SlidingOutcome>(count);
    for (let i = 0; i < count; i++) {
      const check = checks[i]!;
      const allowance = allowances[i]!;
      counters[i]!.demand += Math.max(check.cost, 1);
      outcomes[i] = {
        limit: check.limit,
        remaining: (allowance.room ?? 0) + allowance.held,
        resetAt: cellStart(check.durationMs, cellsNow[i]! + 1 + CELLS_PER_WINDOW),
        hadRoom: !refused[i],
      };
    }
    const prefetch: CellReservation[] = [];
    if (admitted) {
      for (let i = 0; i < count; i++) {
        const check = checks[i]!;
        const counter = counters[i]!;
        const cell = cellsNow[i]!;
        const allowance = allowances[i]!;
        if (!allowance.full && !allowance.reserving && allowance.held < allowance.lastReserved / 2 && isWarm(counter))
          prefetch.push(this.reservation(counter, cell, check, 1));
        const nextStart = cellStart(check.durationMs, cell + 1);
        if (isWarm(counter) && !counter.cells.has(cell + 1) && now >= nextStart - (nextStart - cellStart(check.durationMs, cell)) * NEXT_CELL_LEAD) {
          // Units of the next cell count in the current window too: as many as half the room this one has left.
          this.allowance(counter, cell + 1).room = allowance.room;
          prefetch.push(this.reservation(counter, cell + 1, check, 1, true));
        }
      }
    }
    return { admitted, outcomes, prefetch };
  }

  /**
   * What the store answered to a reservation made from `decide`: every cell's count after the
   * step. Returns the units asked and not granted, which the caller gives back at once.
   */
  granted(reservation: CellReservation, cells: ReadonlyMap<number, number>): number {
    const { granted, room } = grantable(cells, reservation.cell, reservation.units, reservation.limit);
    const counter = this.find(reservation.record);
    const allowance = counter?.cells.get(reservation.cell);
    if (counter) {
      for (const index of cells.keys()) if (index < reservation.cell - 2 * CELLS_PER_WINDOW) counter.drop.add(index);
    }
    if (!allowance) {
      // The instance has left that cell (or dropped the counter) while the step was under way.
      return reservation.units;
    }
    allowance.reserving = false;
    allowance.held += granted;
    allowance.room = room;
    allowance.lastReserved = Math.max(granted, 1);
    if (granted < reservation.units && !reservation.ahead) allowance.full = true;
    return reservation.units - granted;
  }

  /**
   * Units an admitted request spent and did not use, because a limit counted elsewhere refused
   * it. `now` is when the request arrived: the units go back to that cell while this instance
   * holds it, or are given back to the store with the counter's next step.
   */
  refund(checks: readonly SlidingCheck[], now: number) {
    for (const check of checks) {
      const counter = this.find(counterRecord(check));
      if (!counter) continue;
      const cell = cellAt(check.durationMs, now);
      const allowance = counter.cells.get(cell);
      if (allowance) allowance.held += check.cost;
      else if (check.cost > 0) counter.giveBack.set(cell, (counter.giveBack.get(cell) ?? 0) + check.cost);
    }
  }

  /** A reservation that failed (the store did not answer): the next request may ask again; what it was to give back is lost, which only lowers admission. */
  failed(reservation: CellReservation) {
    const allowance = this.find(reservation.record)?.cells.get(reservation.cell);
    if (allowance) allowance.reserving = false;
  }

  /** Counters held, in all workspaces. */
  get size() {
    return this.held.size;
  }

  private find(record: string) {
    return this.records.get(record);
  }

  /** The check's counter, moved on to the cell `now` falls in: units held in earlier cells are given back. */
  private counter(check: SlidingCheck, now: number): Counter {
    const record = counterRecord(check);
    let counter = this.held.take(check.workspaceId, record);
    if (!counter) {
      counter = {
        record,
        durationMs: check.durationMs,
        cells: new Map(),
        giveBack: new Map(),
        drop: new Set(),
        demandCell: 0,
        demand: 0,
        previousDemand: 0,
        requests: 0,
        previousRequests: 0,
      };
      this.records.set(record, counter);
    }
    this.held.put(check.workspaceId, record, counter);
    const cell = cellAt(check.durationMs, now);
    for (const [index, allowance] of counter.cells) {
      // A cell with a step under way stays for the requests that arrived in it and wait on the step.
      if (index >= cell || allowance.reserving) continue;
      if (allowance.held > 0 && index >= cell - CELLS_PER_WINDOW) counter.giveBack.set(index, (counter.giveBack.get(index) ?? 0) + allowance.held);
      counter.cells.delete(index);
    }
    if (cell > counter.demandCell) {
      const previous = counter.demandCell === cell - 1;
      counter.previousDemand = previous ? counter.demand : 0;
      counter.previousRequests = previous ? counter.requests : 0;
      counter.demand = 0;
      counter.requests = 0;
      counter.demandCell = cell;
    }
    return counter;
  }

  private allowance(counter: Counter, cell: number): CellAllowance {
    let allowance = counter.cells.get(cell);
    if (!allowance) {
      allowance = { held: 0, room: undefined, full: false, reserving: false, lastReserved: 0 };
      counter.cells.set(cell, allowance);
    }
    return allowance;
  }

  /**
   * At least `short` units; otherwise what the cell before asked for, at most half the room last
   * seen, so instances sharing a busy counter split what is left instead of one taking it all.
   */
  private reservation(counter: Counter, cell: number, check: SlidingCheck, short: number, ahead = false): CellReservation {
    const allowance = this.allowance(counter, cell);
    const demand = Math.max(counter.previousDemand, counter.demand);
    const room = allowance.room ?? check.limit;
    const units = Math.max(short, Math.min(Math.floor(room / 2), demand), 1);
    // A step already under way for the cell is shared by this request: what is given back waits for the next.
    const giveBack = allowance.reserving ? [] : [...counter.giveBack];
    const drop = allowance.reserving ? [] : [...counter.drop];
    if (!allowance.reserving) {
      counter.giveBack.clear();
      counter.drop.clear();
    }
    allowance.reserving = true;
    return {
      record: counter.record,
      cell,
      units,
      limit: check.limit,
      giveBack,
      drop,
      expiresAt: new Date(cellStart(check.durationMs, cell + 1 + CELLS_PER_WINDOW)),
      ahead,
    };
  }
}

/**
 * Reserving before a request needs it pays only for a counter asked for more than once within a
 * cell: a request that comes once in a while would leave the units unused, and have made two
 * store steps instead of one.
 */
const isWarm = (counter: Counter) => Math.max(counter.requests, counter.previousRequests) >= 2;

/** Cost 0 asks whether any room is left: it holds one unit without spending it. */
const needed = (check: SlidingCheck) => Math.max(check.cost, 1);
