/**
 * Pod IPs from the node's pod CIDR: .1 is the node's bridge, network and
 * broadcast are skipped. Re-adopted sandboxes reserve their IPs at start.
 */
export class IpamExhaustedError extends Error {
  readonly code = 'ERR_IPAM_EXHAUSTED';
}

function toInt(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}
function toIP(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

export class PodIPAllocator {
  readonly #base: number;
  readonly #size: number;
  readonly #used = new Set<number>();
  #next = 2;
  readonly prefixLen: number;
  readonly gateway: string;

  constructor(cidr: string) {
    const [ip, len] = cidr.split('/');
    this.prefixLen = Number(len);
    this.#size = 2 ** (32 - this.prefixLen);
    this.#base = (toInt(ip) & ~(this.#size - 1)) >>> 0;
    this.gateway = toIP(this.#base + 1);
  }

  reserve(ip: string): void {
    const off = toInt(ip) - this.#base;
    if (off > 1 && off < this.#size - 1) this.#used.add(off);
  }

  /** Next free address, cycling so a just-released IP is not reused at once. */
  allocate(): string {
    for (let i = 0; i < this.#size - 3; i++) {
      const off = 2 + ((this.#next - 2 + i) % (this.#size - 3));
      if (!this.#used.has(off)) {
        this.#used.add(off);
        this.#next = off + 1;
        return toIP(this.#base + off);
      }
    }
    throw new IpamExhaustedError(`no free pod IP left in ${toIP(this.#base)}/${this.prefixLen}`);
  }

  release(ip: string): void {
    this.#used.delete(toInt(ip) - this.#base);
  }
}
