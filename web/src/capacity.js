// Live data as a worker reads it: free capacity with the age of its count ("13 beds free ·
// 2 h ago"), greyed and never green once stale, and warnings from field reports ("Reported
// closed 3 h ago"). Used by the list, the card and the provider view.
//
// Stale: a count older than the server's `capacity_stale_after_s` (12 h by default) is not
// news any more. Online, results carry the server's own `stale`, computed when it answered;
// the phone's copies (the saved area, read offline) are judged again on the phone's clock
// (`withFreshness`) with the value the last sync page or pack snapshot gave
// (state.capacityStaleAfterS, kept in the phone's storage).
import { formatAge, t, unitLabel } from './i18n.js';
import { state } from './state.js';
import { h } from './ui.js';

export const DEFAULT_STALE_AFTER_S = 12 * 3600;

export const REPORT_KINDS = [
  'closed_permanently', 'closed_today', 'full', 'wrong_phone', 'wrong_address', 'wrong_hours', 'moved', 'other',
];

const WARNING_ICON = 'M12 2 1 21h22L12 2zm1 15h-2v2h2v-2zm0-7h-2v5h2v-5z';

export function staleAfterS() {
  const value = Number(state.capacityStaleAfterS);
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_STALE_AFTER_S;
}

// Stale on the phone's clock: no date, or older than the server's limit.
export function staleAt(asOf, now = Date.now()) {
  if (!asOf) return true;
  const time = new Date(asOf).getTime();
  return !Number.isFinite(time) || now - time > staleAfterS() * 1000;
}

// The server's word when it gave one, else the phone's.
export function isStale(capacity, now = Date.now()) {
  if (!capacity) return true;
  return typeof capacity.stale === 'boolean' ? capacity.stale : staleAt(capacity.as_of, now);
}

// A site from the phone's storage, its counts judged now (their `stale` was the server's at
// the time of the sync or the pack).
export function withFreshness(site, now = Date.now()) {
  const fresh = (capacity) => (capacity ? { ...capacity, stale: staleAt(capacity.as_of, now) } : capacity);
  return { ...site, capacity: fresh(site.capacity), capacities: (site.capacities || []).map(fresh) };
}

// Free now, as `has_capacity` counts it: the first unit's count, above 0 and not stale.
export function hasFreeCapacity(site, now = Date.now()) {
  return site.capacity?.available > 0 && !isStale(site.capacity, now);
}

// Every unit's count (`capacity` alone from an older server or snapshot).
export function capacitiesOf(site) {
  if (site?.capacities?.length) return site.capacities;
  return site?.capacity ? [site.capacity] : [];
}

// "13 beds free", "1 bed free", "Full" (the only unit) or "Full: meals".
export function capacityText(capacity, { only = true } = {}) {
  if (!capacity || capacity.available == null) return null;
  const n = Number(capacity.available);
  if (capacity.state === 'full' || n <= 0) return only ? t('capacity.full') : t('capacity.fullUnit', { unit: unitLabel(capacity.unit) });
  const one = n === 1;
  return t(one ? 'capacity.freeOne' : 'capacity.free', { n, unit: unitLabel(capacity.unit, one ? 1 : n) });
}

export function capacityAge(capacity, now = Date.now()) {
  return capacity?.as_of ? formatAge(capacity.as_of, now) : t('capacity.noDate');
}

// "11 beds free · 2 h ago": the count with its age, coloured only while it is fresh; a stale
// one is grey, dashed and says so to a screen reader (not by colour alone).
export function capacityBadge(capacity, { only = true, now = Date.now() } = {}) {
  const text = capacityText(capacity, { only });
  if (!text) return null;
  const stale = isStale(capacity, now);
  const kind = capacity.available > 0 && capacity.state !== 'full' ? 'free' : 'full';
  return h('span', { class: `badge capacity ${stale ? 'stale' : kind}`, dataset: { stale: String(stale), unit: capacity.unit || '' } },
    `${text} · ${capacityAge(capacity, now)}`,
    stale && h('span', { class: 'sr-only', text: ` (${t('capacity.staleHint')})` }));
}

// --- field reports ----------------------------------------------------------------------------

// "Reported closed 3 h ago" (· "2 reports"), for one kind of the site's open reports.
export function reportText(report, now = Date.now()) {
  const kind = REPORT_KINDS.includes(report.kind) ? report.kind : 'other';
  const text = t(`report.warn.${kind}`, { age: formatAge(report.reported_at, now) });
  return report.count > 1 ? `${text} · ${t('report.count', { n: report.count })}` : text;
}

function warningIcon() {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', 'warning-icon');
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', WARNING_ICON);
  svg.append(path);
  return svg;
}

// A warning of one kind, in a row (a span: it sits inside the row's button) or a card: an
// icon and words, "Warning:" for screen readers; not colour alone.
export function reportWarning(report, { tag = 'span', now = Date.now() } = {}) {
  return h(tag, { class: 'report-warning', dataset: { kind: report.kind } },
    warningIcon(),
    h('span', { class: 'sr-only', text: `${t('report.warning')} ` }),
    h('span', { class: 'report-warning-text', text: reportText(report, now) }));
}

// The row's one line: the newest kind reported (the server lists them newest first).
export function newestReport(site) {
  const reports = site?.open_reports || [];
  if (!reports.length) return null;
  const time = (report) => new Date(report.reported_at).getTime() || 0;
  return [...reports].sort((a, b) => time(b) - time(a))[0];
}
