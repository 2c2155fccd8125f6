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
    const bot = message.originating_entity === "Bot";
    const who = sender.name || sender.purpose || "?";
    const item = element(
      "li",
      message.text ? `${who}: ${message.text}` : who,
      bot ? "bot" : message.direction === "Outbound" ? "agent" : "customer",
    );
    item.title = message.time;
    for (const line of contentLines(message.content || [])) item.append(line);
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
  $("om-rich").hidden = !agentConnected || ended;
  $("om-transfer-form").hidden = ended;
}

// What a message carries besides its text, as text and links (never as HTML or embeds).

function safeLink(url, text) {
  // Only http(s): a conversation's URL is user input and must not run script.
  if (typeof url !== "string" || !/^https?:\/\//i.test(url)) return element("span", text || "");
  const link = element("a", text || url);
  link.href = url;
  link.rel = "noopener noreferrer";
  link.target = "_blank";
  return link;
}

function contentLine(label, ...parts) {
  const line = element("span", `${label}: `, "content");
  line.append(...parts);
  return line;
}

function cardLine(card) {
  const parts = [[card.title, card.description].filter(Boolean).join(" · ")];
  if (card.image) parts.push(" · ", safeLink(card.image, "image"));
  for (const action of card.actions || []) {
    parts.push(" · ");
    parts.push(action.url ? safeLink(action.url, action.text) : `[${action.text || action.payload || "?"}]`);
  }
  return contentLine("Card", ...parts);
}

function contentLines(content) {
  const lines = [];
  const replies = [];
  for (const item of content) {
    if (!item || typeof item !== "object") continue;
    if (item.contentType === "Attachment" && item.attachment) {
      const a = item.attachment;
      const name = a.filename || a.url;
      lines.push(contentLine("Attachment", safeLink(a.url, name), ` (${a.mime || a.mediaType || "?"})`));
    } else if (item.contentType === "QuickReply" && item.quickReply) {
      replies.push(`[${item.quickReply.text}]`);
    } else if (item.contentType === "ButtonResponse" && item.buttonResponse) {
      const b = item.buttonResponse;
      lines.push(contentLine("Answered", `[${b.text}] (${b.type}, payload ${b.payload})`));
    } else if (item.contentType === "Card" && item.card) {
      lines.push(cardLine(item.card));
    } else if (item.contentType === "Carousel" && item.carousel) {
      for (const card of item.carousel.cards || []) lines.push(cardLine(card));
    } else {
      lines.push(contentLine("Content", String(item.contentType)));
    }
  }
  if (replies.length) lines.unshift(contentLine("Quick replies", replies.join(" ")));
  return lines;
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
// The agent sends an attachment, quick replies or a card: Genesys's content objects.
function mediaType(mime) {
  const kind = mime.split("/")[0].toLowerCase();
  return { image: "Image", video: "Video", audio: "Audio" }[kind] || "File";
}

function sendContent(text, content, form) {
  act(async () => {
    await control("POST", omPath("agent/messages"), { text, content });
    form.reset();
  });
}

$("om-attachment-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const mime = $("om-attachment-mime").value.trim();
  const attachment = { mediaType: mediaType(mime), url: $("om-attachment-url").value, mime };
  if ($("om-attachment-filename").value) attachment.filename = $("om-attachment-filename").value;
  sendContent($("om-attachment-text").value, [{ contentType: "Attachment", attachment }], event.target);
});
$("om-quick-replies-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const content = $("om-quick-options")
    .value.split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [text, payload] = line.split("|").map((part) => part.trim());
      return {
        contentType: "QuickReply",
        quickReply: { text, payload: payload || text, action: "Message" },
      };
    });
  sendContent($("om-quick-question").value, content, event.target);
});
$("om-card-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const card = { title: $("om-card-title").value };
  if ($("om-card-description").value) card.description = $("om-card-description").value;
  if ($("om-card-image").value) card.image = $("om-card-image").value;
  if ($("om-card-link-url").value) {
    card.actions = [
      { type: "Link", text: $("om-card-link-text").value || "Open", url: $("om-card-link-url").value },
    ];
  }
  sendContent("", [{ contentType: "Card", card }], event.target);
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
