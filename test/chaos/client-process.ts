/**
 * A LicenseClient in a process of its own, for the multi-node chaos test: it can be SIGKILLed like a
 * crashed application. Started with `fork` (IPC); its options come as JSON in argv[2]. It answers:
 * - `{ op: 'acquire', feature, count, wait }` with `{ op: 'acquired', id, server }` or `{ op: 'failed', message }`;
 * - `{ op: 'leases' }` with `{ op: 'leases', leases: [{ id, server, state }] }`;
 * - `{ op: 'close' }` by closing the client (its seats given back) and exiting.
 * It reports `{ op: 'ready' }` once connected and `{ op: 'lost', id, message }` for each lease it loses.
 */
import { type Lease, LicenseClient, type LicenseClientOptions } from '../../src/index.js';

const options = JSON.parse(process.argv[2] ?? '{}') as LicenseClientOptions;
const client = new LicenseClient(options);
const held: Lease[] = [];
const send = (message: object) => process.send?.(message);

client.on('lease-lost', ({ lease, error }) => send({ op: 'lost', id: lease.id, message: error.message }));
process.on('message', (message: { op: string; feature?: string; count?: number; wait?: number }) => {
  if (message.op === 'acquire') {
    client.acquire(message.feature ?? 'FULL', { count: message.count ?? 1, wait: message.wait ?? 0 }).then(
      (lease) => {
        held.push(lease);
        send({ op: 'acquired', id: lease.id, server: lease.server });
      },
      (err: unknown) => send({ op: 'failed', message: String(err) }),
    );
  } else if (message.op === 'close') {
    void client.close().finally(() => process.exit(0));
  } else if (message.op === 'leases') {
    send({ op: 'leases', leases: held.map((l) => ({ id: l.id, server: l.server, state: l.state })) });
  }
});
process.on('disconnect', () => process.exit(0));
client.connect().then(
  () => send({ op: 'ready' }),
  (err: unknown) => send({ op: 'failed', message: String(err) }),
);
