// Toolgate's web chat: talks only to this server's own API (/v1/models, /v1/chat/completions
// streaming with `store: true`, and the stored-completion endpoints for history).
//
// A conversation is the chain of stored completions sharing `metadata.conversation`; each one
// holds the whole history in its request, so the newest one is enough to reopen it. The list
// shows the newest completion of each conversation (metadata.title names it).
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const KEY = 'toolgate.apiKey', MODEL = 'toolgate.model', SYSTEM = 'toolgate.system',
    TEMPERATURE = 'toolgate.temperature';
  const CLIENT = 'web-chat';

  const state = {
    conversation: null,  // { id, title, latest: completion id | null, messages: [...] }
    controller: null,
    storeOn: true,
  };

  // ---- API access ------------------------------------------------------------------------

  function authHeaders() {
    const h = { 'Content-Type': 'application/json' };
    const key = localStorage.getItem(KEY);
    if (key) h.Authorization = 'Bearer ' + key;
    return h;
  }

  let keyPrompt = null;
  function askForKey(message) {
    if (keyPrompt) return keyPrompt;
    keyPrompt = new Promise((resolve) => {
      const dialog = $('key-dialog');
      $('key-error').hidden = !message;
      $('key-error').textContent = message || '';
      $('api-key').value = '';
      dialog.addEventListener('close', function onClose() {
        dialog.removeEventListener('close', onClose);
        const key = $('api-key').value.trim();
        if (key) localStorage.setItem(KEY, key);
        keyPrompt = null;
        resolve();
      });
      dialog.showModal();
    });
    return keyPrompt;
  }

  // fetch() with the key; on 401 asks for a key and tries again.
  async function api(path, options = {}) {
    for (;;) {
      const response = await fetch(path, { ...options, headers: authHeaders() });
      if (response.status !== 401) return response;
      const hadKey = !!localStorage.getItem(KEY);
      await askForKey(hadKey ? 'That key was not accepted.' : '');
    }
  }

  async function errorText(response) {
    try {
      const body = await response.json();
      return body.error?.message || `HTTP ${response.status}`;
    } catch {
      return `HTTP ${response.status}`;
    }
  }

  function showError(text) {
    $('error').textContent = text || '';
    $('error').hidden = !text;
  }

  // ---- models ----------------------------------------------------------------------------

  async function loadModels() {
    const response = await api('/v1/models');
    if (!response.ok) return showError('Could not list models: ' + (await errorText(response)));
    const { data } = await response.json();
    const select = $('model');
    select.replaceChildren();
    for (const m of data) {
      const option = document.createElement('option');
      option.value = option.textContent = m.id;
      select.appendChild(option);
    }
    const saved = localStorage.getItem(MODEL);
    if (saved && data.some((m) => m.id === saved)) select.value = saved;
  }

  // ---- conversations ---------------------------------------------------------------------

  function newId() {
    if (window.crypto?.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
  }

  async function listConversations() {
    const seen = new Map();  // conversation id -> newest completion
    let after = null;
    for (let page = 0; page < 5; page++) {
      const q = new URLSearchParams({ order: 'desc', limit: '100', 'metadata[client]': CLIENT });
      if (after) q.set('after', after);
      const response = await api('/v1/chat/completions?' + q);
      if (response.status === 404 || response.status === 405) {
        state.storeOn = false;
        $('store-note').textContent = 'History is off on this server (store disabled).';
        $('store-note').hidden = false;
        return [];
      }
      if (!response.ok) {
        $('store-note').textContent = 'History unavailable: ' + (await errorText(response));
        $('store-note').hidden = false;
        return [...seen.values()];
      }
      $('store-note').hidden = true;
      const body = await response.json();
      for (const c of body.data) {
        const cid = c.metadata?.conversation;
        if (cid && !seen.has(cid)) seen.set(cid, c);
      }
      if (!body.has_more) break;
      after = body.last_id;
    }
    return [...seen.values()];
  }

  async function refreshConversations() {
    const list = $('conversations');
    const items = await listConversations();
    list.replaceChildren();
    for (const c of items) {
      const li = document.createElement('li');
      li.dataset.conversation = c.metadata.conversation;
      li.dataset.completion = c.id;
      if (state.conversation?.id === c.metadata.conversation) li.classList.add('active');
      const title = document.createElement('button');
      title.type = 'button';
      title.className = 'title';
      title.textContent = c.metadata.title || '(untitled)';
      title.title = title.textContent;
      title.addEventListener('click', () => openConversation(c));
      const actions = document.createElement('span');
      actions.className = 'actions';
      const rename = document.createElement('button');
      rename.type = 'button';
      rename.textContent = '✎';
      rename.setAttribute('aria-label', 'Rename');
      rename.addEventListener('click', () => renameConversation(c));
      const del = document.createElement('button');
      del.type = 'button';
      del.textContent = '✕';
      del.setAttribute('aria-label', 'Delete');
      del.addEventListener('click', () => deleteConversation(c));
      actions.append(rename, del);
      li.append(title, actions);
      list.appendChild(li);
    }
  }

  async function openConversation(c) {
    if (state.controller) return;
    showError('');
    const id = c.id;
    const messages = [];
    let after = null;
    for (;;) {
      const q = new URLSearchParams({ limit: '100' });
      if (after) q.set('after', after);
      const response = await api(`/v1/chat/completions/${encodeURIComponent(id)}/messages?` + q);
      if (!response.ok) return showError('Could not open the conversation: ' + (await errorText(response)));
      const body = await response.json();
      messages.push(...body.data);
      if (!body.has_more) break;
      after = body.last_id;
    }
    const response = await api(`/v1/chat/completions/${encodeURIComponent(id)}`);
    if (!response.ok) return showError('Could not open the conversation: ' + (await errorText(response)));
    const completion = await response.json();
    const answer = completion.choices?.[0]?.message ?? {};
    state.conversation = {
      id: c.metadata.conversation,
      title: c.metadata.title || '',
      latest: id,
      messages: messages
        .filter((m) => m.role === 'user' || m.role === 'assistant')
        .map((m) => ({ role: m.role, content: m.content ?? '' })),
    };
    const usage = completion.usage;
    state.conversation.messages.push({
      role: 'assistant', content: answer.content ?? '', runs: answer.toolgate_tool_runs ?? [],
      stats: usage ? `${usage.completion_tokens} tokens · ${completion.model}` : '',
    });
    renderConversation();
    document.querySelectorAll('#conversations li').forEach((li) =>
      li.classList.toggle('active', li.dataset.conversation === state.conversation.id));
    $('sidebar').classList.remove('open');
  }

  async function renameConversation(c) {
    const title = window.prompt('Rename conversation', c.metadata.title || '');
    if (title === null) return;
    const metadata = { ...c.metadata, title: title.slice(0, 200) };
    const response = await api(`/v1/chat/completions/${encodeURIComponent(c.id)}`, {
      method: 'POST', body: JSON.stringify({ metadata }),
    });
    if (!response.ok) return showError('Rename failed: ' + (await errorText(response)));
    if (state.conversation?.id === c.metadata.conversation) state.conversation.title = metadata.title;
    refreshConversations();
  }

  async function deleteConversation(c) {
    if (!window.confirm(`Delete "${c.metadata.title || 'this conversation'}"?`)) return;
    const q = new URLSearchParams({ limit: '100', 'metadata[conversation]': c.metadata.conversation });
    for (;;) {
      const response = await api('/v1/chat/completions?' + q);
      if (!response.ok) return showError('Delete failed: ' + (await errorText(response)));
      const body = await response.json();
      for (const item of body.data) {
        await api(`/v1/chat/completions/${encodeURIComponent(item.id)}`, { method: 'DELETE' });
      }
      if (!body.has_more) break;
    }
    if (state.conversation?.id === c.metadata.conversation) newChat();
    refreshConversations();
  }

  function newChat() {
    if (state.controller) return;
    state.conversation = null;
    showError('');
    renderConversation();
    document.querySelectorAll('#conversations li').forEach((li) => li.classList.remove('active'));
    $('prompt').focus();
  }

  // ---- rendering -------------------------------------------------------------------------

  function toolRunElement(run) {
    const details = document.createElement('details');
    details.className = 'tool-run';
    const summary = document.createElement('summary');
    summary.textContent = `🔧 ${run.function?.name ?? 'tool'}(${run.function?.arguments ?? ''})` +
      (run.ok === false ? ' — failed' : '');
    const output = document.createElement('pre');
    output.textContent = run.output ?? '';
    details.append(summary, output);
    return details;
  }

  function messageElement(m) {
    const el = document.createElement('div');
    el.className = 'msg ' + m.role;
    if (m.role === 'user') {
      el.textContent = m.content;
      return el;
    }
    const runs = document.createElement('div');
    runs.className = 'runs';
    const body = document.createElement('div');
    body.className = 'body';
    const stats = document.createElement('div');
    stats.className = 'stats';
    el.append(runs, body, stats);
    fillAssistant(el, m);
    return el;
  }

  function fillAssistant(el, m) {
    const runs = el.querySelector('.runs');
    runs.replaceChildren(...(m.runs ?? []).map(toolRunElement));
    el.querySelector('.body').replaceChildren(window.ToolgateMarkdown.render(m.content));
    el.querySelector('.stats').textContent = m.stats ?? '';
  }

  function renderConversation() {
    const box = $('messages');
    box.replaceChildren(...(state.conversation?.messages ?? []).map(messageElement));
    box.scrollTop = box.scrollHeight;
  }

  // ---- sending ---------------------------------------------------------------------------

  function setBusy(busy) {
    $('send').hidden = busy;
    $('stop').hidden = !busy;
    $('model').disabled = busy;
  }

  async function send(text) {
    showError('');
    if (!state.conversation) {
      state.conversation = { id: newId(), title: text.replace(/\s+/g, ' ').slice(0, 60), latest: null, messages: [] };
    }
    const conv = state.conversation;
    conv.messages.push({ role: 'user', content: text });
    const answer = { role: 'assistant', content: '', runs: [], stats: '' };
    conv.messages.push(answer);
    const box = $('messages');
    box.appendChild(messageElement(conv.messages[conv.messages.length - 2]));
    const el = messageElement(answer);
    el.classList.add('streaming');
    box.appendChild(el);
    box.scrollTop = box.scrollHeight;

    const system = localStorage.getItem(SYSTEM) || '';
    const history = conv.messages.slice(0, -1).map((m) => ({ role: m.role, content: m.content }));
    const body = {
      model: $('model').value,
      messages: system ? [{ role: 'system', content: system }, ...history] : history,
      stream: true,
      stream_options: { include_usage: true },
      temperature: Number(localStorage.getItem(TEMPERATURE) ?? 0.7),
    };
    if (state.storeOn) {
      body.store = true;
      body.metadata = { client: CLIENT, conversation: conv.id, title: conv.title };
    }

    const controller = new AbortController();
    state.controller = controller;
    setBusy(true);
    const started = performance.now();
    let firstToken = null, usage = null, chunks = 0, stopped = false, pending = false;
    const redraw = () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        fillAssistant(el, answer);
        box.scrollTop = box.scrollHeight;
      });
    };
    try {
      const response = await api('/v1/chat/completions', {
        method: 'POST', body: JSON.stringify(body), signal: controller.signal,
      });
      if (!response.ok) throw new Error(await errorText(response));
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      let done = false;
      while (!done) {
        const { value, done: end } = await reader.read();
        if (end) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = event.replace(/^data: ?/, '');
          if (data === '[DONE]') { done = true; break; }
          let chunk;
          try { chunk = JSON.parse(data); } catch { continue; }
          if (chunk.error) throw new Error(chunk.error.message);
          if (chunk.usage) usage = chunk.usage;
          const delta = chunk.choices?.[0]?.delta;
          if (!delta) continue;
          if (delta.content) {
            if (firstToken === null) firstToken = performance.now();
            answer.content += delta.content;
            chunks++;
            redraw();
          }
          if (delta.toolgate_tool_runs) {
            answer.runs.push(...delta.toolgate_tool_runs);
            redraw();
          }
          if (delta.tool_calls) {
            for (const call of delta.tool_calls) {
              if (call.function?.name) answer.content += `\n\n*(tool call: ${call.function.name})*`;
            }
            redraw();
          }
        }
      }
    } catch (e) {
      if (e.name === 'AbortError') stopped = true;
      else showError(String(e.message || e));
    }
    const ended = performance.now();
    const tokens = usage?.completion_tokens ?? chunks;
    const parts = [];
    if (firstToken !== null) {
      parts.push(`TTFT ${Math.round(firstToken - started)} ms`);
      const seconds = (ended - firstToken) / 1000;
      if (seconds > 0 && tokens > 1) parts.push(`${((tokens - 1) / seconds).toFixed(1)} tokens/s`);
      parts.push(`${tokens} tokens`);
    }
    if (stopped) parts.push('stopped');
    answer.stats = parts.join(' · ');
    el.classList.remove('streaming');
    el.classList.add(stopped ? 'stopped' : 'done');
    fillAssistant(el, answer);
    state.controller = null;
    setBusy(false);
    if (state.storeOn && !stopped) refreshConversations();
  }

  // ---- settings --------------------------------------------------------------------------

  function openSettings() {
    $('system-prompt').value = localStorage.getItem(SYSTEM) || '';
    $('temperature').value = localStorage.getItem(TEMPERATURE) ?? '0.7';
    $('temperature-value').textContent = $('temperature').value;
    $('settings-key').value = localStorage.getItem(KEY) || '';
    $('settings').showModal();
  }

  function saveSettings() {
    if ($('settings').returnValue !== 'save') return;
    localStorage.setItem(SYSTEM, $('system-prompt').value);
    localStorage.setItem(TEMPERATURE, $('temperature').value);
    const key = $('settings-key').value.trim();
    if (key) localStorage.setItem(KEY, key);
    else localStorage.removeItem(KEY);
  }

  // ---- wiring ----------------------------------------------------------------------------

  function init() {
    $('composer').addEventListener('submit', (e) => {
      e.preventDefault();
      const text = $('prompt').value.trim();
      if (!text || state.controller) return;
      $('prompt').value = '';
      send(text);
    });
    $('prompt').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        $('composer').requestSubmit();
      }
    });
    $('stop').addEventListener('click', () => state.controller?.abort());
    $('new-chat').addEventListener('click', newChat);
    $('model').addEventListener('change', () => localStorage.setItem(MODEL, $('model').value));
    $('settings-button').addEventListener('click', openSettings);
    $('settings').addEventListener('close', saveSettings);
    $('temperature').addEventListener('input', () => {
      $('temperature-value').textContent = $('temperature').value;
    });
    $('open-sidebar').addEventListener('click', () => $('sidebar').classList.add('open'));
    $('close-sidebar').addEventListener('click', () => $('sidebar').classList.remove('open'));
    loadModels().then(refreshConversations).catch((e) => showError(String(e)));
  }

  init();
})();
