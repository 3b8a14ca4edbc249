// The page's whole script. Every call to the BFF sends the cookie (same origin) and the
// custom header X-CSRF: 1, which a page of another origin cannot add.
"use strict";

const out = document.getElementById("out");

// The BFF's paths, relative to this page (/bff/): a proxy may serve the lab under a prefix
// (JupyterHub's /user/NAME/proxy/PORT/), and a relative URL keeps it.
function relative(path) {
  return path.replace(/^\/bff\//, "");
}

async function bff(path, options = {}) {
  const response = await fetch(relative(path), {
    ...options,
    credentials: "same-origin",
    headers: { "X-CSRF": "1", ...(options.headers || {}) },
  });
  let body;
  try { body = await response.json(); } catch (e) { body = {}; }
  return { status: response.status, body };
}

function show(result) {
  out.textContent = result.status + "\n" + JSON.stringify(result.body, null, 1);
}

// What document.cookie shows, in words. The BFF's cookie is HttpOnly, so it is never there; any
// other cookie there belongs to this host, whichever port set it: cookies are per host, not per
// port (RFC 6265, section 8.5), so JupyterLab's _xsrf shows up when JupyterLab runs on this
// same host name.
function cookieNote(seen) {
  const names = seen ? seen.split("; ").map((pair) => pair.split("=")[0]) : [];
  const host = location.hostname;
  if (names.some((name) => ["bff", "__Host-bff", "__Secure-bff"].includes(name))) {
    return "The BFF's cookie is visible to script: it is not HttpOnly!";
  }
  if (names.length === 0) {
    return "No cookie is visible to this script: the BFF's cookie is HttpOnly.";
  }
  if (location.pathname.includes("/proxy/")) {  // JupyterHub's, Binder's: /user/NAME/proxy/PORT/
    return "The BFF's cookie is not among these: it is HttpOnly. " + names.join(", ") +
      " belong" + (names.length > 1 ? "" : "s") + " to the Jupyter server whose proxy serves " +
      "this page: through the proxy, this page has JupyterLab's own origin.";
  }
  return "The BFF's cookie is not among these: it is HttpOnly. " + names.join(", ") +
    " belong" + (names.length > 1 ? "" : "s") + " to " + host + ", whichever server on it set " +
    (names.length > 1 ? "them" : "it") + " (JupyterLab's _xsrf, when JupyterLab runs at " + host +
    " too): cookies are per host, not per port, so a page on any port of " + host + " sees them.";
}

async function refreshStatus() {
  document.getElementById("cookies").textContent = JSON.stringify(document.cookie);
  document.getElementById("cookie-note").textContent = cookieNote(document.cookie);
  const me = await bff("/bff/me");
  document.getElementById("status").textContent =
    me.status === 200 ? "Logged in as " + me.body.username : "Not logged in";
}

// How this BFF signs users in: through the identity provider (a link that starts the
// authorization code flow), or the lab shortcut (the password form). The API path follows.
let apiPath = "/bff/api/me";
async function loginOptions() {
  const options = await bff("/bff/login-options");
  if (options.status !== 200) return;
  apiPath = options.body.api || apiPath;
  const viaProvider = options.body.method === "authorization_code";
  document.getElementById("idp-login").hidden = !viaProvider;
  document.getElementById("login-form").hidden = viaProvider;
}

document.getElementById("call").addEventListener("click", async () => show(await bff(apiPath)));
document.getElementById("delete").addEventListener("click", async () =>
  show(await bff("/bff/api/account/delete", { method: "POST" })));
document.getElementById("logout").addEventListener("click", async () => {
  show(await bff("/bff/logout", { method: "POST" }));
  await loginOptions();
refreshStatus();
});
loginOptions();
refreshStatus();
