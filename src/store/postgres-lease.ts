// One watchtower at a time: a leader lease held as a PostgreSQL session advisory lock on a dedicated
// connection. Whoever holds the lock leads; the others stand by and try again at each poll. The lock
// lives exactly as long as the leader's connection: when its process dies (SIGKILL included) the kernel
// closes the socket, the server ends the session and frees the lock, and the next standby poll takes it.
// No expiry to tune, no clock to trust. A leader cut off from the database (its connection broken) stops
// leading at its next poll; until then it may still finish a close it started, which is harmless: a
// second close of a finished channel reverts and pays nothing.
import pg from "pg";
import { StoreError } from "../errors.ts";

/** First key of every advisory lock Trickle takes ("trk" in ASCII), so they do not meet an application's own. */
export const ADVISORY_LOCK_SPACE = 0x74726b;

/** What a watchtower asks before each pass (see `WatchOptions.lease`). */
export interface LeaderLease {
  /** Whether this process leads now, taking the lease when it is free. Never throws: an outage is `false`. */
  acquire(): Promise<boolean>;
  /** Gives the lease up (another process can take it at its next try) and closes the connection. */
  release(): Promise<void>;
}

/** A 32-bit advisory lock key for a name (FNV-1a), stable across processes and versions. */
export function advisoryKey(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

export class PostgresLeaderLease implements LeaderLease {
  readonly #config: pg.ClientConfig;
  readonly #key: number;
  #client: pg.Client | undefined;
  #held = false;
  #broken = false;
  #released = false;

  /**
   * A lease named `name` (processes that must not act at once use the same name, such as
   * `watchtower:<chainId>:<contract>:<payee>`) on the database at `connection`.
   */
  constructor(connection: string | pg.ClientConfig, name: string) {
    if (typeof name !== "string" || name.length === 0) throw new StoreError("a lease needs a name");
    this.#config = typeof connection === "string" ? { connectionString: connection } : { ...connection };
    this.#key = advisoryKey(`lease:${name}`);
  }

  async acquire(): Promise<boolean> {
    if (this.#released) return false;
    try {
      if (this.#client === undefined || this.#broken) await this.#connect();
      const client = this.#client as pg.Client;
      if (this.#held) {
        // A session lock lasts as long as the session: a query that succeeds on it proves it is still ours.
        await client.query("SELECT 1");
        return true;
      }
      const { rows } = await client.query("SELECT pg_try_advisory_lock($1, $2) AS taken", [ADVISORY_LOCK_SPACE, this.#key]);
      this.#held = rows[0]?.taken === true;
      return this.#held;
    } catch {
      this.#drop();
      return false;
    }
  }

  async release(): Promise<void> {
    this.#released = true;
    const client = this.#client;
    this.#client = undefined;
    this.#held = false;
    if (client === undefined) return;
    // Ending the session frees its locks; the explicit unlock only makes it immediate on a slow close.
    await client.query("SELECT pg_advisory_unlock($1, $2)", [ADVISORY_LOCK_SPACE, this.#key]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    this.#drop();
    const client = new pg.Client(this.#config);
    client.on("error", () => {
      // The session (and with it the lock) is gone: lead no more until a new session takes it again.
      this.#broken = true;
      this.#held = false;
    });
    await client.connect();
    this.#client = client;
    this.#broken = false;
  }

  #drop(): void {
    const client = this.#client;
    this.#client = undefined;
    this.#held = false;
    this.#broken = false;
    if (client !== undefined) void client.end().catch(() => undefined);
  }
}
