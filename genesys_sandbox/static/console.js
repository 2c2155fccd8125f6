// The sandbox's agent console: polls the control API once a second.
// Every value from a conversation is user input: it is only ever set with textContent.
"use strict";

const state = { selected: null, conversations: [], omSelected: null, om: [] };
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

// Open Messaging conversations (control API under /sandbox/open-messaging/).

function renderOmList() {
  const list = $("om-list");
  list.replaceChildren();
  for (const conversation of state.om) {
    const customer = conversation.customer;
    const button = element(
      "button",
      `${customer.nickname || customer.id} · ${conversation.queue.name} · ${conversation.state}`,
    );
    button.type = "button";
    if (conversation.id === state.omSelected) button.classList.add("selected");
    button.addEventListener("click", () => {
      state.omSelected = conversation.id;
      render();
    });
    const item = element("li");
    item.append(button);
    list.append(item);
  }
}

function renderOmDetail() {
  const conversation = state.om.find((c) => c.id === state.omSelected);
  $("om-detail").hidden = !conversation;
  if (!conversation) return;
  $("om-detail-id").textContent = conversation.id;
  $("om-detail-queue").textContent = conversation.queue.name;
  $("om-detail-state").textContent = conversation.state;

  const profile = $("om-profile");
  profile.replaceChildren();
  for (const [label, value] of Object.entries(conversation.customer)) {
    profile.append(element("dt", label), element("dd", String(value)));
  }
  const participants = $("om-participants");
  participants.replaceChildren();
  for (const p of conversation.participants) {
    participants.append(element("li", `${p.purpose}: ${p.name || p.id} · ${p.state}`));
  }
  const byId = new Map(conversation.participants.map((p) => [p.id, p]));
  const messages = $("om-messages");
  messages.replaceChildren();
  for (const message of conversation.messages) {
    const sender = byId.get(message.participant_id) || {};
    const item = element(
      "li",
      `${sender.name || sender.purpose || "?"}: ${message.text}`,
      message.direction === "Outbound" ? "agent" : "customer",
    );
    item.title = message.time;
    messages.append(item);
  }
  const lastTyping = conversation.typing.filter((t) => t.purpose === "customer").pop();
  $("om-typing").textContent = lastTyping ? `customer typing at ${lastTyping.at}` : "";

  const agentConnected = conversation.participants.some(
    (p) => p.purpose === "agent" && p.state === "connected",
  );
  const ended = conversation.state === "ended";
  $("om-join-form").hidden = agentConnected || ended;
  $("om-reply-form").hidden = !agentConnected || ended;
  $("om-leave-form").hidden = !agentConnected || ended;
  $("om-transfer-form").hidden = ended;
}

function render() {
  renderList();
  renderDetail();
  renderOmList();
  renderOmDetail();
}

async function refresh() {
  try {
    state.conversations = await control("GET", "conversations");
    state.om = await control("GET", "open-messaging/conversations");
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

const omPath = (action) => `open-messaging/conversations/${state.omSelected}/${action}`;
$("om-join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act(() => control("POST", omPath("agent/join"), { name: $("om-agent-name").value }));
});
$("om-reply-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("om-reply-text").value;
  act(async () => {
    await control("POST", omPath("agent/messages"), { text });
    $("om-reply-text").value = "";
  });
});
$("om-typing-button").addEventListener("click", () => {
  act(() => control("POST", omPath("agent/typing")));
});
$("om-leave-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act(() =>
    control("POST", omPath("agent/leave"), { end_conversation: $("om-end-conversation").checked }),
  );
});
$("om-transfer-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act(() => control("POST", omPath("transfer"), { queue_name: $("om-queue-name").value }));
});

refresh();
setInterval(refresh, 1000);
