/**
 * A table of entries by increasing integer id (requests in flight by request id, acquires in flight by
 * their number): a ring of slots indexed by the id's low bits (ids are handed out
 * in order, so the requests in flight take neighbouring slots; the ring grows from 16 to 1,024 slots when an
 * entry would be pushed out), and a map for the few that outlive their
 * slot (an acquire waiting in a queue for minutes). A `Map` churned by thousands of short-lived ids a
 * second rehashes into new tables all the time, and a table that lived long enough to be promoted keeps
 * the requests it held reachable to the young-generation collector after they ended: with 256 requests in
 * flight, most of a request's objects then survived to the old generation (about 2.5 MB per scavenge),
 * which the collector copied and later swept. (V8 allocates the new table of a promoted map in the old
 * generation, and the table it replaces keeps its entries reachable until the next full collection.)
 * Slots are cleared when an entry is removed; ids must be safe integers, at least 1.
 */

/** Slots of a new ring, and the most a ring grows to (powers of two). */
const FIRST_SLOTS = 16;
const MAX_SLOTS = 1_024;

/** Values by positive integer id, for ids handed out in increasing order. */
export class IdTable<V> {
  #ids = new Float64Array(FIRST_SLOTS);
  #values: Array<V | undefined> = new Array<V | undefined>(FIRST_SLOTS).fill(undefined);
  #mask = FIRST_SLOTS - 1;
  /** Entries whose slot a newer id took while they were still in the table. */
  readonly #overflow = new Map<number, V>();
  #inRing = 0;

  /** How many entries the table holds. */
  get size(): number {
    return this.#inRing + this.#overflow.size;
  }

  /** Adds (or replaces) the value of `id`. */
  set(id: number, value: V): void {
    if (this.#overflow.size > 0) this.#overflow.delete(id);
    let slot = id & this.#mask;
    let held = this.#values[slot];
    // An entry would be pushed out: the ring doubles, up to its most. (Growing only when it was dense
    // left it small for entries in flight spread over a wide range of ids, and the map took the churn.)
    while (held !== undefined && this.#ids[slot] !== id && this.#values.length < MAX_SLOTS) {
      this.#grow();
      slot = id & this.#mask;
      held = this.#values[slot];
    }
    if (held === undefined) {
      this.#inRing++;
    } else if (this.#ids[slot] !== id) {
      // An older id still in the table (an acquire waiting in a queue): it moves out of the way.
      this.#overflow.set(this.#ids[slot] as number, held);
    }
    this.#ids[slot] = id;
    this.#values[slot] = value;
  }

  /** Doubles the ring; the old one is cleared, so that it keeps nothing alive if it was promoted. */
  #grow(): void {
    const ids = this.#ids;
    const values = this.#values;
    const size = values.length * 2;
    this.#ids = new Float64Array(size);
    this.#values = new Array<V | undefined>(size).fill(undefined);
    this.#mask = size - 1;
    this.#inRing = 0;
    for (let slot = 0; slot < values.length; slot++) {
      const value = values[slot];
      if (value === undefined) continue;
      const id = ids[slot] as number;
      const to = id & this.#mask;
      if (this.#values[to] === undefined) {
        this.#ids[to] = id;
        this.#values[to] = value;
        this.#inRing++;
      } else {
        this.#overflow.set(id, value);
      }
    }
    values.fill(undefined);
  }

  /** The value of `id`, if the table holds it. */
  get(id: number): V | undefined {
    const slot = id & this.#mask;
    if (this.#ids[slot] === id) {
      const value = this.#values[slot];
      if (value !== undefined) return value;
    }
    return this.#overflow.size === 0 ? undefined : this.#overflow.get(id);
  }

  /** Removes `id`; returns whether the table held it. */
  delete(id: number): boolean {
    const slot = id & this.#mask;
    if (this.#ids[slot] === id && this.#values[slot] !== undefined) {
      this.#values[slot] = undefined;
      this.#ids[slot] = 0;
      this.#inRing--;
      return true;
    }
    return this.#overflow.size > 0 && this.#overflow.delete(id);
  }

  /** The values the table holds, in the order of their ids (a copy). */
  values(): V[] {
    return this.ids().map((id) => this.get(id) as V);
  }

  /** Removes every entry. */
  clear(): void {
    this.#values.fill(undefined);
    this.#ids.fill(0);
    this.#overflow.clear();
    this.#inRing = 0;
  }

  /** The ids the table holds, in increasing order (a copy: the table may change while they are used). */
  ids(): number[] {
    const ids = [...this.#overflow.keys()];
    if (this.#inRing > 0) {
      for (let slot = 0; slot < this.#values.length; slot++) {
        if (this.#values[slot] !== undefined) ids.push(this.#ids[slot] as number);
      }
    }
    return ids.sort((a, b) => a - b);
  }
}

/**
 * The number at the end of an id such as `app1.4f2a-17` (digits after the last `-`), or `undefined` when
 * there is none. Reads the characters in place: no string is made.
 */
function trailingNumber(id: string): number | undefined {
  let value = 0;
  let scale = 1;
  let index = id.length - 1;
  for (; index >= 0; index--) {
    const code = id.charCodeAt(index);
    if (code < 48 || code > 57) break;
    value += (code - 48) * scale;
    scale *= 10;
  }
  if (index === id.length - 1 || index < 0 || id.charCodeAt(index) !== 45) return undefined;
  return Number.isSafeInteger(value) && value >= 1 ? value : undefined;
}

/**
 * Values by their `id`, for string ids that end in an increasing number (this client's lease ids,
 * `app1.4f2a-17`): an {@link IdTable} by that number, for the same reason (a busy `Map` of leases kept
 * ended calls alive into the old generation). An id without such a number, or whose number another id
 * holds, is kept in a plain map.
 */
export class LeaseIdTable<V extends { readonly id: string }> {
  readonly #numbered = new IdTable<V>();
  readonly #other = new Map<string, V>();

  /** How many values the table holds. */
  get size(): number {
    return this.#numbered.size + this.#other.size;
  }

  /** Adds `value` under its id, or replaces the value of that id. */
  set(value: V): void {
    const { id } = value;
    if (this.#other.size > 0 && this.#other.has(id)) {
      this.#other.set(id, value);
      return;
    }
    const number = trailingNumber(id);
    if (number !== undefined) {
      const held = this.#numbered.get(number);
      if (held === undefined || held.id === id) {
        this.#numbered.set(number, value);
        return;
      }
    }
    this.#other.set(id, value);
  }

  /** The value of `id`, if the table holds one. */
  get(id: string): V | undefined {
    const number = trailingNumber(id);
    if (number !== undefined) {
      const value = this.#numbered.get(number);
      if (value !== undefined && value.id === id) return value;
    }
    return this.#other.size === 0 ? undefined : this.#other.get(id);
  }

  /** Removes the value of `id`; returns whether there was one. */
  delete(id: string): boolean {
    const number = trailingNumber(id);
    if (number !== undefined && this.#numbered.get(number)?.id === id) return this.#numbered.delete(number);
    return this.#other.size > 0 && this.#other.delete(id);
  }

  /** The values, those with numbered ids first, by number (a copy). */
  values(): V[] {
    const values = this.#numbered.values();
    for (const value of this.#other.values()) values.push(value);
    return values;
  }
}
