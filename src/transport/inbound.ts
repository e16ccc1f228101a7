/**
 * The frames a connection received and has not handled yet, handled a share at a time: after
 * {@link ANSWERS_PER_TURN} answers, the rest wait for the next turn of the event loop, so that the requests
 * those answers set off (a release after each grant) leave first. Without it, a connection with many calls
 * in flight settles into one burst going back and forth, each side idle while the other works on it.
 */
import type { DecodedItem } from '../protocol/codec.js';
import { atEndOfTurn } from '../timing.js';

/**
 * Answers handled in one turn of the event loop before the frames after them wait for the next (a `batch`
 * answer counts each request it answers).
 */
export const ANSWERS_PER_TURN = 64;

/** What the queue needs of its connection. */
export interface InboundHost {
  /** Handles one frame. */
  handle(item: DecodedItem): void;
  /** Requests waiting for an answer now (the share is counted by how many of them a frame answered). */
  pending(): number;
  /** Whether frames are still handled (the connection is open). */
  open(): boolean;
}

/** One connection's received frames, in order. */
export class InboundFrames {
  readonly #host: InboundHost;
  #items: DecodedItem[] = [];
  /** The index in `#items` of the next frame to handle. */
  #at = 0;

  constructor(host: InboundHost) {
    this.#host = host;
  }

  /** Whether frames wait for their turn. */
  get waiting(): boolean {
    return this.#at < this.#items.length;
  }

  /** Takes the frames of one read: handled now, a share of them, or behind those already waiting. */
  receive(items: DecodedItem[]): void {
    if (this.#items.length > 0) {
      for (const item of items) this.#items.push(item);
      return;
    }
    this.#items = items;
    this.#at = 0;
    this.#handle(ANSWERS_PER_TURN);
  }

  /**
   * Handles every frame still waiting, now (the connection is ending, or a deadline is due: they came
   * before it). Returns whether any were waiting.
   */
  handleAll(): boolean {
    if (!this.waiting) return false;
    this.#handle(Number.POSITIVE_INFINITY);
    return true;
  }

  #handle(share: number): void {
    const items = this.#items;
    const host = this.#host;
    const before = host.pending();
    while (this.#at < items.length) {
      host.handle(items[this.#at++] as DecodedItem);
      // Handled from inside (handleAll() while closing): what was left is done.
      if (this.#items !== items) return;
      if (!host.open()) break;
      if (before - host.pending() >= share && this.#at < items.length) {
        atEndOfTurn(() => this.#handle(ANSWERS_PER_TURN));
        return;
      }
    }
    this.#items = [];
    this.#at = 0;
  }
}
