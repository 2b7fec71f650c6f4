// The "Offline" tab: choose what to keep on the phone, save it, and see what it holds.
//
// By default the area is sized by its content: enough around the worker to hold at least
// AREA_MIN_PER_CATEGORY of each chosen category (a few blocks downtown, many kilometres in
// the country). The other choice is exactly the map view (a patrol area the worker frames).
// Once saved, the screen says what is inside, and warns when a category is thin.
import { ApiError, NetworkError } from './api.js';
import { PRIMARY } from './chips.js';
import { categoryLabel, formatBytes, formatDateTime, formatDistance, t } from './i18n.js';
import { viewArea } from './map.js';
import { AREA_MIN_PER_CATEGORY, areaContents, deleteArea, planContentArea, saveArea, syncServices } from './offline.js';
import { emit, serverUsable, state } from './state.js';
import { $, h, replace, toast } from './ui.js';

let choice = { kind: 'content', categories: new Set(PRIMARY) };

function label(code) {
  return categoryLabel(state.categories.find((c) => c.code === code) || { code, label_en: code, label_fr: code });
}

// The choice of what to keep, above the save button.
export function renderChoice() {
  const radio = (kind, text) => h('label', { class: 'choice' },
    h('input', { type: 'radio', name: 'area-kind', value: kind, checked: choice.kind === kind, onchange: () => { choice.kind = kind; renderChoice(); } }),
    h('span', { text }));
  const categories = [...PRIMARY.filter((code) => state.categories.some((c) => c.code === code))];
  replace($('#offline-choice'),
    h('fieldset', { class: 'step' },
      h('legend', { text: t('offline.what') }),
      radio('content', t('offline.kindContent', { n: AREA_MIN_PER_CATEGORY })),
      choice.kind === 'content' && h('div', { class: 'need-chips', role: 'group', 'aria-label': t('offline.categories') },
        categories.map((code) => h('button', {
          type: 'button', class: 'chip', dataset: { code }, 'aria-pressed': String(choice.categories.has(code)),
          onclick: () => { choice.categories.has(code) ? choice.categories.delete(code) : choice.categories.add(code); renderChoice(); },
          text: label(code),
        }))),
      radio('view', t('offline.kindView')),
    ));
}

function contentsList(contents, plan) {
  const wanted = plan?.kind === 'content' ? plan.categories : PRIMARY;
  const items = wanted.map((code) => {
    const n = contents.counts[code] || 0;
    const thin = n < AREA_MIN_PER_CATEGORY;
    return h('li', { class: thin ? 'thin' : '', dataset: { code, count: String(n), thin: String(thin) } },
      h('strong', { text: String(n) }), ` ${label(code)}`,
      thin && h('span', { class: 'warning', text: ` · ${n === 0 ? t('offline.noneOf') : t('offline.thin')}` }));
  });
  const thinOnes = wanted.filter((code) => (contents.counts[code] || 0) < AREA_MIN_PER_CATEGORY);
  return [
    h('ul', { id: 'offline-contents', class: 'contents' }, items),
    thinOnes.length > 0 && h('p', { class: 'warning', role: 'note', id: 'offline-thin', text: t('offline.thinWarning', { categories: thinOnes.map(label).join(', ') }) }),
  ];
}

export async function renderOffline() {
  renderChoice();
  const area = $('#offline-area');
  const pack = state.pack;
  if (!pack) {
    replace(area, h('p', { class: 'muted', text: t('offline.none') }));
    return;
  }
  const m = pack.manifest;
  const contents = await areaContents();
  const size = pack.archive.size + (pack.basemap?.size || 0) + m.services.bytes;
  replace(area,
    h('h3', { text: t('offline.saved') }),
    h('p', { id: 'offline-summary', dataset: { packId: pack.id, sites: String(contents.total) }, text: t('offline.summary', { count: contents.total, size: formatBytes(size) }) }),
    pack.plan?.kind === 'content' && h('p', { class: 'muted', text: t('offline.reach', { d: formatDistance(pack.plan.radiusM) }) }),
    ...contentsList(contents, pack.plan),
    h('p', { class: 'muted', text: [t('offline.savedAt', { time: formatDateTime(pack.savedAt) }), pack.basemap ? t('offline.withBasemap') : null].filter(Boolean).join(' · ') }),
    pack.syncedAt && h('p', { class: 'muted', text: t('offline.synced', { time: formatDateTime(pack.syncedAt) }) }),
    h('div', { class: 'row' },
      h('button', { class: 'btn', type: 'button', onclick: () => emit('show-area', m.bbox), text: t('offline.showArea') }),
      h('button', { class: 'btn', type: 'button', disabled: !serverUsable(), onclick: () => syncServices().then(renderOffline).catch((e) => toast(e.message, 'error')), text: t('offline.sync') }),
      h('button', { class: 'btn btn-danger', type: 'button', onclick: () => deleteArea().then(renderOffline), text: t('offline.delete') })),
  );
}

async function chosenArea(progress) {
  if (choice.kind === 'view' || !state.origin) return { ...viewArea(), plan: { kind: 'view' } };
  progress.textContent = t('offline.saving', { step: t('offline.step.plan') });
  const categories = [...choice.categories];
  const plan = await planContentArea(state.origin, categories);
  return { bbox: plan.bbox, zoom: plan.zoom, plan: { kind: 'content', categories, radiusM: plan.radiusM } };
}

export async function onSave() {
  if (!serverUsable()) {
    toast(state.authLost ? t('offline.needSignIn') : t('offline.needNetwork'), 'error');
    return;
  }
  const button = $('#offline-save');
  const progress = $('#offline-progress');
  button.disabled = true;
  progress.dataset.state = 'saving';
  try {
    const area = await chosenArea(progress);
    await saveArea(area, (step) => { progress.textContent = t('offline.saving', { step: t(`offline.step.${step}`) }); });
    progress.textContent = t('offline.saved');
    progress.dataset.state = 'saved';
  } catch (error) {
    const tooLarge = error instanceof ApiError && error.problem?.type?.endsWith('/pack-too-large');
    progress.textContent = tooLarge ? t('offline.tooLarge') : t('offline.failed', { detail: error instanceof NetworkError ? t('error.network') : error.message });
    progress.dataset.state = 'failed';
  } finally {
    button.disabled = false;
    renderOffline();
  }
}
