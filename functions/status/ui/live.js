// The live channel: one EventSource on /events for the whole page.
// The browser reconnects by itself and sends Last-Event-ID, and the server replays what was
// missed, so listeners see every change once and in order.

export class LiveStatus {
  constructor(indicator) {
    this.indicator = indicator;
    this.listeners = new Set();
    this.source = null;
    this.onJoin = () => {};
  }

  start() {
    this.source = new EventSource("/events");
    this.source.addEventListener("open", () => this.show("live", "Live"));
    this.source.addEventListener("ready", () => {
      this.show("live", "Live");
      this.onJoin();
    });
    this.source.addEventListener("error", () => {
      this.onJoin();
      const closed = this.source.readyState === EventSource.CLOSED;
      this.show("offline", closed ? "Offline: reload to retry" : "Reconnecting…");
    });
    this.source.addEventListener("status", (event) => {
      const change = JSON.parse(event.data);
      for (const listener of this.listeners) listener(change);
    });
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  show(state, words) {
    this.indicator.dataset.state = state;
    this.indicator.textContent = words;
  }
}
