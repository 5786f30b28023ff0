// A fetch for long-lived MCP client sessions: one signal per request, linked to the session's signal only while the request is live.
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

/** Statuses whose response has no body (a `Response` with one of them cannot be given a body). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * Wraps `base` (default: the global fetch) so that a request never leaves a listener on the signal
 * it was given. The MCP SDK's Streamable HTTP client passes its session's one long-lived signal to
 * every request; Node's fetch adds an abort listener to that signal per request and removes it only
 * when the request is garbage-collected, so a long session piles up thousands of listeners (and
 * prints a MaxListenersExceededWarning per request past 1,500). Here each request gets its own
 * signal, and the session's signal holds one listener per request in flight (body included),
 * removed as soon as the body is read, cancelled or fails.
 */
export function fetchWithOwnSignal(base: FetchLike = fetch): FetchLike {
  return async (url, init) => {
    const outer = init?.signal;
    if (!outer) return base(url, init);
    const own = new AbortController();
    const forward = (): void => own.abort(outer.reason);
    const release = (): void => outer.removeEventListener('abort', forward);
    if (outer.aborted) forward();
    else outer.addEventListener('abort', forward, { once: true });
    let res: Response;
    try {
      res = await base(url, { ...init, signal: own.signal });
    } catch (err) {
      release();
      throw err;
    }
    if (res.body === null || NULL_BODY.has(res.status)) {
      release();
      return res;
    }
    // The link lasts while the body is read: closing the session still aborts a stream in progress.
    const reader = res.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const chunk = await reader.read();
          if (chunk.done) {
            release();
            controller.close();
          } else controller.enqueue(chunk.value);
        } catch (err) {
          release();
          controller.error(err);
        }
      },
      async cancel(reason) {
        release();
        await reader.cancel(reason);
      },
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}
