// Counts the EventSource objects this page creates (SSE mode), for the test hook: the
// browser's own reconnect (with Last-Event-ID) reuses one object, while a reconnect done by
// hand would create another. Imported first, so it is in place before the SDK opens one.

let created = 0;
const opened: string[] = [];

export function eventSourcesCreated(): number {
  return created;
}

/** The URLs the EventSources were created with, tokens masked. */
export function eventSourceUrls(): readonly string[] {
  return opened;
}

const Native = globalThis.EventSource as typeof EventSource | undefined;
if (Native) {
  class CountedEventSource extends Native {
    constructor(url: string | URL, init?: EventSourceInit) {
      super(url, init);
      created++;
      opened.push(String(url).replace(/([?&]token=)[^&]*/, '$1…'));
    }
  }
  globalThis.EventSource = CountedEventSource;
}
