// The heavy half of the hall's big screen, loaded on the first walk into the hall: the city
// model view (model/view.js, three.js and the tiles renderer), the model table's copy of it and
// the legend. screen.js keeps the DOM and the room; this keeps what draws.
import { mountCityModel } from '../model/view.js';
import { legendItems } from '../model/colours.js';
import { trIn } from '../model/ctx.js';
import { mountModelTable } from './view-table.js';
import { screenPointOf } from '../model/probe.js';

export function createScreenView(el, { lang = 'ja', kind = 'follow', table = null } = {}) {
  const view = mountCityModel(el, { lang, controls: kind });
  let tbl = table ? mountModelTable(table, view) : null;
  const label = (k, vars) => trIn(view.S.lang, k, vars);
  let legendKey = '';
  return {
    view,
    get table() { return tbl; },
    /** The world arrived after the view (a visitor resumed into the hall): put the copy on it. */
    attachTable(t) { if (!tbl && t) tbl = mountModelTable(t, view); },
    label,
    fmtTime(t) {
      const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60);
      return label('time_fmt', { h, m });
    },
    /** The colours' meaning, big and short, over the view's corner (redrawn only on change). */
    renderLegend(ul) {
      const S = view.S;
      const items = S.meta ? legendItems(S).slice(0, 8) : [];
      const key = JSON.stringify([items, S.lang]);
      if (key === legendKey) return;
      legendKey = key;
      ul.replaceChildren();
      ul.hidden = !items.length;
      for (const it of items) {
        const li = document.createElement('li');
        if (it.hex) { // a colour; without one, a line of what the run assumed (model, brigades)
          const sw = document.createElement('span');
          sw.className = 'hs-sw';
          sw.style.background = it.hex;
          li.append(sw);
        }
        li.append(document.createTextNode(it.label));
        ul.appendChild(li);
      }
    },
    /** For tests: where building ``fid``'s roof is on the page, and its gml id. */
    probe: {
      screenPointOf: (fid) => screenPointOf(view, fid),
      gmlIdOf: (fid) => view.S.attrs[fid]?.gml_id ?? null,
      get buildings() { return view.S.seen.size; },
    },
    destroy() { tbl?.destroy(); view.destroy(); },
  };
}
