// Calls to the KubeVision API on this origin, and the error JSON turned into plain words.

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `The server answered ${status}.`);
    this.status = status;
    this.code = error.code || "http_" + status;
    this.details = error.details || {};
  }
}

// Short plain words for the refusals people meet; the server's sentence follows them.
const PLAIN = {
  file_too_large: "Too large",
  too_many_pixels: "Too many pixels",
  not_an_image: "Not an image",
  unsupported_format: "Image format not accepted",
  corrupt_image: "The image is damaged",
  empty_file: "The file is empty",
  image_not_found: "No such image",
  task_not_found: "No such task",
  queue_unavailable: "Queue busy, try again",
};

export function describeError(error) {
  if (!(error instanceof ApiError)) {
    return `Could not reach the server (${error.message}).`;
  }
  const plain = PLAIN[error.code];
  return plain ? `${plain}: ${error.message}` : error.message;
}

async function parseBody(response) {
  const type = response.headers.get("content-type") || "";
  return type.includes("application/json") ? response.json() : null;
}

export async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await parseBody(response);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export async function postJson(path, payload) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(payload),
  });
  const body = await parseBody(response);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// XHR rather than fetch: only XHR reports upload progress.
export function uploadFile(file, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", "/upload");
    request.responseType = "json";
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) resolve(request.response);
      else reject(new ApiError(request.status, request.response));
    });
    request.addEventListener("error", () => reject(new Error("network error")));
    request.addEventListener("abort", () => reject(new Error("upload cancelled")));
    const form = new FormData();
    form.append("file", file, file.name);
    request.send(form);
  });
}

export function thumbnailUrl(image) {
  return `/image/${encodeURIComponent(image.id)}?size=thumb`;
}

export function imageUrl(imageId) {
  return `/image/${encodeURIComponent(imageId)}`;
}
