// Boxes drawn over the image in SVG. The viewBox is the image's own pixel grid (boxes come in
// pixels of the upright image), and the SVG is stretched over the <img>, so the boxes stay on
// their objects at any window size without recomputing anything.

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

function points(keypoints) {
  return (keypoints || []).map((point) => (Array.isArray(point) ? point : [point.x, point.y]))
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
}

export class Overlay {
  constructor(element) {
    this.element = element;
  }

  // shapes: [{key, kind, box: [x1, y1, x2, y2], label, keypoints}]
  draw(width, height, shapes) {
    this.element.setAttribute("viewBox", `0 0 ${width} ${height}`);
    this.element.replaceChildren();
    // Labels are sized in image pixels, so scale them with the image's size.
    const fontSize = Math.max(10, Math.round(Math.max(width, height) / 45));
    for (const shape of shapes) {
      const [x1, y1, x2, y2] = shape.box;
      const group = svg("g", { class: `shape shape-${shape.kind}`, "data-key": shape.key });
      group.append(svg("rect", {
        x: x1, y: y1, width: Math.max(1, x2 - x1), height: Math.max(1, y2 - y1),
        "vector-effect": "non-scaling-stroke",
      }));
      for (const [x, y] of points(shape.keypoints)) {
        group.append(svg("circle", { cx: x, cy: y, r: fontSize / 3, class: "keypoint" }));
      }
      if (shape.label) {
        const text = svg("text", {
          x: x1 + fontSize * 0.25, y: Math.max(fontSize, y1 - fontSize * 0.25),
          "font-size": fontSize,
        });
        text.textContent = shape.label;
        group.append(text);
      }
      this.element.append(group);
    }
  }

  highlight(key, on) {
    for (const group of this.element.querySelectorAll(".shape")) {
      group.classList.toggle("active", on && group.dataset.key === key);
      group.classList.toggle("dimmed", on && group.dataset.key !== key);
    }
  }
}
