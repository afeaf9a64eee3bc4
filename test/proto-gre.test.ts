import { describe, expect, it } from "vitest";
import { IPS_ASSURED, V_ACCEPT } from "../engine/conntrack/l4proto.js";
import { greTracker } from "../engine/conntrack/proto-gre.js";
import { resolveSettings } from "../engine/conntrack/settings.js";
import { L4_HDR_OK } from "../engine/decode/packet-batch.js";
import { FakeCore, HZ, pkt } from "./helpers/proto-fake.js";

const ORIG = 0;
const REPLY = 1;
const gre = pkt({ proto: 47, flags: L4_HDR_OK });

describe("greTracker (nf_conntrack_gre_packet)", () => {
  it("30 s unreplied; the reply keeps 30 s; the next packet is ASSURED with 180 s", () => {
    const c = new FakeCore();
    const ct = c.alloc(47);
    expect(c.at(0).process(greTracker, ct, gre, ORIG)).toBe(V_ACCEPT);
    expect(c.remaining(ct)).toBe(30);
    c.at(10).process(greTracker, ct, gre, ORIG);
    expect(c.remaining(ct)).toBe(30);
    // SEEN_REPLY is set after the handler, so the first reply still gets the unreplied timeout.
    c.at(11).process(greTracker, ct, gre, REPLY);
    expect(c.remaining(ct)).toBe(30);
    expect(c.status(ct) & IPS_ASSURED).toBe(0);
    c.at(11.5).process(greTracker, ct, gre, ORIG);
    expect(c.remaining(ct)).toBe(180);
    expect(c.status(ct) & IPS_ASSURED).toBe(IPS_ASSURED);
  });

  it("copies the timeouts into the entry on the first packet (later sysctl changes do not apply)", () => {
    const c = new FakeCore(
      resolveSettings({ nf_conntrack_gre_timeout: 4, nf_conntrack_gre_timeout_stream: 40 }, HZ),
    );
    const ct = c.alloc(47);
    c.at(0).process(greTracker, ct, gre, ORIG);
    expect(c.remaining(ct)).toBe(4);
    c.at(1).process(greTracker, ct, gre, REPLY);
    c.at(2).process(greTracker, ct, gre, REPLY);
    expect(c.remaining(ct)).toBe(40);
  });

  it("is stateless for reporting", () => {
    const c = new FakeCore();
    const ct = c.alloc(47);
    c.at(0).process(greTracker, ct, gre, ORIG);
    expect(greTracker.stateName(c.store, ct)).toBeNull();
    expect(greTracker.canEarlyDrop(c.store, ct)).toBe(false);
    expect(greTracker.protonum).toBe(47);
  });
});
