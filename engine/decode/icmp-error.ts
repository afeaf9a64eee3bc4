/**
 * Which ICMP / ICMPv6 messages are errors (they quote the offending packet): the decoder parses the quoted
 * tuple of these, and conntrack sends them down its error path (engine/conntrack/proto-icmp*.ts re-export
 * these). One table for both stages.
 */

/** icmp_is_err (include/linux/icmp.h): DEST_UNREACH, SOURCE_QUENCH, REDIRECT, TIME_EXCEEDED, PARAMETERPROB. */
export const ICMP_ERROR_TYPES: readonly number[] = [3, 4, 5, 11, 12];

const errorTable = new Uint8Array(256);
for (const t of ICMP_ERROR_TYPES) errorTable[t] = 1;

/** True for the ICMP error types (nf_conntrack_icmpv4_error / nf_conntrack_inet_error path). */
export function icmpIsError(type: number): boolean {
  return errorTable[type & 0xff] === 1;
}

/** ICMPv6 error messages: type < 128 (ICMPV6_INFOMSG_MASK clear); they take nf_conntrack_inet_error. */
export function icmpv6IsError(type: number): boolean {
  return (type & 0xff) < 128;
}
