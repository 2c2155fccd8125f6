// The sandbox's agent console: polls the control API once a second.
// Every value from a conversation is user input: it is only ever set with textContent.
"use strict";

const state = { selected: null, conversations: [] };
const $ = (id) => document.getElementById(id);

async function control(method, path, body) {
  const response = await fetch(`/sandbox/${path}`, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    throw new Error(data && data.message ? data.message : `HTTP ${response.status}`);
  }
  return data;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function showStatus(text) {
  $("status").textContent = text;
}

function renderList() {
  for (const name of ["waiting", "active", "ended"]) $(name).replaceChildren();
  for (const conversation of state.conversations) {
    const button = element(
      "button",
      `${conversation.customer.displayName || "(no name)"} · ${conversation.queue.name} · ${conversation.state}`,
    );
    button.type = "button";
    if (conversation.id === state.selected) button.classList.add("selected");
    button.addEventListener("click", () => {
      state.selected = conversation.id;
      render();
    });
    const item = element("li");
    item.append(button);
    ($(conversation.state) || $("active")).append(item);
  }
}

function renderDetail() {
  const conversation = state.conversations.find((c) => c.id === state.selected);
  $("detail").hidden = !conversation;
  if (!conversation) return;
  $("detail-id").textContent = conversation.id;
  $("detail-queue").textContent = conversation.queue.name;
  $("detail-state").textContent = conversation.state;

  const customer = conversation.customer;
  const profile = $("profile");
  profile.replaceChildren();
  const fields = [
    ["Display name", customer.displayName],
    ["First name", customer.firstName],
    ["Last name", customer.lastName],
    ["Email", customer.email],
    ["Phone", customer.phoneNumber],
    ["State", customer.state],
    ["Joined", customer.joinDate],
  ];
  for (const [key, value] of Object.entries(customer.customFields || {})) {
    fields.push([`Custom: ${key}`, value]);
  }
  for (const [label, value] of fields) {
    if (value === undefined || value === null) continue;
    profile.append(element("dt", label), element("dd", String(value)));
  }

  const members = new Map(conversation.members.map((m) => [m.id, m]));
  const list = $("messages");
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 5;
  list.replaceChildren();
  for (const message of conversation.messages) {
    const sender = members.get(message.sender.id) || {};
    const system = message.bodyType !== "standard" && message.bodyType !== "notice";
    const text = system
      ? `${sender.displayName || sender.role || "?"}: ${message.bodyType}`
      : `${sender.displayName || sender.role || "?"}: ${message.body}`;
    const className = system ? "system" : sender.role === "AGENT" ? "agent" : "customer";
    const item = element("li", text, className);
    item.title = message.timestamp;
    list.append(item);
  }
  if (atBottom) list.scrollTop = list.scrollHeight;

  const agentConnected = conversation.members.some(
    (m) => m.role === "AGENT" && m.state === "CONNECTED",
  );
  const ended = conversation.state === "ended";
  $("join-form").hidden = agentConnected || ended;
  $("reply-form").hidden = !agentConnected || ended;
  $("leave-form").hidden = !agentConnected || ended;
}

function render() {
  renderList();
  renderDetail();
}

async function refresh() {
  try {
    state.conversations = await control("GET", "conversations");
    showStatus(`updated ${new Date().toLocaleTimeString()}`);
    render();
  } catch (error) {
    showStatus(`cannot reach the sandbox: ${error.message}`);
  }
}

async function act(action) {
  try {
    await action();
    await refresh();
  } catch (error) {
    showStatus(error.message);
  }
}

$("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act(() =>
    control("POST", `conversations/${state.selected}/agent/join`, { name: $("agent-name").value }),
  );
});
$("reply-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const body = $("reply-body").value;
  act(async () => {
    await control("POST", `conversations/${state.selected}/agent/messages`, { body });
    $("reply-body").value = "";
  });
});
$("typing").addEventListener("click", () => {
  act(() => control("POST", `conversations/${state.selected}/agent/typing`));
});
$("leave-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act(() =>
    control("POST", `conversations/${state.selected}/agent/leave`, {
      end_conversation: $("end-conversation").checked,
    }),
  );
});

refresh();
setInterval(refresh, 1000);
