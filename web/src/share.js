// "Share" (issue 20): the worker leaves the person a list of chosen services (up to ten) as a
// printed page, a QR code to scan, a text message, an email, or a text through the phone's
// own share sheet. POST /v1/shares.
//
// Choosing: a selection mode on the nearest list (a checkbox a row, the bar at the sheet's
// foot) or a service card's own Share (that service chosen; more can be added from the list).
//
// Delivering:
//   print, QR   need the server (its page, its QR image): POST at once with a fresh
//               Idempotency-Key per tap; disabled offline, with the way round said.
//   SMS, email  through the shares' outbox (outbox.js): exactly once, with or without a
//               signal, the same Idempotency-Key on every retry. The recipient lives in the
//               outbox item only (never in the form once sent, never logged) and leaves with
//               it when the server has it; a refusal (422: a number the server cannot text)
//               gives the form back whole with the server's messages by field.
//   Share…      a text version built on the phone (names, address or "confidential — call",
//               phone, today's hours, the 211 line) handed to navigator.share, or copied;
//               online, the share's link is added when the server answers in time.
// Only field workers, supervisors and navigators share (the server's policy); providers and
// admins never see the button.
import { ApiError, NetworkError, api } from './api.js';
import { claims } from './auth.js';
import { done, transaction } from './db.js';
import { formatSpan, hoursAt } from './hours.js';
import { lang, t } from './i18n.js';
import { createOutbox, mine, problemErrors } from './outbox.js';
import { emit, serverUsable, state } from './state.js';
import { $, h, replace, toast, uuid4 } from './ui.js';

export const MAX_SERVICES = 10; // the server's limit
const SHARERS = new Set(['field_worker', 'supervisor', 'navigator']);
const DELIVERIES = ['print', 'qr', 'sms', 'email', 'native'];
const NEEDS_SERVER = new Set(['print', 'qr']);
const QUEUED = new Set(['sms', 'email']);
const LINK_WAIT_MS = 3000; // Share… online: the link is added if the server answers this fast

const FIELD_OF = [
  [/^body\.recipient/, 'recipient'],
  [/^body\.services/, 'services'],
];

function fieldOf(path) {
  return (FIELD_OF.find(([pattern]) => pattern.test(path)) || [null, null])[1];
}

const outbox = createOutbox({
  store: 'shares',
  lock: 'fieldnav-shares',
  url: () => '/v1/shares',
  accepted: (item, created) => {
    const message = t(item.delivery === 'email' ? 'share.sentEmail' : 'share.sentSms');
    if (item.key === foreground) showOutcome({ kind: 'sent', delivery: item.delivery, message, created });
    else toast(message);
    emit('shares-changed');
  },
  fieldErrors: (problem, status) => problemErrors(problem, status, fieldOf, (code) => t('error.generic', { status: code })),
  // Refused after the dialog was closed (sent when the signal came back): say where to fix it.
  refused: (item) => { if (item.key !== foreground) toast(t('share.refusedLater'), 'error'); },
  changed: () => emit('shares-changed'),
});

let foreground = null; // the share just tapped, while the app sends it

export function flushShares() {
  return outbox.flush();
}

export function mayShare() {
  const role = state.me?.role || claims()?.role;
  return !role || SHARERS.has(role);
}

// --- which services ------------------------------------------------------------------------------

const siteId = (site) => `${site.service_id}:${site.location_id}`;

// The list's selection mode: the chosen sites by their key, in the order chosen.
let selecting = false;
const chosen = new Map();

export function isSelecting() {
  return selecting;
}

export function isChosen(site) {
  return chosen.has(siteId(site));
}

export function canChooseMore() {
  return chosen.size < MAX_SERVICES;
}

export function toggleChosen(site, on) {
  if (on && chosen.size < MAX_SERVICES) chosen.set(siteId(site), site);
  else if (!on) chosen.delete(siteId(site));
  renderShareBar();
  // The other rows' boxes: disabled at ten chosen, enabled again below.
  for (const box of document.querySelectorAll('#nearest-list .pick-box')) box.disabled = !box.checked && !canChooseMore();
}

