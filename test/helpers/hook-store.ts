/** A MemoryStore with hooks: hold a call before it commits, delay its answer after, or make it throw. */
import { type AcquireRequest, type LicenseStore, MemoryStore } from '../../src/server/index.js';

type Method = Exclude<keyof LicenseStore, 'leaseTtl'>;
type Hook = (args: unknown[]) => Promise<void> | void;

export class HookStore implements LicenseStore {
  readonly inner: MemoryStore;
  /** Runs before the inner call (the call commits after it resolves). */
  readonly before: Partial<Record<Method, Hook>> = {};
  /** Runs after the inner call committed, before the answer is handed back. */
  readonly after: Partial<Record<Method, Hook>> = {};
  /** When it returns an error, the call throws it (before committing). */
  readonly fail: Partial<Record<Method, (args: unknown[]) => Error | undefined>> = {};
  readonly log: string[] = [];

  constructor(leaseTtl = 30_000) {
    this.inner = new MemoryStore({ leaseTtl });
  }
  get leaseTtl(): number {
    return this.inner.leaseTtl;
  }
  async #call<T>(method: Method, args: unknown[], run: () => Promise<T>): Promise<T> {
    await this.before[method]?.(args);
    const err = this.fail[method]?.(args);
    if (err !== undefined) throw err;
    const value = await run();
    this.log.push(method);
    await this.after[method]?.(args);
    return value;
  }
  setTotal(account: string, feature: string, total: number) {
    return this.#call('setTotal', [account, feature, total], () =>
      this.inner.setTotal(account, feature, total),
    );
  }
  acquire(request: AcquireRequest) {
    return this.#call('acquire', [request], () => this.inner.acquire(request));
  }
  cancel(account: string, id: string) {
    return this.#call('cancel', [account, id], () => this.inner.cancel(account, id));
  }
  renew(account: string, ids: readonly string[], owner: number) {
    return this.#call('renew', [account, ids, owner], () => this.inner.renew(account, ids, owner));
  }
  release(account: string, ids: readonly string[]) {
    return this.#call('release', [account, ids], () => this.inner.release(account, ids));
  }
  revoke(account: string, ids?: readonly string[]) {
    return this.#call('revoke', [account, ids], () => this.inner.revoke(account, ids));
  }
  revokeAll() {
    return this.#call('revokeAll', [], () => this.inner.revokeAll());
  }
  expire() {
    return this.#call('expire', [], () => this.inner.expire());
  }
  drain() {
    return this.#call('drain', [], () => this.inner.drain());
  }
  dropOwner(owner: number) {
    return this.#call('dropOwner', [owner], () => this.inner.dropOwner(owner));
  }
  counts(account?: string) {
    return this.#call('counts', [account], () => this.inner.counts(account));
  }
  leases(filter?: { account?: string; feature?: string }) {
    return this.#call('leases', [filter], () => this.inner.leases(filter));
  }
  waiters() {
    return this.#call('waiters', [], () => this.inner.waiters());
  }
  nextDeadline() {
    return this.#call('nextDeadline', [], () => this.inner.nextDeadline());
  }
  close() {
    return this.inner.close();
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
