/** Small HTTP and Prometheus-text helpers for the admin endpoints. */

export interface Fetched {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** GETs (or `method`s) a URL and reads the whole body; rejects after `timeoutMs`. */
export async function get(url: string, method = 'GET', timeoutMs = 5000): Promise<Fetched> {
  const response = await fetch(url, { method, signal: AbortSignal.timeout(timeoutMs) });
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body: await response.text(),
  };
}

/**
 * The value of one sample in Prometheus text, such as
 * `sample(text, 'recodex_monitor_messages_dropped_total', { reason: 'oversized' })`.
 * Undefined when the sample is absent.
 */
export function sample(
  text: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .join(',');
  const head = wanted === '' ? name : `${name}{${wanted}}`;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${head} `)) return Number(line.slice(head.length + 1));
  }
  return undefined;
}

/** Polls `check` until it returns true; rejects with `what` after `timeoutMs`. */
export async function pollUntil(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