// While choosing, the list has the whole sheet (the map steps aside), as its List button does.
let expandedBySelecting = false;

function expandList(on) {
  const sheet = $('#nearest');
  const expanded = sheet?.dataset.expanded === 'true';
  if (on && !expanded) {
    $('#sheet-toggle').click();
    expandedBySelecting = true;
  } else if (!on && expandedBySelecting) {
    if (expanded) $('#sheet-toggle').click();
    expandedBySelecting = false;
  }
}

export function startSelecting(preselected = []) {
  selecting = true;
  expandList(true);
  chosen.clear();
  for (const site of preselected.slice(0, MAX_SERVICES)) chosen.set(siteId(site), site);
  emit('share-selecting', true);
  renderShareBar();
  $('#nearest-list .pick-box')?.focus();
}

export function stopSelecting() {
  if (!selecting) return;
  selecting = false;
  chosen.clear();
  expandList(false);
  emit('share-selecting', false);
  renderShareBar();
  $('#share-select')?.focus();
}

// The bar at the sheet's foot while choosing: how many, Share, Cancel.
export function renderShareBar() {
  const bar = $('#share-bar');
  const button = $('#share-select');
  if (button) button.hidden = selecting || !mayShare();
  if (!bar) return;
  bar.hidden = !selecting;
  if (!selecting) {
    bar.replaceChildren();
    return;
  }
  replace(bar,
    h('p', { id: 'share-count', class: 'share-count', role: 'status', text: t('share.chosen', { n: chosen.size, max: MAX_SERVICES }) }),
    h('button', { id: 'share-cancel-select', class: 'btn', type: 'button', onclick: stopSelecting, text: t('share.cancel') }),
    h('button', {
      id: 'share-chosen', class: 'btn btn-primary', type: 'button', disabled: chosen.size === 0, text: t('share.next'),
      onclick: (e) => openShare([...chosen.values()], { from: e.currentTarget }),
    }),
  );
}

// --- the text version ------------------------------------------------------------------------------

function addressLine(address) {
  if (!address) return null;
  const line = [address.address_1, address.address_2, address.city].filter(Boolean).join(', ');
  return line || null;
}

// Today's hours in words, from the saved weekly intervals or dated ranges (hours.js) when the
// site has them (the offline snapshot's), else the server's `hours`.
function todayText(site, now) {
  const fromPhone = site.week_intervals != null || site.open_ranges != null;
  const hours = fromPhone ? hoursAt(site.week_intervals ?? null, site.timezone || 'America/Toronto', now, site.open_ranges ?? null) : site.hours;
  if (!hours || hours.state === 'unknown') return t('share.text.hoursUnknown');
  if (hours.always_open) return t('share.text.always');
  if (!hours.today?.length) return t('share.text.closedToday');
  return t('share.text.today', { hours: hours.today.map(formatSpan).join(', ') });
}

// The chosen services as a text a phone can send without a network: per service its name,
// its address (a confidential one's never: "confidential — call"), a phone number and today's
// hours, then the 211 line. In the app's language (the share's language).
export function shareText(sites, { now = new Date(), link = null } = {}) {
  const blocks = sites.map((site, i) => {
    const phone = (site.phones || []).find((p) => p.number) || null;
    const place = site.confidential ? t('share.text.confidential') : addressLine(site.address);
    return [
      `${i + 1}. ${site.name}`,
      place,
      phone && t('share.text.phone', { number: phone.number }),
      todayText(site, now),
    ].filter(Boolean).join('\n');
  });
  return [t('share.text.title'), ...blocks, link && t('share.text.link', { link }), t('share.text.line211')].filter(Boolean).join('\n\n');
}

// The saved area's copy of a site (the snapshot, with its weekly hours), else the site as shown.
async function snapshotOf(sites) {
  try {
    return await transaction(['sites'], 'readonly', async (s) => {
      const out = [];
      for (const site of sites) out.push((await done(s.sites.get(siteId(site)))) || site);
      return out;
    });
  } catch {
    return sites;
  }
}

// --- the dialog ------------------------------------------------------------------------------------

// {sites, delivery, recipient, consent, errors, outcome}; outcome: null (the form), or
// {kind: 'qr' | 'sent' | 'queued' | 'text' | 'opened', ...}
let form = null;
let opener = null;

