/**
 * Who may hold a connection before saying who they are. Every accepted socket is "pending" until it
 * completes HELLO (a protocol client) or sends a complete HTTP request (a page load): pending sockets have
 * their own small budget — per remote address and in total — and a short deadline, and never take a client
 * slot. A full total budget evicts the oldest pending socket of the address holding the most (so a flood
 * cannot lock a newcomer out), and
 * every address has a cap on all its connections. Pre-auth memory is bounded by pending × (one HELLO of at
 * most `maxMessageBytes`, or HTTP headers of at most 16 KiB).
 */
import type { Socket } from 'node:net';

export interface AdmissionLimits {
  /** Most pending sockets at once, all addresses together. */
  maxPending: number;
  /** Most pending sockets per remote address. */
  maxPendingPerAddress: number;
  /** Most connections (pending, clients, page loads) per remote address. */
  maxPerAddress: number;
  /** A pending socket is closed after this long. */
  pendingTimeoutMs: number;
}

interface Pending {
  socket: Socket;
  address: string;
  timer: NodeJS.Timeout;
  onTimeout: () => void;
}

export type Refusal = 'per-address' | 'pending-per-address';

export class Admission {
  private readonly pending = new Map<Socket, Pending>();
  private readonly perAddress = new Map<string, number>();
  private readonly pendingPerAddress = new Map<string, number>();

  constructor(
    private readonly limits: AdmissionLimits,
    /** Called for each socket refused or evicted, with the reason (counted by the server). */
    private readonly onRefuse: (reason: Refusal | 'pending-evicted' | 'pending-timeout') => void,
  ) {}

  /** A new socket: admitted as pending (true), or refused (false: the caller destroys it). */
  admit(socket: Socket): boolean {
    const address = socket.remoteAddress ?? '?';
    if ((this.perAddress.get(address) ?? 0) >= this.limits.maxPerAddress) return this.refuse('per-address');
    if ((this.pendingPerAddress.get(address) ?? 0) >= this.limits.maxPendingPerAddress) return this.refuse('pending-per-address');
    if (this.pending.size >= this.limits.maxPending) {
      // Evict the oldest pending socket of the address holding the most: a flood evicts itself first, and a
      // newcomer from another address keeps its place long enough to say HELLO.
      let top = '';
      for (const [a, n] of this.pendingPerAddress) if (n > (this.pendingPerAddress.get(top) ?? 0)) top = a;
      for (const p of this.pending.values()) {
        if (p.address !== top) continue;
        this.settle(p.socket);
        this.onRefuse('pending-evicted');
        p.socket.destroy();
        break;
      }
    }
    bump(this.perAddress, address, 1);
    bump(this.pendingPerAddress, address, 1);
    const entry: Pending = { socket, address, onTimeout: () => socket.destroy(), timer: setTimeout(() => this.expire(socket), this.limits.pendingTimeoutMs) };
    entry.timer.unref();
    this.pending.set(socket, entry);
    socket.once('close', () => {
      this.settle(socket);
      bump(this.perAddress, address, -1);
    });
    return true;
  }

  /** What to do when this pending socket's deadline passes (default: destroy it). */
  onTimeout(socket: Socket, fn: () => void): void {
    const p = this.pending.get(socket);
    if (p) p.onTimeout = fn;
  }

  /** The socket said who it is (HELLO accepted, or an HTTP request arrived): it leaves the pending budget. */
  settle(socket: Socket): void {
    const p = this.pending.get(socket);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(socket);
    bump(this.pendingPerAddress, p.address, -1);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  close(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }

  private expire(socket: Socket): void {
    const p = this.pending.get(socket);
    if (!p) return;
    this.settle(socket);
    this.onRefuse('pending-timeout');
    p.onTimeout();
  }

  private refuse(reason: Refusal): false {
    this.onRefuse(reason);
    return false;
  }
}

function bump(m: Map<string, number>, k: string, d: number): void {
  const v = (m.get(k) ?? 0) + d;
  if (v <= 0) m.delete(k);
  else m.set(k, v);
}
