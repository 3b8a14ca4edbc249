// A single-page app as many are written: the token lives in localStorage, and every API call
// adds it as a bearer token. (Chapter 07 shows what an injected script does with it.)
"use strict";

const out = document.getElementById("out");
// The lab's root, relative to this page (/browser/spa/): a proxy may serve the lab under a prefix
// (JupyterHub's /user/NAME/proxy/PORT/), and a relative URL keeps it.
const ROOT = "../../";

async function call() {
  const token = localStorage.getItem("access_token");
  const response = await fetch(ROOT + "api/me", {
    headers: token ? { Authorization: "Bearer " + token } : {},
  });
  const body = await response.json();
  out.textContent = response.status + "\n" + JSON.stringify(body, null, 1);
  return response.status;
}

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch(ROOT + "oauth/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: form.get("username"), password: form.get("password") }),
  });
  const body = await response.json();
  if (response.status === 200) {
    localStorage.setItem("access_token", body.access_token);
    document.getElementById("status").textContent = "Logged in as " + form.get("username");
  } else {
    document.getElementById("status").textContent = "Login failed: " + body.error;
  }
});

document.getElementById("call").addEventListener("click", call);
if (localStorage.getItem("access_token")) {
  document.getElementById("status").textContent = "Logged in (token in localStorage)";
}
