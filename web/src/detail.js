// One service site in full: warnings from the field, hours, every unit's count with its age,
// eligibility, languages, phones, directions; and "Report wrong information" (report.js).
import { ApiError, NetworkError, api } from './api.js';
import { capacitiesOf, capacityBadge, reportWarning } from './capacity.js';
import { directionsUrl, haversineM, webDirectionsUrl } from './geo.js';
import { formatSpan, hoursAt, hoursLabel } from './hours.js';
import { categoryLabel, formatDateTime, formatDistance, lang, languageName, t } from './i18n.js';
import { agesText, primaryPhone, servesLine } from './nearest.js';
import { localSite } from './offline.js';
import { correctReport, discardReport, mayReport, openReport, reportsWaitingFor } from './report.js';
import { mayShare, openShare } from './share.js';
import { state, emit } from './state.js';
import { $, h, replace } from './ui.js';

let shown = null; // the site on the card

// A tapped map point carries its site key (the tile's feature id) and its position.
function pick(sites, ref) {
  if (ref.site_key == null) return null;
  return (sites || []).find((site) => site.site_key === ref.site_key) || null;
}

// Find the tapped site's full summary: on screen, in the saved area, else from the API.
export async function findSite(ref) {
  const shown = pick(state.results, ref);
  if (shown) return shown;
  const local = await localSite(ref.site_key);
  if (local) return { ...local, hours: hoursAt(local.week_intervals, local.timezone || 'America/Toronto', new Date(), local.open_ranges) };
  if (!state.online) return null;
  try {
    // The nearest services at the point itself hold the one tapped.
    const params = new URLSearchParams({ lat: ref.lat.toFixed(5), lon: ref.lon.toFixed(5), limit: '50', max_distance_m: '200' });
    const { results } = await api(`/v1/services/nearest?${params}`);
    return pick(results, ref);
  } catch (error) {
    if (error instanceof NetworkError || error instanceof ApiError) return null;
    throw error;
  }
}

function section(title, ...content) {
  const body = content.flat().filter(Boolean);
  if (!body.length) return null;
  return h('section', { class: 'detail-section' }, h('h3', { text: title }), ...body);
}

function addressLines(address) {
  if (!address) return [];
  return [address.address_1, address.address_2, [address.city, address.state_province, address.postal_code].filter(Boolean).join(', ')].filter(Boolean);
}

// An accessibility entry is text in a snapshot and an object in the API: show the words only.
function accessibilityText(entry) {
  if (typeof entry === 'string') return entry.trim();
  return [entry?.description, entry?.details].filter(Boolean).join(' · ') || entry?.url || '';
}

function directionsLinks(site) {
  if (site.confidential || site.lat == null) return null;
  const to = { lat: site.lat, lon: site.lon, name: site.name };
  const route = directionsUrl(state.origin, to);
  return [
    h('a', { class: 'btn btn-large', id: 'detail-directions', href: route.href, ...(route.app ? {} : { target: '_blank', rel: 'noopener' }), text: t('result.directions') }),
    route.app && h('a', { class: 'btn', href: webDirectionsUrl(state.origin, to), target: '_blank', rel: 'noopener', text: t('detail.webMap') }),
  ];
}

