// Group commit: writes submitted in the same turn of the event loop share one transaction, hence one
// fsync. A commit runs one at a time: writes submitted while it is in flight (SQLite's fdatasync on the
// thread pool, PostgreSQL's round trips) wait and all join the next one; a synchronous commit (the
// in-memory store) is simply over before the next turn. Under load batches grow by themselves and the
// number of fsyncs per second stays bounded.
import { StoreError } from "../errors.ts";
import type { OpOutcome, OpValue, WriteOp } from "./batch.ts";

interface Pending {
  op: WriteOp;
  resolve: (value: OpValue) => void;
  reject: (error: Error) => void;
}

/** Runs one batch durably; returns one outcome per op, or throws (rejects) when nothing was committed. */
export type CommitBatch = (ops: readonly WriteOp[]) => OpOutcome[] | Promise<OpOutcome[]>;

export class GroupCommit {
  #pending: Pending[] = [];
  #scheduled = false;
  #committing = false;
  #closed = false;
  #idle: (() => void)[] = [];
  #commits = 0;
  readonly #commit: CommitBatch;

  constructor(commit: CommitBatch) {
    this.#commit = commit;
  }

  /** Whether {@link close} was called: writes are refused from then on. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Number of batches committed so far. */
  get commits(): number {
    return this.#commits;
  }

  submit(op: WriteOp): Promise<OpValue> {
    if (this.#closed) return Promise.reject(new StoreError("the store is closed"));
    return new Promise((resolve, reject) => {
      this.#pending.push({ op, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#committing) return;
    this.#scheduled = true;
    // setImmediate (not a microtask) so that callers still in their own awaits this turn join in; browsers
    // have no setImmediate, and a zero timeout is their next turn.
    if (typeof globalThis.setImmediate === "function") globalThis.setImmediate(() => void this.#flush());
    else setTimeout(() => void this.#flush(), 0);
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length > 0) {
      this.#committing = true;
      let outcomes: OpOutcome[];
      try {
        const result = this.#commit(batch.map((p) => p.op));
        outcomes = Array.isArray(result) ? result : await result;
        this.#commits++;
      } catch (cause) {
        const error = cause instanceof StoreError ? cause : new StoreError("the store could not commit", {}, { cause });
        for (const p of batch) p.reject(error);
        outcomes = [];
      }
      this.#committing = false;
      outcomes.forEach((outcome, i) => {
        if (outcome.ok) batch[i].resolve(outcome.value);
        else batch[i].reject(outcome.error);
      });
      if (this.#pending.length > 0) this.#schedule();
    }
    if (this.#pending.length === 0 && !this.#scheduled && !this.#committing) {
      for (const wake of this.#idle.splice(0)) wake();
    }
  }

  /** Stops accepting writes and resolves once every submitted one has settled. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#pending.length === 0 && !this.#scheduled && !this.#committing) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }
}