function serviceRef(site) {
  return Number.isInteger(site.site_key) ? { site_key: site.site_key } : { service_id: site.service_id };
}

export function openShare(sites, { from = null, restore = null } = {}) {
  opener = from || document.activeElement;
  form = restore || { sites: sites.slice(0, MAX_SERVICES), delivery: null, recipient: '', consent: false, errors: {}, outcome: null };
  renderShare();
  $('#share').hidden = false;
  $('#share').scrollTop = 0;
  const first = firstError();
  (first ? $(`#share-error-${first}`) : $('#share-title'))?.focus();
}

// Done and Cancel end the choosing; Back (and Escape) return to the list with the services
// as chosen in the dialog, to add or take away.
export function closeShare({ back = false } = {}) {
  const view = $('#share');
  if (!view || view.hidden) return;
  view.hidden = true;
  const sites = form?.sites || [];
  form = null; // what was typed (a number, an address) goes with the dialog
  if (selecting && back) {
    chosen.clear();
    for (const site of sites) chosen.set(siteId(site), site);
    emit('share-selecting', true);
    renderShareBar();
    $('#share-chosen')?.focus();
  } else if (selecting) {
    stopSelecting();
  } else if (opener?.isConnected) {
    opener.focus();
  }
}

function firstError() {
  return form && ['services', 'delivery', 'recipient', 'consent', 'general'].find((name) => form.errors[name]);
}

function fieldError(name) {
  const message = form.errors[name];
  return message ? h('p', { class: 'error field-error', id: `share-error-${name}`, role: 'alert', tabindex: '-1', text: message }) : null;
}

function sendLabel(delivery) {
  return t(`share.send.${delivery || 'none'}`);
}

function deliveryChoice(delivery, offline) {
  const disabled = offline && NEEDS_SERVER.has(delivery);
  return h('label', { class: disabled ? 'choice share-how disabled' : 'choice share-how', dataset: { delivery } },
    h('input', {
      type: 'radio', name: 'share-delivery', value: delivery, checked: form.delivery === delivery, disabled,
      ...(disabled ? { 'aria-describedby': 'share-needs-signal' } : {}),
      onchange: () => { form.delivery = delivery; form.errors = {}; renderShare(); $(`#share-form input[value="${delivery}"]`)?.focus(); },
    }),
    h('span', {},
      h('span', { class: 'share-how-name', text: t(`share.how.${delivery}`) }),
      h('span', { class: 'muted share-how-help', text: t(`share.howHelp.${delivery}`) })));
}

function recipientFields() {
  if (!QUEUED.has(form.delivery)) return null;
  const sms = form.delivery === 'sms';
  const invalid = (name) => (form.errors[name] ? { 'aria-invalid': 'true' } : {});
  return h('div', { class: 'step share-recipient' },
    h('label', { class: 'field', for: 'share-recipient' }, h('span', { text: t(sms ? 'share.phone' : 'share.email') })),
    h('input', {
      id: 'share-recipient', name: sms ? 'share-phone' : 'share-email', type: sms ? 'tel' : 'email', autocomplete: 'off',
      inputmode: sms ? 'tel' : 'email', spellcheck: 'false', autocapitalize: 'off', value: form.recipient,
      'aria-describedby': `share-recipient-note${form.errors.recipient ? ' share-error-recipient' : ''}`, ...invalid('recipient'),
      oninput: (e) => { form.recipient = e.target.value; },
    }),
    h('p', { id: 'share-recipient-note', class: 'muted', text: t('share.recipientNote') }),
    fieldError('recipient'),
    h('label', { class: 'check' },
      h('input', {
        id: 'share-consent', type: 'checkbox', checked: form.consent, required: true, ...invalid('consent'),
        onchange: (e) => { form.consent = e.target.checked; if (form.consent) clearError('consent'); },
      }),
      h('span', { text: t('share.consent') })),
    fieldError('consent'));
}