export function showSite(site, { focus = true } = {}) {
  const view = $('#detail');
  if (!site) {
    replace($('#detail-body'), h('p', { class: 'empty', text: t('detail.notFound') }));
    view.hidden = false;
    return;
  }
  const distance = site.distance_m ?? (state.origin && site.lat != null ? haversineM(state.origin.lat, state.origin.lon, site.lat, site.lon) : null);
  const phone = primaryPhone(site);
  const counts = capacitiesOf(site);
  const reports = site.open_reports || [];
  const groups = (site.category_groups || []).map((code) => state.categories.find((c) => c.code === code) || { code, label_en: code, label_fr: code });
  replace($('#detail-body'),
    h('h2', { id: 'detail-name', text: site.name }),
    h('p', { class: 'detail-org', text: [...new Set([site.organization_name, site.location_name].filter(Boolean))].join(' · ') }),
    h('p', { class: 'detail-tags' }, groups.map((g) => h('span', { class: 'tag', text: categoryLabel(g) }))),
    reports.length > 0 && h('ul', { id: 'detail-warnings', class: 'warnings', 'aria-label': t('report.warnings') },
      reports.map((report) => reportWarning(report, { tag: 'li' }))),
    h('p', { class: 'result-meta' },
      distance != null && h('span', { class: 'distance', text: formatDistance(distance) }),
      h('span', { class: `badge hours-${site.hours?.state || 'unknown'}`, text: hoursLabel(site.hours) }),
      counts.length > 0 && capacityBadge(counts[0], { only: counts.length === 1 }),
      site.access && site.access !== 'unknown' && h('span', { class: 'badge', text: t(`access.${site.access}`) }),
    ),
    servesLine(site) && h('p', { class: 'detail-serves' }, servesLine(site)),
    h('div', { class: 'detail-actions' },
      phone && h('a', { class: 'btn btn-call btn-large', href: phone.tel, text: `${t('result.call')} ${phone.number || ''}` }),
      directionsLinks(site),
      h('button', { class: 'btn btn-primary btn-large', type: 'button', onclick: () => emit('handoff-for', site), text: t('detail.handoff') }),
      // The list of services for the person: this one chosen, more from the list (share.js).
      mayShare() && h('button', {
        id: 'detail-share', class: 'btn btn-large', type: 'button', text: t('share.open'),
        onclick: (e) => openShare([site], { from: e.currentTarget }),
      }),
    ),
    // The door is closed, the number dead: said from here, where the worker finds it out.
    mayReport() && h('div', { class: 'detail-report' },
      h('div', { id: 'detail-reports' }),
      h('button', {
        id: 'detail-report', class: 'btn btn-large btn-report', type: 'button', text: t('report.open'),
        onclick: (e) => openReport(site, { from: e.currentTarget }),
      })),
    section(t('detail.hours'), h('p', { text: hoursLabel(site.hours) }), site.hours?.today?.length && !site.hours.always_open && h('p', { text: t('detail.today', { hours: site.hours.today.map(formatSpan).join(', ') }) })),
    counts.length > 0 && h('section', { class: 'detail-section', id: 'detail-capacity' },
      h('h3', { text: t('detail.capacity') }),
      h('ul', { class: 'capacities' }, counts.map((capacity) => h('li', {}, capacityBadge(capacity, { only: counts.length === 1 }))))),
    section(t('detail.eligibility'), site.eligibility?.description && h('p', { text: site.eligibility.description }), agesText(site.eligibility) && h('p', { text: agesText(site.eligibility) })),
    section(t('detail.languages'), (site.languages || []).length && h('p', { text: site.languages.map((l) => languageName(l.code, l.name || l.code)).join(', ') })),
    section(t('detail.accessibility'), (site.accessibility || []).length && h('ul', {}, site.accessibility.map((a) => h('li', { text: accessibilityText(a) })).filter((li) => li.textContent))),
    section(t('detail.address'), addressLines(site.address).map((line) => h('p', { text: line }))),
    section(t('detail.phones'), (site.phones || []).map((p) => h('p', {}, h('a', { class: 'phone-link', href: p.tel, text: p.number }), p.description ? ` · ${p.description}` : ''))),
    section(t('detail.web'), site.url && h('p', {}, h('a', { href: site.url, target: '_blank', rel: 'noopener', text: site.url }))),
    section(t('detail.email'), site.email && h('p', {}, h('a', { href: `mailto:${site.email}`, text: site.email }))),
    site.last_verified && h('p', { class: 'muted', text: t('detail.verified', { date: new Intl.DateTimeFormat(lang() === 'fr' ? 'fr-CA' : 'en-CA', { dateStyle: 'medium' }).format(new Date(`${site.last_verified}T12:00:00`)) }) }),
  );
  shown = site;
  view.dataset.serviceId = site.service_id;
  view.hidden = false;
  if (focus) $('#detail-back').focus();
  renderWaitingReports();
}

// This worker's reports about the service that have not reached the server yet, or that it
// refused (with Correct and Discard).
export async function renderWaitingReports() {
  const root = $('#detail-reports');
  if (!root || !shown || $('#detail').hidden) return;
  const serviceId = shown.service_id;
  const items = await reportsWaitingFor(serviceId);
  if (!shown || shown.service_id !== serviceId) return;
  replace(root, items.map((item) => {
    const kind = t(`report.kind.${item.body.kind}`);
    const refused = item.state === 'rejected';
    return h('div', { class: `report-waiting card state-${item.state}`, dataset: { key: item.key, state: item.state } },
      h('p', { text: refused ? t('report.refusedHere', { kind }) : state.authLost ? t('report.waitingSignIn', { kind }) : t('report.waiting', { kind }) }),
      h('p', { class: 'muted', text: formatDateTime(item.createdAt) }),
      refused && h('p', { class: 'error', text: item.error }),
      refused && h('div', { class: 'row' },
        h('button', { class: 'btn btn-primary', type: 'button', onclick: () => correctReport(item.key), text: t('report.correct') }),
        h('button', { class: 'btn', type: 'button', onclick: () => discardReport(item.key), text: t('report.discard') })));
  }));
}

// The card again (another language), where it was, without moving the focus.
export function rerenderSite() {
  if (!shown || $('#detail').hidden) return;
  const scroll = $('#detail').scrollTop;
  showSite(shown, { focus: false });
  $('#detail').scrollTop = scroll;
}

export function hideSite() {
  $('#detail').hidden = true;
  shown = null;
}
