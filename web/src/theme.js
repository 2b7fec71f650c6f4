// Display: a dark theme that follows the phone, and a high-contrast outdoor option.
//
// Two choices, kept on the phone (localStorage):
//   'system'  (default) light or dark as the phone is set (prefers-color-scheme), followed live;
//   'outdoor' light, high contrast: near-black on white, thicker borders, text at 7:1 or more
//             (WCAG AAA). Outdoor is light even when the phone is dark: in sunlight or under
//             street lights a dark screen mirrors the surroundings and a white one stays
//             readable, and a worker who picks "outdoor" wants the most legible screen, not
//             the phone's night mode. (Night use stays on 'system', which follows the phone.)
//
// The document carries the result: <html data-theme="light|dark" data-contrast="high|">,
// which theme.css styles; <meta name="theme-color"> follows the top bar. The map asks
// currentTheme() and hears onThemeChange() to redraw in matching colours.
import { onLanguageChange, t } from './i18n.js';

const STORAGE_KEY = 'fieldnav.display';
export const DISPLAY_CHOICES = ['system', 'outdoor'];
// The top bar's colour in each theme (theme.css): the phone's status bar matches it.
const BAR_COLOURS = { light: '#0b5e7e', dark: '#12313e', outdoor: '#004760' };

const darkQuery = typeof window.matchMedia === 'function' ? window.matchMedia('(prefers-color-scheme: dark)') : null;
const listeners = [];
let choice = storedChoice();
let applied = null; // {scheme, contrast} last applied

function storedChoice() {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return DISPLAY_CHOICES.includes(value) ? value : 'system';
  } catch {
    return 'system';
  }
}

// What is shown: {scheme: 'light' | 'dark', contrast: 'high' | '', choice}.
export function currentTheme() {
  const scheme = choice === 'outdoor' ? 'light' : darkQuery?.matches ? 'dark' : 'light';
  return { scheme, contrast: choice === 'outdoor' ? 'high' : '', choice };
}

export function displayChoice() {
  return choice;
}

// fn({scheme, contrast, choice}) after every change of what is shown.
export function onThemeChange(fn) {
  listeners.push(fn);
  return () => {
    const i = listeners.indexOf(fn);
    if (i >= 0) listeners.splice(i, 1);
  };
}

function apply() {
  const theme = currentTheme();
  const root = document.documentElement;
  root.dataset.theme = theme.scheme;
  root.dataset.contrast = theme.contrast;
  const meta = document.querySelector('meta[name="theme-color"]');
  if (meta) meta.setAttribute('content', theme.contrast ? BAR_COLOURS.outdoor : BAR_COLOURS[theme.scheme]);
  const changed = !applied || applied.scheme !== theme.scheme || applied.contrast !== theme.contrast;
  applied = theme;
  if (!changed) return;
  for (const fn of [...listeners]) {
    try {
      fn(theme);
    } catch (error) {
      console.error('theme listener failed', error);
    }
  }
}

export function setDisplay(value) {
  if (!DISPLAY_CHOICES.includes(value)) return;
  choice = value;
  try {
    localStorage.setItem(STORAGE_KEY, value);
  } catch {
    // private mode or full storage: the choice holds until the app closes
  }
  apply();
  syncSetting();
}

// The Account view's setting: a fieldset of two radios.
function renderSetting() {
  const root = document.getElementById('display-setting');
  if (!root) return;
  const fieldset = document.createElement('fieldset');
  fieldset.className = 'display-setting';
  const legend = document.createElement('legend');
  legend.textContent = t('display.title');
  fieldset.append(legend);
  for (const value of DISPLAY_CHOICES) {
    const label = document.createElement('label');
    label.className = 'display-option';
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = 'display';
    input.value = value;
    input.id = `display-${value}`;
    input.checked = choice === value;
    input.addEventListener('change', () => { if (input.checked) setDisplay(value); });
    const text = document.createElement('span');
    text.textContent = t(`display.${value}`);
    label.append(input, text);
    fieldset.append(label);
  }
  root.replaceChildren(fieldset);
}

function syncSetting() {
  for (const input of document.querySelectorAll('#display-setting input[name="display"]')) input.checked = input.value === choice;
}

let started = false;

export function initTheme() {
  apply();
  renderSetting();
  if (started) return;
  started = true;
  const follow = () => apply();
  if (darkQuery?.addEventListener) darkQuery.addEventListener('change', follow);
  else darkQuery?.addListener?.(follow);
  // Another tab (or window) of the app changed the setting.
  window.addEventListener('storage', (event) => {
    if (event.key !== STORAGE_KEY) return;
    choice = storedChoice();
    apply();
    syncSetting();
  });
  onLanguageChange(renderSetting);
}
