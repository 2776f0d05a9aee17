// The order service's REST API, as the pages use it. Tokens travel in the Authorization header only.

export class ApiError extends Error {
  constructor(status, code, message, details = {}, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter; // seconds to wait before trying again (a 429's Retry-After)
  }
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: a proxy's page, say
  }
  const problem = body && body.error ? body.error : {};
  const retryAfter = Number(response.headers.get("Retry-After")) || problem.retry_after_s || null;
  return new ApiError(
    response.status,
    problem.code || `http_${response.status}`,
    problem.message || `${response.status} ${response.statusText}`,
    problem,
    retryAfter,
  );
}

/** Call the API; resolve to the JSON body (null for 204), reject with ApiError carrying its message. */
export async function api(path, { token, method = "GET", body, query, headers = {} } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (problem) {
    throw new ApiError(0, "network", `The order service cannot be reached (${problem.message}).`);
  }
  if (!response.ok) throw await errorFrom(response);
  return response.status === 204 ? null : response.json();
}

/**
 * Upload a file as multipart field "file" with XMLHttpRequest, which reports upload progress
 * (fetch does not). onProgress gets a fraction 0..1, or null when the size is unknown.
 */
export function upload(path, file, { token, onProgress }) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", path);
    request.setRequestHeader("Accept", "application/json");
    if (token) request.setRequestHeader("Authorization", `Bearer ${token}`);
    request.upload.addEventListener("progress", (event) => {
      onProgress?.(event.lengthComputable ? event.loaded / event.total : null);
    });
    request.addEventListener("load", () => {
      let body = null;
      try {
        body = JSON.parse(request.responseText);
      } catch {
        body = null;
      }
      if (request.status >= 200 && request.status < 300) {
        resolve(body);
        return;
      }
      const problem = body && body.error ? body.error : {};
      reject(
        new ApiError(
          request.status,
          problem.code || `http_${request.status}`,
          problem.message || `${request.status} ${request.statusText}`,
          problem,
        ),
      );
    });
    request.addEventListener("error", () =>
      reject(new ApiError(0, "network", "The upload failed: no connection.")),
    );
    const form = new FormData();
    form.append("file", file, file.name);
    request.send(form);
  });
}
