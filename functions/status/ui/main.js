// The page's entry point: wires the parts together and routes between the gallery
// (#/) and one image (#/image/{id}) without reloading, so the live stream stays open.

import { Gallery } from "./gallery.js";
import { LiveStatus } from "./live.js";
import { Uploader } from "./upload.js";
import { Viewer } from "./viewer.js";

function $(id) {
  return document.getElementById(id);
}

const live = new LiveStatus($("live"));
const gallery = new Gallery({
  list: $("gallery"), filter: $("status-filter"), more: $("more"),
  empty: $("gallery-empty"), error: $("gallery-error"),
});
const viewer = new Viewer();
new Uploader({
  form: $("upload-form"), input: $("file-input"), list: $("uploads"),
  onUploaded: (image) => gallery.prepend(image),
});

live.subscribe((change) => gallery.onChange(change));
live.subscribe((change) => viewer.onChange(change));

function route() {
  const match = /^#\/image\/([A-Za-z0-9_-]+)$/.exec(location.hash);
  $("home").hidden = Boolean(match);
  $("viewer").hidden = !match;
  if (match) {
    viewer.show(match[1]);
    $("viewer-title").focus();
  } else {
    viewer.hide();
  }
}

window.addEventListener("hashchange", route);
// The gallery loads once the stream has joined, so no change falls between the two; if the
// stream cannot join, it loads anyway, without live updates.
let loaded = false;
live.onJoin = () => {
  if (!loaded) {
    loaded = true;
    gallery.reload();
  }
};
live.start();
route();
