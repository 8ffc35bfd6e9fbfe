import type { ConnectionOptions, NatsConnection } from "nats";
import { NatsConnectionImpl, setTransportFactory } from "nats/lib/nats-base-client/internal_mod.js";
import { NodeTransport, nodeResolveHost } from "nats/lib/src/node_transport.js";

/**
 * The `nats` client writes to its socket once per microtask checkpoint, so a service answering many
 * requests makes one write syscall per reply: under load that was the largest single cost on the
 * gateway's hot path (a loopback write wakes the NATS server, ~25–40 µs of CPU here). This transport
 * holds what the client sends until the end of the current event-loop turn (`setImmediate`, after
 * every I/O callback of the turn has run) and writes it as one buffer. Order is kept; nothing waits
 * longer than the rest of the turn; a close writes what is held first.
 */
export class CoalescingTransport extends NodeTransport {
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private urgent = false;

  override send(frame: Uint8Array): void {
    if (this.held.push(frame) === 1 && !this.urgent) setImmediate(this.release);
    this.heldBytes += frame.byteLength;
    if (this.urgent) {
      this.urgent = false;
      this.release();
    }
  }

  /**
   * The next thing the client hands over goes out at once (with anything held before it) instead
   * of at the end of the turn: for a message someone is waiting on while this turn still has a lot
   * to do — a stream's first chunk when the upstream sent many at once.
   */
  expedite(): void {
    this.urgent = true;
  }

  override close(err?: Error): Promise<void> {
    this.release();
    return super.close(err);
  }

  /** Frames waiting for the end of the turn (for tests). */
  get pendingFrames(): number {
    return this.held.length;
  }

  private readonly release = (): void => {
    const held = this.held;
    if (held.length === 0) return;
    const bytes = this.heldBytes;
    this.held = [];
    this.heldBytes = 0;
    super.send(held.length === 1 ? (held[0] as Uint8Array) : Buffer.concat(held, bytes));
  };
}

/** Asks the connection's transport to write its next frame at once; a no-op on other transports. */
export function expedite(nc: NatsConnection): void {
  const transport = (nc as unknown as { protocol?: { transport?: unknown } }).protocol?.transport;
  if (transport instanceof CoalescingTransport) transport.expedite();
}

/** `connect()` from `nats`, with every socket of this connection (reconnects too) coalescing writes. */
export function connectCoalescing(options: ConnectionOptions): Promise<NatsConnection> {
  setTransportFactory({ factory: () => new CoalescingTransport(), dnsResolveFn: nodeResolveHost });
  return NatsConnectionImpl.connect(options);
}
