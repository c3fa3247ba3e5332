// What an in-app store sells: items with a price, consumable (bought any number of times: coins, credits)
// or not (bought once per payer: an unlock, a level pack).
import { InvalidArgumentError } from "../errors.ts";
import { toUnits, type Amount, type Token } from "../units.ts";
import { UnknownItemError } from "./errors.ts";

export type ItemKind = "consumable" | "non-consumable";

/** An item as the app writes it: the price in base units or as a human amount ("0.99 USDC"). */
export interface ItemDefinition {
  id: string;
  kind: ItemKind;
  price: Amount;
}

/** An item with its price resolved to base units of the catalog's token. */
export interface Item {
  readonly id: string;
  readonly kind: ItemKind;
  readonly price: bigint;
}

const ID = /^[A-Za-z0-9._:-]{1,64}$/;

export class Catalog {
  readonly token: Token;
  readonly #items = new Map<string, Item>();

  /** Resolves every price now, so a bad price fails at startup and never at a sale. */
  constructor(token: Token, items: readonly ItemDefinition[]) {
    this.token = token;
    for (const item of items) {
      if (typeof item.id !== "string" || !ID.test(item.id)) throw new InvalidArgumentError("an item id is 1 to 64 of [A-Za-z0-9._:-]", { id: item.id });
      if (item.kind !== "consumable" && item.kind !== "non-consumable") throw new InvalidArgumentError("an item is consumable or non-consumable", { item });
      if (this.#items.has(item.id)) throw new InvalidArgumentError(`item ${item.id} is defined twice`, { id: item.id });
      this.#items.set(item.id, Object.freeze({ id: item.id, kind: item.kind, price: toUnits(item.price, token) }));
    }
  }

  /** The item with this id; throws {@link UnknownItemError}. */
  item(id: string): Item {
    const item = typeof id === "string" ? this.#items.get(id) : undefined;
    if (item === undefined) throw new UnknownItemError(`no item ${String(id)}`, { id });
    return item;
  }

  items(): Item[] {
    return [...this.#items.values()];
  }
}
