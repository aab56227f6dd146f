/**
 * IPv4 arithmetic for config validation: parse addresses, CIDRs and ranges into integers so
 * "inside", "overlaps" and "equal" are exact comparisons, not string matching.
 */

/** An inclusive range of IPv4 addresses as 32-bit unsigned integers. */
export interface Ipv4Range {
    readonly first: number;
    readonly last: number;
}

/** A parsed CIDR such as 192.168.1.0/24. */
export interface Ipv4Cidr extends Ipv4Range {
    readonly prefixLength: number;
}

const octet = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const ipv4Pattern = new RegExp(`^${octet}\\.${octet}\\.${octet}\\.${octet}$`);

/** The address as an unsigned 32-bit integer, or undefined when it is not a dotted IPv4 address. */
export function parseIpv4(text: string): number | undefined {
    const match = ipv4Pattern.exec(text.trim());
    if (!match) {
        return undefined;
    }
    return match.slice(1, 5).reduce((value, part) => value * 256 + Number(part), 0);
}

/** Dotted notation of an unsigned 32-bit integer. */
export function formatIpv4(value: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** A CIDR with its first and last address, or undefined when malformed or not aligned to its prefix. */
export function parseCidr(text: string): Ipv4Cidr | undefined {
    const [addressText, prefixText, ...rest] = text.trim().split("/");
    if (rest.length > 0 || prefixText === undefined || !/^\d{1,2}$/.test(prefixText)) {
        return undefined;
    }
    const address = parseIpv4(addressText);
    const prefixLength = Number(prefixText);
    if (address === undefined || prefixLength > 32) {
        return undefined;
    }
    const size = 2 ** (32 - prefixLength);
    if (address % size !== 0) {
        return undefined; // host bits set: 192.168.1.5/24 is almost always a typo for .0/24
    }
    return { first: address, last: address + size - 1, prefixLength };
}

/**
 * An address range written `first-last` (192.168.1.225-192.168.1.234), a CIDR, or one address.
 * Undefined when malformed or when last < first.
 */
export function parseIpv4Range(text: string): Ipv4Range | undefined {
    if (text.includes("/")) {
        return parseCidr(text);
    }
    const parts = text.split("-");
    if (parts.length > 2) {
        return undefined;
    }
    const first = parseIpv4(parts[0]);
    const last = parts.length === 2 ? parseIpv4(parts[1]) : first;
    if (first === undefined || last === undefined || last < first) {
        return undefined;
    }
    return { first, last };
}

/** True when the address lies inside the range. */
export function rangeContains(range: Ipv4Range, address: number): boolean {
    return address >= range.first && address <= range.last;
}

/** True when the two ranges share at least one address. */
export function rangesOverlap(a: Ipv4Range, b: Ipv4Range): boolean {
    return a.first <= b.last && b.first <= a.last;
}

/**
 * Bits of an address that VMware's static MAC range can carry: vCenter accepts manually set MACs
 * only in 00:50:56:00:00:00-00:50:56:3f:ff:ff (22 bits; VMware KB 219, "Setting a static MAC
 * address for a virtual NIC").
 */
export const staticMacAddressBits = 22;

/**
 * The node's static MAC: VMware's static prefix plus the low 22 bits of its IPv4 address. It is
 * derived, not stored: a re-run computes the same MAC (no diff), and two nodes of one subnet of at
 * least /10 can never share one, because their addresses differ in those bits.
 */
export function staticMacAddress(address: string): string {
    const value = parseIpv4(address);
    if (value === undefined) {
        throw new Error(`staticMacAddress: '${address}' is not an IPv4 address`);
    }
    const low = value % 2 ** staticMacAddressBits;
    const bytes = [0x00, 0x50, 0x56, Math.floor(low / 65536), Math.floor(low / 256) % 256, low % 256];
    return bytes.map((byte) => byte.toString(16).padStart(2, "0")).join(":");
}
