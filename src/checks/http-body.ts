// The HTTP probe for checks with `expect_body`: undici parses the response (chunked, content-length,
// trailers) on a fresh Client per check; we match a regex over at most the first 64 KiB, then close.

import type { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { Client } from 'undici';
import type { Dispatcher } from 'undici';
import { HTTP_MAX_BODY, HttpProbeBase, inRanges } from './http-probe.js';
import { excerpt } from './socket-util.js';

/** Re-run the regex only after this much new text, so a server dribbling bytes costs O(n), not O(n²). */
const RETEST_AFTER = 4096;
const noop = (): void => {};
/** Handed to undici when we drop a client: one shared error instead of a new one (and a stack) per check. */
const CHECK_DONE = new Error('health check finished');

type ConnectCallback = (...args: [null, Socket] | [Error, null]) => void;

export class BodyProbe extends HttpProbeBase implements Dispatcher.DispatchHandler {
  #client: Client | null = null;
  #connectCallback: ConnectCallback | null = null;
  #decoder: StringDecoder | null = null;
  #body = '';
  #testedAt = -1;

  protected begin(): void {
    // A new Client is a new connection: a check must prove the server still accepts connections.
    this.#client = new Client(this.p.origin, {
      connect: (_opts, callback) => {
        this.#connectCallback = callback;
        this.openSocket((socket) => this.#connected(null, socket));
      },
      // Our deadline governs; undici's own timers would only race it.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    this.#client.dispatch(
      {
        path: this.spec.path,
        method: this.spec.method,
        headers: this.p.headers,
        // "Connection: close": the server should not wait for another request on this connection.
        reset: true,
      },
      this,
    );
  }

  override close(): void {
    // Our socket first (RST), then the client, which then finds it closed.
    super.close();
    if (this.#client !== null && !this.#client.destroyed) this.#client.destroy(CHECK_DONE, noop);
  }

  #connected(err: Error | null, socket: Socket | null): void {
    const callback = this.#connectCallback;
    if (callback === null) return;
    this.#connectCallback = null;
    if (err !== null) callback(err, null);
    else callback(null, socket!);
  }

  protected onSocketError(err: Error): void {
    // Before the connection is handed over, undici learns of the failure through the callback and
    // reports it to onResponseError; afterwards undici sees the socket error itself.
    this.#connected(err, null);
  }

  // --- undici dispatch handler (the controller-based API of undici 7) ---------------------------

  onRequestStart(): void {}

  onResponseStart(_c: Dispatcher.DispatchController, status: number): void {
    if (status < 200) return; // Interim 1xx: the final response follows.
    this.status = status;
    if (!inRanges(status, this.spec.expectStatus)) this.finish(false, 'bad_status', `status ${status}`);
    else this.#decoder = new StringDecoder('utf8');
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled || this.#decoder === null) return;
    const room = HTTP_MAX_BODY - this.bodyBytes;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.bodyBytes += part.length;
    this.#body += this.#decoder.write(part);
    const full = this.bodyBytes >= HTTP_MAX_BODY;
    if (full || this.#testedAt < 0 || this.#body.length - this.#testedAt >= RETEST_AFTER) this.#test(full);
  }

  onResponseEnd(): void {
    if (this.settled) return;
    if (this.#decoder === null) {
      this.finish(false, 'error', 'response ended without a final status');
      return;
    }
    this.#body += this.#decoder.end();
    this.#test(true);
  }

  onResponseError(_c: Dispatcher.DispatchController | null, err: Error): void {
    if (this.settled) return;
    if (this.socketError === null && (err as { code?: string }).code === 'UND_ERR_SOCKET') {
      const at = this.status > 0 ? `status ${this.status}, ${this.bodyBytes} body bytes read` : 'no status line';
      this.finish(false, 'reset', `connection closed by server before the response was complete (${at})`);
    } else {
      this.fail(err);
    }
  }

  #test(final: boolean): void {
    const re = this.p.expectBody!;
    this.#testedAt = this.#body.length;
    if (re.test(this.#body)) {
      this.finish(true, 'ok', `status ${this.status}, body matches ${re}`);
    } else if (final) {
      const span = this.bodyBytes >= HTTP_MAX_BODY ? `in the first ${HTTP_MAX_BODY} bytes` : `(${this.bodyBytes} bytes)`;
      this.finish(false, 'body_mismatch', `status ${this.status}, body does not match ${re} ${span}: ${excerpt(this.#body)}`);
    }
  }
}

export { HTTP_MAX_BODY };