function servicesList() {
  return h('fieldset', { class: 'step share-services', id: 'share-services', ...(form.errors.services ? { 'aria-describedby': 'share-error-services' } : {}) },
    h('legend', { text: t('share.services', { n: form.sites.length, max: MAX_SERVICES }) }),
    h('ul', { class: 'share-list' }, form.sites.map((site) => h('li', { dataset: { serviceId: site.service_id } },
      h('span', { class: 'share-name', text: site.name }),
      h('button', {
        class: 'btn share-remove', type: 'button', 'aria-label': t('share.removeName', { name: site.name }), text: '✕',
        onclick: () => { form.sites = form.sites.filter((s) => s !== site); renderShare(); $('#share-title')?.focus(); },
      })))),
    form.sites.length < MAX_SERVICES && h('button', {
      id: 'share-more', class: 'btn', type: 'button', text: t('share.more'),
      onclick: () => { const sites = form.sites; closeShare(); startSelecting(sites); },
    }),
    fieldError('services'));
}

export function renderShare() {
  if (!form) return;
  const root = $('#share-body');
  if (form.outcome) {
    replace(root, outcomeView(form.outcome));
    renderWaitingShares();
    return;
  }
  const offline = !serverUsable();
  replace(root,
    h('h2', { id: 'share-title', tabindex: '-1', text: t('share.title') }),
    h('p', { class: 'muted', text: t('share.intro', { language: t(`share.language.${lang()}`) }) }),
    h('form', { id: 'share-form', novalidate: true, onsubmit: submit },
      servicesList(),
      h('fieldset', { class: 'step share-deliveries', id: 'share-delivery', ...(form.errors.delivery ? { 'aria-describedby': 'share-error-delivery' } : {}) },
        h('legend', { text: t('share.how') }),
        offline && h('p', { id: 'share-needs-signal', class: 'share-offline-note', text: t('share.needsSignal') }),
        DELIVERIES.map((delivery) => deliveryChoice(delivery, offline)),
        fieldError('delivery')),
      recipientFields(),
      fieldError('general'),
      h('button', { id: 'share-send', class: 'btn btn-primary btn-large', type: 'submit', text: sendLabel(form.delivery) }),
      h('button', { id: 'share-cancel', class: 'btn btn-large', type: 'button', onclick: () => closeShare(), text: t('share.cancel') }),
    ),
    h('div', { id: 'share-waiting' }),
  );
  renderWaitingShares();
}

function outcomeView(outcome) {
  const done = h('button', { id: 'share-done', class: 'btn btn-primary btn-large', type: 'button', onclick: () => closeShare(), text: t('share.close') });
  if (outcome.kind === 'qr') {
    return h('div', { class: 'share-qr', id: 'share-qr' },
      h('h2', { id: 'share-title', tabindex: '-1', text: t('share.qrTitle') }),
      h('p', { text: t('share.qrHelp') }),
      h('div', { class: 'qr-frame' }, h('img', { id: 'share-qr-image', src: outcome.qrSrc, alt: t('share.qrAlt'), width: 280, height: 280 })),
      h('p', { class: 'share-link' }, h('a', { id: 'share-link', href: outcome.url, target: '_blank', rel: 'noopener', text: outcome.url })),
      h('p', { class: 'muted', text: t('share.expires', { date: outcome.expires }) }),
      done);
  }
  if (outcome.kind === 'text') {
    return h('div', { class: 'share-text', id: 'share-text-view' },
      h('h2', { id: 'share-title', tabindex: '-1', text: t('share.textTitle') }),
      h('p', { role: 'status', text: outcome.message }),
      h('label', { class: 'field', for: 'share-text' }, h('span', { text: t('share.textLabel') })),
      h('textarea', { id: 'share-text', rows: 12, readonly: true }, outcome.text),
      navigator.share && h('button', { class: 'btn btn-large', type: 'button', onclick: () => shareNative(outcome.text), text: t('share.send.native') }),
      done);
  }
  return h('div', { class: `share-outcome outcome-${outcome.kind}`, id: 'share-outcome', dataset: { kind: outcome.kind } },
    h('h2', { id: 'share-title', tabindex: '-1', text: t(`share.outcome.${outcome.kind}`) }),
    h('p', { id: 'share-outcome-text', role: 'status', text: outcome.message }),
    done,
    outcome.kind === 'queued' && h('div', { id: 'share-waiting' }));
}

