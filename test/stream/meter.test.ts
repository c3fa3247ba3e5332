// The unit counter of metered streams: whatever the order of payments, units and reconnects, no unit is
// served beyond what the accepted payments cover, and a reconnect never charges a unit twice.
import { expect } from "chai";
import fc from "fast-check";
import { StreamMeter } from "../../src/stream/meter.ts";

describe("stream/StreamMeter", () => {
  it("serves only paid units and asks once per shortfall", () => {
    const meter = new StreamMeter({ unitPrice: 10n, askAhead: 2n });
    expect(meter.take()).to.equal(undefined);
    meter.credit(45n); // 4 units and a remainder
    expect(meter.paidUnits).to.equal(4n);
    expect([meter.take(), meter.take()]).to.deep.equal([0n, 1n]);
    expect(meter.shouldAsk()).to.equal(true);
    expect(meter.shouldAsk()).to.equal(false);
    expect([meter.take(), meter.take(), meter.take()]).to.deep.equal([2n, 3n, undefined]);
    meter.credit(5n); // the remainder makes a fifth unit
    expect(meter.shouldAsk()).to.equal(true);
    expect(meter.take()).to.equal(4n);
    expect(meter.servedUnits).to.equal(5n);
  });

  it("replays units after Last-Event-ID for free, then charges new ones", () => {
    const meter = new StreamMeter({ unitPrice: 1n, askAhead: 0n });
    meter.credit(5n);
    for (let i = 0; i < 4; i++) meter.take();
    meter.resume("1");
    expect([meter.take(), meter.take()]).to.deep.equal([2n, 3n]);
    expect(meter.servedUnits).to.equal(4n);
    expect(meter.take()).to.equal(4n);
    expect(meter.take()).to.equal(undefined);
    // Ids the stream never sent, and garbage, resume at the first unit not served.
    for (const id of ["99", "-1", "x", "1e3", "", "01"]) {
      meter.resume(id);
      expect(meter.nextUnit).to.equal(5n);
    }
  });

  it("refuses a price or an increment that is not a positive bigint", () => {
    expect(() => new StreamMeter({ unitPrice: 0n, askAhead: 0n })).to.throw().with.property("code", "INVALID_ARGUMENT");
    expect(() => new StreamMeter({ unitPrice: 1 as unknown as bigint, askAhead: 0n })).to.throw().with.property("code", "INVALID_ARGUMENT");
    expect(() => new StreamMeter({ unitPrice: 1n, askAhead: -1n })).to.throw().with.property("code", "INVALID_ARGUMENT");
    const meter = new StreamMeter({ unitPrice: 1n, askAhead: 0n });
    expect(() => meter.credit(-1n)).to.throw().with.property("code", "INVALID_ARGUMENT");
    expect(meter.credited).to.equal(0n);
  });

  it("property: served units never exceed paid units, each unit is charged once, and a client that skips seen ids gets each unit once", () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant("credit" as const), value: fc.bigInt({ min: 0n, max: 50n }) }),
      fc.record({ kind: fc.constant("take" as const), value: fc.bigInt({ min: 1n, max: 8n }) }),
      fc.record({ kind: fc.constant("reconnect" as const), value: fc.bigInt({ min: -2n, max: 40n }) }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 7n }), fc.bigInt({ min: 0n, max: 5n }), fc.array(step, { maxLength: 60 }), (unitPrice, askAhead, steps) => {
        const meter = new StreamMeter({ unitPrice, askAhead });
        let credited = 0n;
        let newUnits = 0n;
        const sent: bigint[] = [];
        const received = new Set<bigint>();
        let lastReceived: bigint | undefined;
        for (const s of steps) {
          if (s.kind === "credit") {
            meter.credit(s.value);
            credited += s.value;
          } else if (s.kind === "take") {
            for (let i = 0n; i < s.value; i++) {
              const before = meter.servedUnits;
              const could = meter.canTake();
              const unit = meter.take();
              expect(unit !== undefined, "canTake agrees with take").to.equal(could);
              if (unit === undefined) {
                expect(meter.servedUnits).to.equal(credited / unitPrice);
                break;
              }
              if (meter.servedUnits > before) newUnits++;
              sent.push(unit);
              // The client passes on only units after the last one it saw (as readMeteredStream does).
              if (lastReceived === undefined || unit > lastReceived) {
                expect(received.has(unit)).to.equal(false);
                received.add(unit);
                lastReceived = unit;
              }
            }
          } else {
            // Reconnect with the client's Last-Event-ID, an older id (a proxy replaying), or none or a bogus one.
            const id =
              s.value < 0n || lastReceived === undefined ? (s.value === -1n ? "junk" : undefined) : (s.value < lastReceived ? s.value : lastReceived).toString();
            meter.resume(id);
          }
          expect(meter.servedUnits <= meter.paidUnits, "served beyond paid").to.equal(true);
          expect(meter.paidUnits).to.equal(credited / unitPrice);
          expect(newUnits).to.equal(meter.servedUnits);
        }
        // Units are charged in order: the served units are exactly 0..served-1.
        expect(received.size).to.equal(Number(meter.servedUnits));
        expect(sent.every((u) => u < meter.servedUnits)).to.equal(true);
      }),
      { numRuns: 500 },
    );
  });
});
