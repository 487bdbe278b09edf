// The dashboard's only way to the server: adds the API key, turns `{"error": ...}` into an ApiError.
const KEY_NAME = "townsquare.key";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export const key = {
  get: () => localStorage.getItem(KEY_NAME) || "",
  set: (value) => localStorage.setItem(KEY_NAME, value.trim()),
  clear: () => localStorage.removeItem(KEY_NAME),
};

// api("/posts", {query: {lang: "en"}}) -> parsed JSON; api("/posts", {method: "POST", body: [...]});
// api("/health", {auth: false}) for public paths. Without a key, a protected call fails here, not on the wire.
export async function api(path, { method = "GET", query = {}, body, apiKey = key.get(), auth = true } = {}) {
  if (auth && !apiKey) {
    throw new ApiError(401, "authorization: no API key yet — enter one: `townsquare serve --demo` prints an admin key, `townsquare keys create --role analyst` makes one");
  }
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json" };
  if (apiKey) headers["Authorization"] = `Bearer ${apiKey}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, `network: cannot reach the server (${err.message}) — is townsquare serve running?`);
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const message = (data && data.error) || `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return data;
}