function showOutcome(outcome) {
  if (!form) return;
  form = { ...form, recipient: '', outcome };
  renderShare();
  $('#share').scrollTop = 0;
  $('#share-title')?.focus();
}

function clearError(name) {
  if (!form?.errors[name]) return;
  delete form.errors[name];
  $(`#share-error-${name}`)?.remove();
}

function validate() {
  const errors = {};
  if (!form.sites.length) errors.services = t('share.errServices');
  if (!form.delivery) errors.delivery = t('share.errDelivery');
  if (QUEUED.has(form.delivery)) {
    if (!form.recipient.trim()) errors.recipient = t(form.delivery === 'sms' ? 'share.errPhone' : 'share.errEmail');
    if (!form.consent) errors.consent = t('share.errConsent');
  }
  if (NEEDS_SERVER.has(form.delivery) && !serverUsable()) errors.delivery = t('share.needsSignal');
  return errors;
}

function body(delivery, recipient = null) {
  const out = { services: form.sites.map(serviceRef), language: lang(), delivery };
  if (recipient) out.recipient = recipient;
  return out;
}

async function submit(event) {
  event.preventDefault();
  form.errors = validate();
  if (firstError()) {
    renderShare();
    $(`#share-error-${firstError()}`)?.focus();
    return;
  }
  if (form.delivery === 'native') await shareAsText();
  else if (QUEUED.has(form.delivery)) await queueMessage();
  else await createLink(form.delivery);
}

// The QR code's image from the app's own origin: the API (and its share pages) is served where
// the app is, and the app's Content-Security-Policy takes images from there only.
function sameOrigin(url) {
  try {
    const parsed = new URL(url, location.href);
    return parsed.pathname + parsed.search;
  } catch {
    return url;
  }
}

function expiresText(iso) {
  if (!iso) return '';
  return new Intl.DateTimeFormat(lang() === 'fr' ? 'fr-CA' : 'en-CA', { dateStyle: 'long' }).format(new Date(iso));
}

function showProblem(error) {
  if (error instanceof ApiError) {
    form.errors = problemErrors(error.problem, error.status, fieldOf, (code) => t('error.generic', { status: code }));
    if (error.status === 429) form.errors = { general: `${form.errors.general || ''} ${t('share.tooMany')}`.trim() };
  } else {
    form.errors = { general: t('share.noAnswer') };
  }
  renderShare();
  $(`#share-error-${firstError()}`)?.focus();
}

// Print and QR: the server's page and image, at once (a fresh key per tap).
async function createLink(delivery) {
  // The print page opens in a window opened now, while the tap still counts as one (a window
  // opened after the answer would be taken for a pop-up); it goes to the page when it comes.
  const printWindow = delivery === 'print' ? window.open('', '_blank') : null;
  const button = $('#share-send');
  if (button) button.disabled = true;
  try {
    const created = await api('/v1/shares', {
      method: 'POST', body: body(delivery === 'qr' ? 'link' : 'print'), headers: { 'Idempotency-Key': uuid4() },
    });
    if (delivery === 'print') {
      if (printWindow && !printWindow.closed) {
        printWindow.opener = null;
        printWindow.location.href = created.print_url;
      } else {
        window.open(created.print_url, '_blank', 'noopener');
      }
      showOutcome({ kind: 'opened', message: t('share.printOpened') });
    } else {
      showOutcome({ kind: 'qr', qrSrc: sameOrigin(created.qr_url), url: created.url, expires: expiresText(created.expires_at) });
    }
  } catch (error) {
    printWindow?.close();
    if (!(error instanceof ApiError || error instanceof NetworkError)) throw error;
    showProblem(error);
  } finally {
    if (button?.isConnected) button.disabled = false;
  }
}

