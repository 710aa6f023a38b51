// One image: the picture with its boxes, its classes, objects, faces and text, the task's
// timeline, and a form to process it again.

import { describeError, getJson, imageUrl, postJson } from "./api.js";
import { badge, el, formatMs, formatTime, percent } from "./dom.js";
import { Overlay } from "./overlay.js";

const BOXED = { detect: "object", faces: "face", ocr: "text" };

function $(id) {
  return document.getElementById(id);
}

export class Viewer {
  constructor() {
    this.picture = $("picture");
    this.overlay = new Overlay($("overlay"));
    this.form = $("reprocess");
    this.imageId = null;
    this.task = null;
    this.shapes = [];
    this.picture.addEventListener("load", () => this.drawShapes());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.reprocess();
    });
  }

  async show(imageId) {
    this.imageId = imageId;
    this.task = null;
    this.shapes = [];
    this.clear();
    $("reprocess-message").textContent = "";
    this.picture.src = imageUrl(imageId);
    await this.refresh();
  }

  hide() {
    this.imageId = null;
  }

  clear() {
    for (const id of ["classes", "objects", "ocr", "timeline", "history"]) $(id).replaceChildren();
    $("task-error").hidden = true;
    $("viewer-error").hidden = true;
    this.overlay.draw(1, 1, []);
  }

  async refresh() {
    const imageId = this.imageId;
    try {
      const status = await getJson(`/status/${encodeURIComponent(imageId)}`);
      const task = status.latest_task
        ? await getJson(`/task/${encodeURIComponent(status.latest_task.id)}`) : null;
      if (imageId !== this.imageId) return;
      this.render(status, task);
    } catch (error) {
      $("viewer-error").textContent = describeError(error);
      $("viewer-error").hidden = false;
    }
  }

  onChange(change) {
    if (change.image_id === this.imageId) this.refresh();
  }

  render(status, task) {
    const image = status.image;
    $("viewer-title").replaceChildren(image.filename || image.id, " ", badge(status.status));
    $("caption").textContent =
      `${image.width} × ${image.height} ${image.format}, ${Math.round(image.size_bytes / 1024)} KiB`;
    // Tick the boxes only for a task not seen yet, so a live update keeps the reader's choice.
    if (!task || !this.task || this.task.id !== task.id) {
      this.checkTasks(task ? task.models : ["classify", "detect", "faces", "ocr"]);
    }
    this.task = task;
    this.clear();
    if (!task) {
      $("timeline").append(el("dt", { text: "Status" }), el("dd", { text: "not processed yet" }));
      return;
    }
    const results = task.results || {};
    this.renderClasses(results.classify);
    this.shapes = this.collectShapes(results);
    this.renderObjects();
    this.renderText(results.ocr);
    this.renderTimeline(task);
    this.drawShapes();
  }

  checkTasks(models) {
    for (const box of this.form.querySelectorAll('input[name="task"]')) {
      box.checked = models.includes(box.value);
    }
  }

  renderClasses(result) {
    const list = $("classes");
    if (!result) return list.append(el("li", { className: "muted", text: "none" }));
    for (const item of result.items.slice(0, 5)) {
      const bar = el("meter", { min: "0", max: "1", value: String(item.score),
        "aria-label": `${item.label} score` });
      list.append(el("li", {}, [
        el("span", { className: "label", text: item.label }), bar,
        el("span", { className: "score", text: percent(item.score) })]));
    }
  }

  collectShapes(results) {
    const shapes = [];
    for (const [task, kind] of Object.entries(BOXED)) {
      const result = results[task];
      if (!result) continue;
      result.items.forEach((item, index) => {
        if (!Array.isArray(item.box)) return;
        const label = task === "ocr" ? null
          : `${item.label || kind} ${Math.round((item.score || 0) * 100)}%`;
        shapes.push({ key: `${task}-${index}`, kind: task, task, item, box: item.box, label,
          keypoints: item.keypoints });
      });
    }
    return shapes;
  }

  // A list entry that lights up its box on hover or focus, and the box lights it back.
  linkedEntry(shape, words) {
    const entry = el("button", { type: "button", className: "linked-entry",
      dataset: { key: shape.key }, text: words });
    const on = () => this.highlight(shape.key, true);
    const off = () => this.highlight(shape.key, false);
    entry.addEventListener("mouseenter", on);
    entry.addEventListener("mouseleave", off);
    entry.addEventListener("focus", on);
    entry.addEventListener("blur", off);
    return el("li", {}, entry);
  }

  highlight(key, on) {
    this.overlay.highlight(key, on);
    for (const entry of document.querySelectorAll(".linked-entry")) {
      entry.classList.toggle("active", on && entry.dataset.key === key);
    }
  }

  renderObjects() {
    const list = $("objects");
    const shapes = this.shapes.filter((shape) => shape.task !== "ocr");
    if (shapes.length === 0) list.append(el("li", { className: "muted", text: "none" }));
    for (const shape of shapes) {
      const words = `${shape.task === "faces" ? "face" : shape.item.label} ` +
        `${percent(shape.item.score || 0)}`;
      list.append(this.linkedEntry(shape, words));
    }
  }

  renderText(result) {
    const list = $("ocr");
    const lines = this.shapes.filter((shape) => shape.task === "ocr");
    if (!result || lines.length === 0) {
      const words = result && result.text ? result.text : "none";
      return list.append(el("li", { className: result && result.text ? "" : "muted",
        text: words }));
    }
    for (const shape of lines) list.append(this.linkedEntry(shape, shape.item.text || "…"));
  }

  renderTimeline(task) {
    const rows = [
      ["State", badge(task.state)],
      ["Queued", formatTime(task.created_at)],
      ["Started", formatTime(task.started_at)],
      ["Finished", formatTime(task.finished_at)],
      ["Waited", formatMs(task.queue_ms)],
      ["Ran", formatMs(task.run_ms)],
      ["Attempts", `${task.attempts} of ${task.max_attempts}`],
      ["Provider", task.provider || "–"],
    ];
    for (const [name, result] of Object.entries(task.results || {})) {
      const model = result.model ? ` (${result.model.id} ${result.model.version || ""})` : "";
      rows.push([`${name}${model}`, formatMs(result.duration_ms)]);
    }
    const list = $("timeline");
    for (const [name, value] of rows) list.append(el("dt", { text: name }), el("dd", {}, value));

    const history = $("history");
    for (const entry of task.history) {
      const detail = entry.detail && entry.detail.message ? `: ${entry.detail.message}` : "";
      history.append(el("li", {}, [badge(entry.state),
        ` ${formatTime(entry.at)}${detail}`]));
    }
    for (const attempt of task.attempt_log) {
      history.append(el("li", { className: "muted", text:
        `attempt ${attempt.number} on ${attempt.worker}: ${attempt.outcome || "running"}` +
        (attempt.duration_ms ? ` in ${formatMs(attempt.duration_ms)}` : "") +
        (attempt.error ? ` (${attempt.error})` : "") }));
    }
    if (task.error) {
      $("task-error").textContent = `${task.error.code}: ${task.error.message}`;
      $("task-error").hidden = false;
    }
  }

  drawShapes() {
    const { naturalWidth: width, naturalHeight: height } = this.picture;
    if (!width || !height) return;
    this.overlay.draw(width, height, this.shapes);
  }

  async reprocess() {
    const tasks = [...this.form.querySelectorAll('input[name="task"]:checked')]
      .map((box) => box.value);
    const message = $("reprocess-message");
    if (tasks.length === 0) {
      message.textContent = "Choose at least one task.";
      return;
    }
    try {
      await postJson(`/process/${encodeURIComponent(this.imageId)}`, { tasks, force: true });
      message.textContent = "Queued; this page follows it live.";
      await this.refresh();
      message.textContent = "Queued; this page follows it live.";
    } catch (error) {
      message.textContent = describeError(error);
    }
  }
}
