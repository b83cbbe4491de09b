// The stage: who presents, 「発表を始める」 for staff when it is free, and for the presenter:
// name a co-presenter (a staff member in the hall), hand over, 発表を終える. The presenter and
// co-presenters save the summary for the minutes. Events: hall.present, hall.release,
// hall.cohost, hall.handover, hall.summary.
import { h, el, btn, setLabel, errText } from './util.js';
import { saveSummary } from './summary.js';

export function makeStage(ctx) {
  const sec = el('section', 'ht-card ht-stage', { id: 'hall-stage', 'aria-labelledby': 'hall-stage-title' });
  const title = el('h3', 'ht-h', { id: 'hall-stage-title' });
  const who = el('p', 'ht-who-line', { id: 'hall-role' });
  const bPresent = btn('hall-present', '', 'btn-primary ht-wide', 'mic');
  const hint = el('p', 'ht-hint', { id: 'hall-stage-hint' });
  sec.append(title, who, bPresent, hint);

  const pres = el('div', 'ht-mod', { id: 'hall-presenter-tools' });
  const coL = el('label', 'ht-label-block', { for: 'hall-cohost-pick' });
  const coSel = el('select', 'ht-input', { id: 'hall-cohost-pick' });
  const bCo = btn('hall-cohost', '', 'btn-quiet');
  const hoL = el('label', 'ht-label-block', { for: 'hall-handover-pick' });
  const hoSel = el('select', 'ht-input', { id: 'hall-handover-pick' });
  const bHo = btn('hall-handover', '', 'btn-quiet');
  const bRelease = btn('hall-release', '', 'btn-quiet ht-wide');
  const coNone = el('p', 'ht-hint ht-none');
  const hoNone = el('p', 'ht-hint ht-none');
  const coRow = el('div', 'ht-pick'); coRow.append(coL, coSel, bCo, coNone);
  const hoRow = el('div', 'ht-pick'); hoRow.append(hoL, hoSel, bHo, hoNone);
  pres.append(coRow, hoRow, bRelease);

  const mins = el('div', 'ht-mod', { id: 'hall-minutes' });
  const bSum = btn('hall-summary', '', 'btn-primary ht-wide', 'save');
  const sumHint = el('p', 'ht-hint');
  const links = el('div', 'ht-row', { id: 'hall-summary-links' });
  mins.append(bSum, sumHint, links);
  sec.append(pres, mins);

  let S = {}, role = {}, key = '', last = null;
  async function send(ev, data, okText) {
    const ack = await ctx.send(ev, { room: ctx.room(), ...data });
    if (!ack?.ok) ctx.say(errText(ack?.error?.code), true);
    else if (okText) ctx.say(okText);
    return ack;
  }
  bPresent.addEventListener('click', () => send('hall.present', {}, h('stage.started')));
  bRelease.addEventListener('click', () => send('hall.release', {}, h('stage.ended')));
  bCo.addEventListener('click', () => {
    const id = Number(coSel.value);
    if (id) send('hall.cohost', { avatar: id }, h('stage.cohosted', { name: ctx.nameOf(id) }));
  });
  bHo.addEventListener('click', () => {
    const id = Number(hoSel.value);
    if (id) send('hall.handover', { avatar: id }, h('stage.handedOver', { name: ctx.nameOf(id) }));
  });
  bSum.addEventListener('click', async () => {
    bSum.disabled = true;
    const r = await saveSummary(ctx, links);
    bSum.disabled = false;
    if (r?.ok) { last = r; ctx.say(h('sum.saved')); } else ctx.say(errText(r?.error?.code), true);
  });

  function options(sel, people) {
    const k = JSON.stringify(people);
    if (sel.dataset.key === k) return;
    sel.dataset.key = k;
    const keep = sel.value;
    sel.replaceChildren(...people.map((p) => el('option', null, { value: String(p.id), text: p.name })));
    if (people.some((p) => String(p.id) === keep)) sel.value = keep;
  }

  function render(state, r) {
    S = state;
    role = r;
    const co = S.copresenters || [];
    const staffHere = ctx.people().filter((p) => p.staff && p.id !== role.me && !co.includes(p.id));
    const k = JSON.stringify([S.presenter, co, role, staffHere, ctx.nameOf(S.presenter), h('stage.title')]);
    if (k === key) return;
    key = k;
    title.textContent = h('stage.title');
    title.classList.toggle('sr-only', !role.staff); // residents: just the one line, who presents
    if (role.presenter) who.textContent = h('stage.youPresent');
    else if (role.mod) who.textContent = h('stage.youCo', { name: ctx.nameOf(S.presenter) });
    else if (S.presenter != null) who.textContent = h('stage.presenter', { name: ctx.nameOf(S.presenter) });
    else who.textContent = h('stage.nobody');
    who.dataset.role = role.presenter ? 'presenter' : role.mod ? 'copresenter' : 'attendee';
    // staff take the stage when it is free (a presenter hands it over otherwise)
    bPresent.hidden = !(role.staff && S.presenter == null);
    setLabel(bPresent, h('stage.start'));
    hint.hidden = !(role.staff && S.presenter != null && !role.mod);
    hint.textContent = h('stage.askHandover');
    pres.hidden = !role.presenter;
    if (role.presenter) {
      coL.textContent = h('stage.cohostLabel');
      options(coSel, staffHere);
      coSel.hidden = bCo.hidden = !staffHere.length;
      coNone.hidden = !!staffHere.length;
      coNone.textContent = h('stage.noStaff');
      setLabel(bCo, h('stage.cohost'));
      hoL.textContent = h('stage.handoverLabel');
      options(hoSel, co.map((id) => ({ id, name: ctx.nameOf(id) })));
      hoSel.hidden = bHo.hidden = !co.length;
      hoNone.hidden = !!co.length;
      hoNone.textContent = h('stage.noCo');
      setLabel(bHo, h('stage.handover'));
      setLabel(bRelease, h('stage.end'));
    }
    mins.hidden = !role.mod;
    setLabel(bSum, h('sum.save'));
    sumHint.textContent = h('sum.hint');
  }

  return {
    el: sec, render,
    state: () => (last ? { files: last.files, summary: last.summary, markdown: last.markdown } : null),
  };
}
