// The gallery: images newest first, a page at a time, filtered by status, badges kept live.

import { describeError, getJson, imageUrl, thumbnailUrl } from "./api.js";
import { badge, el } from "./dom.js";

const PAGE_SIZE = 24;

export class Gallery {
  constructor({ list, filter, more, empty, error }) {
    this.list = list;
    this.filter = filter;
    this.more = more;
    this.empty = empty;
    this.error = error;
    this.cards = new Map();
    this.cursor = null;
    filter.addEventListener("change", () => this.reload());
    more.addEventListener("click", () => this.loadPage());
  }

  async reload() {
    this.cards.clear();
    this.list.replaceChildren();
    this.cursor = null;
    await this.loadPage();
  }

  async loadPage() {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (this.filter.value) params.set("status", this.filter.value);
    if (this.cursor) params.set("cursor", this.cursor);
    this.more.disabled = true;
    try {
      const page = await getJson(`/images?${params}`);
      for (const image of page.items) this.add(image, "end");
      this.cursor = page.next_cursor;
      this.error.hidden = true;
    } catch (error) {
      this.error.textContent = describeError(error);
      this.error.hidden = false;
    }
    this.more.disabled = false;
    this.more.hidden = !this.cursor;
    this.empty.hidden = this.cards.size > 0;
  }

  // A new upload goes first, if it belongs under the current filter.
  prepend(image) {
    if (this.filter.value && this.filter.value !== image.status) return;
    this.add(image, "start");
    this.empty.hidden = true;
  }

  add(image, where) {
    if (this.cards.has(image.id)) {
      this.setStatus(image.id, image.status);
      return;
    }
    const card = this.card(image);
    this.cards.set(image.id, card);
    if (where === "start") this.list.prepend(card);
    else this.list.append(card);
  }

  card(image) {
    const picture = el("img", {
      src: thumbnailUrl(image), alt: "", loading: "lazy", width: "160", height: "120",
    });
    // Until thumbnails exist for every image, the original stands in.
    picture.addEventListener("error", () => {
      if (!picture.dataset.original) {
        picture.dataset.original = "1";
        picture.src = imageUrl(image.id);
      }
    }, { once: true });
    const name = image.filename || image.id;
    const link = el("a", { href: `#/image/${image.id}`, className: "card-link" },
      [picture, el("span", { className: "card-name", text: name })]);
    return el("li", { className: "card", dataset: { imageId: image.id } },
      [link, badge(image.status)]);
  }

  setStatus(imageId, status) {
    const card = this.cards.get(imageId);
    if (!card) return false;
    card.querySelector(".badge").replaceWith(badge(status));
    return true;
  }

  // A live status change: update the badge, or show an image this page has not seen.
  async onChange(change) {
    if (this.setStatus(change.image_id, change.state)) return;
    if (this.filter.value && this.filter.value !== change.state) return;
    try {
      const status = await getJson(`/status/${encodeURIComponent(change.image_id)}`);
      this.prepend(status.image);
    } catch {
      // Deleted meanwhile: nothing to show.
    }
  }
}
