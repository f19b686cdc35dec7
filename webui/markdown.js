// A small Markdown renderer for model replies that builds DOM nodes directly: text only ever
// becomes text nodes (never innerHTML), so nothing in a reply can inject markup or script.
// Covers what chat models write: fenced code blocks, headings, bullet and numbered lists,
// block quotes, paragraphs, inline code, bold, italic, and http(s)/mailto links.
'use strict';

(function () {
  const SAFE_URL = /^(https?:|mailto:)/i;

  // Inline spans: `code`, **bold**, *italic* / _italic_, [text](url).
  function appendInline(parent, text) {
    const re = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([^*]+?)\*\*|__([^_]+?)__|\*([^*\s][^*]*?)\*|\b_([^_\s][^_]*?)_\b|\[([^\]]+)\]\(([^)\s]+)\)/g;
    let last = 0;
    for (let m; (m = re.exec(text)); ) {
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      if (m[2] !== undefined) {
        const code = document.createElement('code');
        code.textContent = m[2];
        parent.appendChild(code);
      } else if (m[3] !== undefined || m[4] !== undefined) {
        const b = document.createElement('strong');
        appendInline(b, m[3] ?? m[4]);
        parent.appendChild(b);
      } else if (m[5] !== undefined || m[6] !== undefined) {
        const i = document.createElement('em');
        appendInline(i, m[5] ?? m[6]);
        parent.appendChild(i);
      } else if (m[7] !== undefined) {
        if (SAFE_URL.test(m[8])) {
          const a = document.createElement('a');
          a.href = m[8];
          a.rel = 'noopener noreferrer nofollow';
          a.target = '_blank';
          appendInline(a, m[7]);
          parent.appendChild(a);
        } else {
          parent.appendChild(document.createTextNode(m[0]));
        }
      }
      last = re.lastIndex;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function appendLines(parent, lines) {
    lines.forEach((line, i) => {
      if (i > 0) parent.appendChild(document.createElement('br'));
      appendInline(parent, line);
    });
  }

  // Renders `source` into a DocumentFragment. An unterminated code fence (a reply still
  // streaming) is shown as a code block up to the end.
  function render(source) {
    const out = document.createDocumentFragment();
    const lines = String(source).replace(/\r\n?/g, '\n').split('\n');
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      const fence = line.match(/^\s*(```+|~~~+)\s*([\w+#.-]*)/);
      if (fence) {
        const body = [];
        i++;
        while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
        i++;  // the closing fence
        const pre = document.createElement('pre');
        const code = document.createElement('code');
        if (fence[2]) code.dataset.lang = fence[2];
        code.textContent = body.join('\n');
        pre.appendChild(code);
        out.appendChild(pre);
        continue;
      }
      const heading = line.match(/^(#{1,6})\s+(.*)$/);
      if (heading) {
        const h = document.createElement('h' + Math.min(6, heading[1].length + 2));
        appendInline(h, heading[2]);
        out.appendChild(h);
        i++;
        continue;
      }
      const bullet = /^\s*[-*+]\s+/, numbered = /^\s*\d+[.)]\s+/;
      if (bullet.test(line) || numbered.test(line)) {
        const ordered = numbered.test(line);
        const marker = ordered ? numbered : bullet;
        const list = document.createElement(ordered ? 'ol' : 'ul');
        if (ordered) list.start = parseInt(line, 10) || 1;
        while (i < lines.length && marker.test(lines[i])) {
          const item = [lines[i].replace(marker, '')];
          i++;
          // Continuation lines: indented, not a new item.
          while (i < lines.length && /^\s{2,}\S/.test(lines[i]) && !marker.test(lines[i])) item.push(lines[i++].trim());
          const li = document.createElement('li');
          appendLines(li, item);
          list.appendChild(li);
        }
        out.appendChild(list);
        continue;
      }
      if (/^\s*>/.test(line)) {
        const quote = [];
        while (i < lines.length && /^\s*>/.test(lines[i])) quote.push(lines[i++].replace(/^\s*>\s?/, ''));
        const bq = document.createElement('blockquote');
        bq.appendChild(render(quote.join('\n')));
        out.appendChild(bq);
        continue;
      }
      if (/^\s*$/.test(line)) {
        i++;
        continue;
      }
      const para = [];
      while (i < lines.length && !/^\s*$/.test(lines[i]) && !/^\s*(```|~~~|#{1,6}\s|>|[-*+]\s|\d+[.)]\s)/.test(lines[i])) {
        para.push(lines[i++]);
      }
      if (para.length === 0) para.push(lines[i++]);
      const p = document.createElement('p');
      appendLines(p, para);
      out.appendChild(p);
    }
    return out;
  }

  window.ToolgateMarkdown = { render };
})();
