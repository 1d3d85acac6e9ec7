/**
 * The server urls a client connects to in turn (round robin): the current one, the next
 * after a failure or a dropped connection, and urls added or deleted while the client runs.
 * @module
 */
import { checkUrl } from './options.js';

/** Round-robin list of server urls. */
export class UrlRotation {
  private readonly urls: string[];
  private index = 0;
  /** Set when the current url was deleted: the index already points at the next one. */
  private keepIndexOnce = false;

  constructor(urls: readonly string[]) {
    this.urls = [...urls];
  }

  /** The url of the current (or next) attempt; undefined when the list is empty. */
  get current(): string | undefined {
    return this.urls[this.index];
  }

  /** Number of urls. */
  get size(): number {
    return this.urls.length;
  }

  /** A copy of the list. */
  list(): string[] {
    return [...this.urls];
  }

  /** Adds a url at the end. Returns false if it was there. */
  add(url: string): boolean {
    checkUrl(url);
    if (this.urls.includes(url)) return false;
    this.urls.push(url);
    return true;
  }

  /** Removes a url (default: the current one). Returns false if it was not in the list. */
  delete(url?: string): boolean {
    const target = url ?? this.urls[this.index];
    const index = target === undefined ? -1 : this.urls.indexOf(target);
    if (index === -1) return false;
    this.urls.splice(index, 1);
    if (index < this.index) this.index--;
    else if (index === this.index) this.keepIndexOnce = true;
    if (this.index >= this.urls.length) this.index = 0;
    return true;
  }

  /** Moves to the next url (or stays, once, after the current one was deleted). */
  advance(): void {
    if (this.keepIndexOnce) {
      this.keepIndexOnce = false;
      return;
    }
    if (this.urls.length > 0) this.index = (this.index + 1) % this.urls.length;
  }
}
