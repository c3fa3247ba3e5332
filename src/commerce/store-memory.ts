// The in-memory commerce store, for tests and demos: a MemoryStore for everything the Payee keeps, and
// the sales beside it, every record keyed by deployment. Every voucher write (a sale's, a plain one, a
// gate charge) runs under one lock, so a sale's read-check-write of the channel's best voucher cannot
// interleave with another write: the same atomicity a database transaction gives, within one process.
import type { Address, Hex } from "../channel.ts";
import { StoreError } from "../errors.ts";
import { recordKey } from "../store/batch.ts";
import type { DeploymentStore } from "../store/deployment.ts";
import { MemoryStore } from "../store/memory.ts";
import type { ChargeOptions, ChargeResult, Deployment, SaveVoucherResult, StoredVoucher } from "../store/store.ts";
import { checkDeployment } from "../store/validate.ts";
import type { Receipt } from "./receipt.ts";
import { CommerceView, viewOf, sortCharges, type Charge, type CommerceStore, type CommitOutcome, type SalesBackend } from "./store.ts";

interface Sale extends Charge {
  /** recordKey of the deployment it was sold on, so listings stay within a deployment. */
  scope: string;
}

export class MemoryCommerceStore implements SalesBackend {
  readonly #inner = new MemoryStore();
  readonly #payeeViews = new Map<string, DeploymentStore>();
  readonly #views = new Map<string, CommerceView>();
  /** By recordKey(deployment, `${payer}\n${key}`). */
  readonly #charges = new Map<string, Sale>();
  /** By recordKey(deployment, channelId). */
  readonly #credit = new Map<string, bigint>();
  #lock: Promise<unknown> = Promise.resolve();
  #open = true;

  /** The view of one deployment (the same object for every call with that deployment): give it to the Payee and the Seller. */
  forDeployment(deployment: Deployment): CommerceStore {
    const d = checkDeployment(deployment);
    return viewOf(this.#views, d, () => new CommerceView(this, d));
  }

  payeeView(d: Deployment): DeploymentStore {
    return viewOf(this.#payeeViews, d, () => this.#inner.forDeployment(d));
  }

  #serial<T>(run: () => Promise<T>): Promise<T> {
    if (!this.#open) return Promise.reject(new StoreError("the store is closed"));
    const next = this.#lock.then(run, run);
    this.#lock = next.catch(() => undefined);
    return next;
  }

  commitCharge(d: Deployment, voucher: StoredVoucher, receipt: Receipt): Promise<CommitOutcome> {
    return this.#serial(async () => {
      const payee = this.payeeView(d);
      const key = recordKey(d, `${receipt.payer}\n${receipt.key}`);
      const existing = this.#charges.get(key);
      if (existing?.status === "charged") return { status: "duplicate", receipt: { ...existing.receipt } };
      const best = (await payee.bestVoucher(voucher.channelId))?.amount ?? 0n;
      if (voucher.amount <= best) return { status: "not-increasing", best };
      const creditKey = recordKey(d, voucher.channelId);
      const credit = this.#credit.get(creditKey) ?? 0n;
      const available = voucher.amount - best + credit;
      if (available < receipt.price) return { status: "insufficient", available };
      const saved = await payee.saveVoucherIfHigher(voucher);
      if (!saved.stored) throw new StoreError("a voucher write ran outside the commerce lock");
      this.#charges.set(key, { receipt, status: "charged", scope: recordKey(d, "") });
      this.#credit.set(creditKey, available - receipt.price);
      return { status: "charged", previousAmount: best, credit: available - receipt.price };
    });
  }

  savePlainVoucher(d: Deployment, voucher: StoredVoucher): Promise<SaveVoucherResult> {
    return this.#serial(() => this.payeeView(d).saveVoucherIfHigher(voucher));
  }

  chargeVoucher(d: Deployment, voucher: StoredVoucher, price: bigint, options?: ChargeOptions): Promise<ChargeResult> {
    return this.#serial(() => this.payeeView(d).chargeVoucher(voucher, price, options));
  }

  voidCharge(d: Deployment, payer: Address, key: string): Promise<bigint | undefined> {
    return this.#serial(async () => {
      const charge = this.#charges.get(recordKey(d, `${payer}\n${key}`));
      if (charge?.status !== "charged") return undefined;
      const creditKey = recordKey(d, charge.receipt.channelId);
      const credit = (this.#credit.get(creditKey) ?? 0n) + charge.receipt.price;
      charge.status = "voided";
      this.#credit.set(creditKey, credit);
      return credit;
    });
  }

  async charge(d: Deployment, payer: Address, key: string): Promise<Charge | undefined> {
    const charge = this.#charges.get(recordKey(d, `${payer}\n${key}`));
    return charge && { receipt: { ...charge.receipt }, status: charge.status };
  }

  #sales(d: Deployment): Sale[] {
    const scope = recordKey(d, "");
    return [...this.#charges.values()].filter((c) => c.scope === scope);
  }

  async receiptsOf(d: Deployment, payer: Address): Promise<Receipt[]> {
    return sortCharges(this.#sales(d).filter((c) => c.status === "charged" && c.receipt.payer === payer)).map((c) => ({ ...c.receipt }));
  }

  async chargesBetween(d: Deployment, from: bigint, to: bigint): Promise<Charge[]> {
    return sortCharges(this.#sales(d).filter((c) => c.receipt.issuedAt >= from && c.receipt.issuedAt < to)).map((c) => ({
      receipt: { ...c.receipt },
      status: c.status,
    }));
  }

  async credit(d: Deployment, channelId: Hex): Promise<bigint> {
    return this.#credit.get(recordKey(d, channelId)) ?? 0n;
  }

  /** Waits for pending sales and writes, then releases the store (every view of it). */
  async close(): Promise<void> {
    if (!this.#open) return;
    await this.#lock;
    this.#open = false;
    await this.#inner.close();
  }
}
