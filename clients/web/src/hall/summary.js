// 「議事録用の要約を保存」: `hall.summary` (agenda, questions with votes, reactions, polls with
// counts and reasons; the server keeps no names in it) saved as JSON and as Markdown text for
// the minutes. Nothing here adds a name either.
import { h, btn, download } from './util.js';

function stamp(d = new Date()) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}`;
}

/** The summary as Markdown, in the page's language. */
export function toMarkdown(s, when = new Date()) {
  const L = [`# ${h('sum.heading')}`, '', h('sum.when', { when: when.toLocaleString() }), ''];
  L.push(`## ${h('agenda.title')}`, '');
  if (s.agenda?.length) s.agenda.forEach((a, i) => L.push(`${i + 1}. ${a}`));
  else L.push(h('agenda.empty'));
  L.push('', `## ${h('q.title')} (${(s.questions || []).length})`, '');
  for (const q of s.questions || []) {
    L.push(`- ${q.text} — 👍 ${h('q.votes', { n: q.votes })}${q.answered ? ' — ' + h('q.answered') : ''}`);
  }
  if (!s.questions?.length) L.push(h('q.empty'));
  const r = s.reactions || {};
  L.push('', `## ${h('react.title')}`, '', ['clap', 'agree', 'unclear'].map((k) => `${h('react.' + k)}: ${r[k] || 0}`).join(' / '));
  L.push('', `## ${h('poll.title')}`, '');
  if (!s.polls?.length) L.push(h('sum.noPolls'));
  (s.polls || []).forEach((p, i) => {
    const total = p.counts.reduce((a, b) => a + b, 0);
    L.push(`### ${i + 1}. ${p.question}`, '');
    p.options.forEach((o, j) => {
      const n = p.counts[j] || 0;
      L.push(`- ${o}: ${h('poll.count', { n, pct: total ? Math.round((100 * n) / total) : 0 })}`);
    });
    L.push('', h('poll.total', { n: total }));
    if (p.reasons?.length) {
      L.push('', `${h('sum.reasons')}:`, '');
      for (const w of p.reasons) L.push(`- (${w.option}) ${w.why}`);
    }
    L.push('');
  });
  L.push('', h('sum.noNames'));
  return L.join('\n') + '\n';
}

/** Ask the server, save both files, and leave links to save them again. */
export async function saveSummary(ctx, links) {
  const ack = await ctx.send('hall.summary', { room: ctx.room() });
  if (!ack?.ok) return ack;
  const now = new Date();
  const base = `hall-summary-${stamp(now)}`;
  const json = JSON.stringify({ saved_at: now.toISOString(), ...ack.summary }, null, 2) + '\n';
  const md = toMarkdown(ack.summary, now);
  const files = [[base + '.json', json, 'application/json'], [base + '.md', md, 'text/markdown;charset=utf-8']];
  download(...files[0]);
  setTimeout(() => download(...files[1]), 300); // two downloads from one click: a moment apart
  links.replaceChildren(...files.map(([name, text, type], i) => {
    const b = btn('hall-summary-again-' + (i ? 'md' : 'json'), h(i ? 'sum.againMd' : 'sum.againJson'), 'btn-quiet');
    b.addEventListener('click', () => download(name, text, type));
    return b;
  }));
  return { ok: true, summary: ack.summary, markdown: md, files: files.map((f) => f[0]) };
}
