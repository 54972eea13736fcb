/**
 * Gathers what arrives while the event loop is busy and hands it over in batches, one batch at a
 * time: the first arrival schedules a batch at the end of the loop turn, and whatever arrives
 * while a batch is being handled waits for the next one, which follows at once. The nonce group
 * commit and SQLite's shared write transactions both work this way.
 */
export class TurnBatcher<T> {
  private pending: T[] = [];
  private busy = false;

  /** `handle` settles every item of its batch itself; `max` bounds a batch. */
  constructor(
    private readonly handle: (batch: T[]) => Promise<void>,
    private readonly max = Number.POSITIVE_INFINITY,
  ) {}

  add(item: T): void {
    this.pending.push(item);
    if (!this.busy) {
      this.busy = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    const next = () => {
      if (this.pending.length > 0) setImmediate(() => this.flush());
      else this.busy = false;
    };
    this.handle(this.pending.splice(0, this.max)).then(next, next);
  }
}
