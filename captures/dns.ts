/**
 * DNS messages for the generator's udp-dns flows (RFC 1035 wire format), so dissectors see a real query
 * and answer rather than random bytes. A message is a pure function of a 32-bit seed (own xorshift
 * stream), so a retry or the response can be rebuilt without storing the query.
 */

const LETTERS = "abcdefghijklmnopqrstuvwxyz";
const ZONES = ["example.com", "example.net", "example.org", "internal.test"];

function xorshift32(s: number): number {
  let x = s | 0 || 0x9e3779b9;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}

/** Writes the question name; returns the offset after it. */
function writeName(out: Uint8Array, off: number, seed: number): number {
  let s = seed;
  let p = off;
  s = xorshift32(s);
  const len = 3 + (s % 10);
  out[p++] = len;
  for (let i = 0; i < len; i++) {
    s = xorshift32(s);
    out[p++] = LETTERS.charCodeAt(s % 26);
  }
  s = xorshift32(s);
  for (const label of ZONES[s % ZONES.length].split(".")) {
    out[p++] = label.length;
    for (let i = 0; i < label.length; i++) out[p++] = label.charCodeAt(i);
  }
  out[p++] = 0;
  return p;
}

function put16(b: Uint8Array, p: number, v: number): void {
  b[p] = (v >>> 8) & 0xff;
  b[p + 1] = v & 0xff;
}

/** Query type of the message with this seed: AAAA for IPv6 clients' lookups a third of the time. */
function qtype(seed: number): number {
  return seed % 3 === 0 ? 28 : 1;
}

/** Builds the query for `seed` into out; returns its length. */
export function dnsQuery(out: Uint8Array, seed: number): number {
  put16(out, 0, seed >>> 16); // id
  put16(out, 2, 0x0100); // standard query, recursion desired
  put16(out, 4, 1); // qdcount
  put16(out, 6, 0);
  put16(out, 8, 0);
  put16(out, 10, 0);
  const p = writeName(out, 12, seed);
  put16(out, p, qtype(seed));
  put16(out, p + 2, 1); // IN
  return p + 4;
}

/** Builds the response to the query for `seed` (one answer record) into out; returns its length. */
export function dnsResponse(out: Uint8Array, seed: number): number {
  let p = dnsQuery(out, seed);
  put16(out, 2, 0x8180); // response, RD, RA, no error
  put16(out, 6, 1); // ancount
  const type = qtype(seed);
  put16(out, p, 0xc00c); // name: pointer to the question
  put16(out, p + 2, type);
  put16(out, p + 4, 1);
  const ttl = 60 + (xorshift32(seed ^ 0x5bd1e995) % 3540);
  put16(out, p + 6, ttl >>> 16);
  put16(out, p + 8, ttl & 0xffff);
  p += 10;
  const h = xorshift32(seed ^ 0x27d4eb2f);
  if (type === 1) {
    put16(out, p, 4);
    out.set([10, 0, 1 + ((h >>> 8) & 7), 1 + (h & 127)], p + 2);
    return p + 6;
  }
  put16(out, p, 16);
  out.fill(0, p + 2, p + 18);
  out[p + 2] = 0xfd;
  out[p + 9] = 2;
  out[p + 16] = (h >>> 8) & 0xff;
  out[p + 17] = h & 0xff;
  return p + 18;
}
