// The page's whole script. Every call to the BFF sends the cookie (same origin) and the
// custom header X-CSRF: 1, which a page of another origin cannot add.
"use strict";

const out = document.getElementById("out");

async function bff(path, options = {}) {
  const response = await fetch(path, {
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

async function refreshStatus() {
  document.getElementById("cookies").textContent = JSON.stringify(document.cookie);
  const me = await bff("/bff/me");
  document.getElementById("status").textContent =
    me.status === 200 ? "Logged in as " + me.body.username : "Not logged in";
}

document.getElementById("call").addEventListener("click", async () => show(await bff("/bff/api/me")));
document.getElementById("delete").addEventListener("click", async () =>
  show(await bff("/bff/api/account/delete", { method: "POST" })));
document.getElementById("logout").addEventListener("click", async () => {
  show(await bff("/bff/logout", { method: "POST" }));
  await refreshStatus();
});
refreshStatus();
