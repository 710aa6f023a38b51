// Upload: pick or drop several files; each gets its own row with progress and the outcome.

import { describeError, postJson, uploadFile } from "./api.js";
import { el } from "./dom.js";

export class Uploader {
  constructor({ form, input, list, onUploaded }) {
    this.form = form;
    this.list = list;
    this.onUploaded = onUploaded;
    input.addEventListener("change", () => {
      this.addFiles(input.files);
      input.value = "";
    });
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("dragover", (event) => {
      event.preventDefault();
      form.classList.add("dragging");
    });
    form.addEventListener("dragleave", () => form.classList.remove("dragging"));
    form.addEventListener("drop", (event) => {
      event.preventDefault();
      form.classList.remove("dragging");
      this.addFiles(event.dataTransfer.files);
    });
  }

  chosenTasks() {
    return [...this.form.querySelectorAll('input[name="task"]:checked')].map((box) => box.value);
  }

  addFiles(files) {
    for (const file of files) this.send(file);
  }

  async send(file) {
    const progress = el("progress", { max: "100", value: "0", "aria-label": `${file.name} upload` });
    const message = el("span", { className: "upload-message", text: "Uploading…" });
    const row = el("li", { className: "upload" },
      [el("span", { className: "upload-name", text: file.name }), progress, message]);
    this.list.prepend(row);

    let image;
    try {
      image = await uploadFile(file, (fraction) => { progress.value = fraction * 100; });
    } catch (error) {
      row.classList.add("refused");
      progress.remove();
      message.textContent = describeError(error);
      message.setAttribute("role", "alert");
      return;
    }
    progress.value = 100;
    this.onUploaded(image);
    const view = el("a", { href: `#/image/${image.id}`, text: "View" });
    message.replaceChildren("Uploaded. ", view);

    const tasks = this.chosenTasks();
    if (tasks.length === 0) return;
    try {
      const accepted = await postJson(`/process/${encodeURIComponent(image.id)}`, { tasks });
      const words = accepted.created ? "Uploaded and queued. " : "Uploaded; already processed. ";
      message.replaceChildren(words, view);
    } catch (error) {
      message.replaceChildren(`Uploaded, not queued: ${describeError(error)} `, view);
      row.classList.add("refused");
    }
  }
}
