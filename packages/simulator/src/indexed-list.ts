/**
 * A list with O(1) lookup, append and removal by key, and uniform random access by position. Removal
 * swaps the last item into the hole: order changes, but deterministically, which is all the simulator
 * needs.
 */
export class IndexedList<T> {
  private readonly items: T[] = [];
  private readonly index = new Map<string, number>();

  constructor(private readonly keyOf: (item: T) => string) {}

  get size(): number {
    return this.items.length;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  get(key: string): T | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.items[i];
  }

  at(position: number): T {
    const item = this.items[position];
    if (item === undefined) throw new RangeError(`position ${position} out of range (size ${this.items.length})`);
    return item;
  }

  add(item: T): void {
    const key = this.keyOf(item);
    if (this.index.has(key)) throw new Error(`duplicate key ${key}`);
    this.index.set(key, this.items.length);
    this.items.push(item);
  }

  remove(key: string): T | undefined {
    const i = this.index.get(key);
    if (i === undefined) return undefined;
    const removed = this.items[i] as T;
    const last = this.items.pop() as T;
    this.index.delete(key);
    if (i < this.items.length) {
      this.items[i] = last;
      this.index.set(this.keyOf(last), i);
    }
    return removed;
  }

  values(): readonly T[] {
    return this.items;
  }
}