// SMS and email: into the outbox with their key, made now; sent now when the server can be
// reached, else when the signal returns.
async function queueMessage() {
  const delivery = form.delivery;
  const item = {
    key: uuid4(), delivery, body: body(delivery, form.recipient.trim()), sites: form.sites.map((s) => ({ ...s })),
    subject: claims()?.sub ?? null,
  };
  await outbox.add(item);
  if (!serverUsable()) {
    showOutcome({ kind: 'queued', message: t(state.authLost ? 'share.queuedSignIn' : 'share.queued') });
    return;
  }
  foreground = item.key;
  try {
    await outbox.flush();
  } finally {
    foreground = null;
  }
  const after = await outbox.get(item.key);
  if (after?.state === 'rejected') await correctShare(after.key);
  else if (after) showOutcome({ kind: 'queued', message: t('share.queued') }); // no answer yet: it waits
}

// A refused share back in its form, with the server's messages by field.
export async function correctShare(key) {
  const item = await outbox.get(key);
  if (!item) return;
  await outbox.remove(key);
  const restore = {
    sites: item.sites || [], delivery: item.delivery, recipient: item.body.recipient || '', consent: true,
    errors: item.fieldErrors || { general: item.error }, outcome: null,
  };
  if ($('#share').hidden) openShare(restore.sites, { restore });
  else {
    form = restore;
    renderShare();
    $(`#share-error-${firstError()}`)?.focus();
  }
}

async function discardShare(key) {
  await outbox.remove(key);
}

// Share…: the text version to the phone's share sheet (or the clipboard); online, with the
// share's link when the server answers quickly.
async function shareAsText() {
  const sites = await snapshotOf(form.sites);
  let link = null;
  if (serverUsable()) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), LINK_WAIT_MS);
    try {
      const created = await api('/v1/shares', {
        method: 'POST', body: body('link'), headers: { 'Idempotency-Key': uuid4() }, signal: abort.signal,
      });
      link = created.url;
    } catch {
      link = null; // no link: the text alone says everything the person needs
    } finally {
      clearTimeout(timer);
    }
  }
  await shareNative(shareText(sites, { link }));
}

async function shareNative(text) {
  const title = t('share.text.title');
  if (navigator.share) {
    try {
      await navigator.share({ title, text });
      showOutcome({ kind: 'shared', message: t('share.sharedNative') });
      return;
    } catch (error) {
      if (error?.name === 'AbortError') return; // the worker closed the share sheet
    }
  }
  try {
    await navigator.clipboard.writeText(text);
    showOutcome({ kind: 'text', text, message: t('share.copied') });
  } catch {
    showOutcome({ kind: 'text', text, message: t('share.copyYourself') });
  }
}

// --- what waits ----------------------------------------------------------------------------------

function maskRecipient(recipient) {
  const value = String(recipient || '');
  return value.length > 4 ? `•••${value.slice(-4)}` : value;
}

// This worker's SMS and email shares that have not reached the server (waiting, or refused).
export async function renderWaitingShares() {
  const root = $('#share-waiting');
  if (!root) return;
  const items = (await outbox.all()).filter(mine).sort((a, b) => a.createdAt - b.createdAt);
  if (!$('#share-waiting')) return;
  if (!items.length) {
    root.replaceChildren();
    return;
  }
  replace(root,
    h('h3', { text: t('share.waitingTitle') }),
    items.map((item) => {
      const refused = item.state === 'rejected';
      const what = t(`share.waitingWhat.${item.delivery}`, { n: item.body.services.length, to: maskRecipient(item.body.recipient) });
      return h('div', { class: `share-waiting card state-${item.state}`, dataset: { key: item.key, state: item.state } },
        h('p', { text: what }),
        h('p', { class: refused ? 'error' : 'muted', text: refused ? item.error : t(state.authLost ? 'share.waitingSignIn' : 'share.waiting') }),
        refused && h('div', { class: 'row' },
          h('button', { class: 'btn btn-primary', type: 'button', onclick: () => correctShare(item.key), text: t('share.correct') }),
          h('button', { class: 'btn', type: 'button', onclick: () => discardShare(item.key), text: t('share.discard') })));
    }));
}

export function initShare() {
  $('#share-back').addEventListener('click', () => closeShare({ back: true }));
  $('#share').addEventListener('keydown', (event) => { if (event.key === 'Escape') closeShare({ back: true }); });
  $('#share-select').addEventListener('click', () => startSelecting());
  renderShareBar();
}
