// Group commit: writes submitted in the same turn of the event loop share one transaction, hence one
// fsync. A commit runs synchronously (node:sqlite is synchronous), so requests that arrive while it
// blocks the loop are queued by the runtime and all join the next commit: under load, batches grow by
// themselves and the number of fsyncs per second stays bounded.
import { StoreError } from "../errors.ts";
import type { OpOutcome, OpValue, WriteOp } from "./batch.ts";

interface Pending {
  op: WriteOp;
  resolve: (value: OpValue) => void;
  reject: (error: Error) => void;
}

/** Runs one batch durably; returns one outcome per op, or throws when nothing was committed. */
export type CommitBatch = (ops: readonly WriteOp[]) => OpOutcome[];

export class GroupCommit {
  #pending: Pending[] = [];
  #scheduled = false;
  #closed = false;
  #idle: (() => void)[] = [];
  #commits = 0;
  readonly #commit: CommitBatch;

  constructor(commit: CommitBatch) {
    this.#commit = commit;
  }

  /** Number of batches committed so far. */
  get commits(): number {
    return this.#commits;
  }

  submit(op: WriteOp): Promise<OpValue> {
    if (this.#closed) return Promise.reject(new StoreError("the store is closed"));
    return new Promise((resolve, reject) => {
      this.#pending.push({ op, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // setImmediate (not a microtask) so that callers still in their own awaits this turn join in.
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length > 0) {
      let outcomes: OpOutcome[];
      try {
        outcomes = this.#commit(batch.map((p) => p.op));
        this.#commits++;
      } catch (cause) {
        const error = cause instanceof StoreError ? cause : new StoreError("the store could not commit", {}, { cause });
        for (const p of batch) p.reject(error);
        outcomes = [];
      }
      outcomes.forEach((outcome, i) => {
        if (outcome.ok) batch[i].resolve(outcome.value);
        else batch[i].reject(outcome.error);
      });
    }
    if (this.#pending.length === 0 && !this.#scheduled) {
      for (const wake of this.#idle.splice(0)) wake();
    }
  }

  /** Stops accepting writes and resolves once every submitted one has settled. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#pending.length === 0 && !this.#scheduled) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }
}
