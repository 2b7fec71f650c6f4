// "Open now" on the phone, from a site's weekly hours (week_intervals: [start, end) minutes
// since Monday 00:00 local time in the site's time zone), as service/directory/hours.py computes it
// on the server. Used offline; online results carry the server's `hours`.
import { formatClock, formatHmText, t } from './i18n.js';

const DAY_MIN = 24 * 60;
const WEEK_MIN = 7 * DAY_MIN;
const WEEKDAYS = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

function weekMinute(now, timeZone) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: 'numeric', minute: 'numeric', hourCycle: 'h23' })
      .formatToParts(now)
      .map((p) => [p.type, p.value]),
  );
  return WEEKDAYS[parts.weekday] * DAY_MIN + (Number(parts.hour) % 24) * 60 + Number(parts.minute);
}

function runs(intervals) {
  let list = [...intervals].map(([s, e]) => [s, e]).sort((a, b) => a[0] - b[0]);
  // An opening through Sunday 24:00 into Monday is one run.
  if (list.length > 1 && list[0][0] === 0 && list[list.length - 1][1] === WEEK_MIN) {
    list = [...list.slice(1, -1), [list[list.length - 1][0], WEEK_MIN + list[0][1]]];
  }
  const out = [];
  for (const shift of [-WEEK_MIN, 0, WEEK_MIN]) for (const [s, e] of list) out.push([s + shift, e + shift]);
  return out.sort((a, b) => a[0] - b[0]);
}

function todayHours(allRuns, dayStart) {
  const dayEnd = dayStart + DAY_MIN;
  const clock = (m) => {
    const minutes = ((m % DAY_MIN) + DAY_MIN) % DAY_MIN;
    return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
  };
  return allRuns
    .filter(([s]) => s >= dayStart && s < dayEnd)
    .map(([s, e]) => `${clock(s)}–${e - s >= DAY_MIN && s === dayStart ? '24:00' : clock(e)}`);
}

// Same shape as the server's `hours` (state, always_open, opens_at, closes_at, today, timezone).
export function hoursAt(weekIntervals, timeZone, now = new Date()) {
  const base = { timezone: timeZone, opens_at: null, closes_at: null, always_open: false, today: [] };
  if (weekIntervals == null) return { ...base, state: 'unknown' };
  if (weekIntervals.length === 1 && weekIntervals[0][0] === 0 && weekIntervals[0][1] >= WEEK_MIN) {
    return { ...base, state: 'open', always_open: true, today: ['00:00–24:00'] };
  }
  const nowMin = weekMinute(now, timeZone);
  const all = runs(weekIntervals);
  const today = todayHours(all, Math.floor(nowMin / DAY_MIN) * DAY_MIN);
  const at = (minute) => new Date(now.getTime() + (minute - nowMin) * 60_000).toISOString();
  const current = all.find(([s, e]) => s <= nowMin && nowMin < e);
  if (current) return { ...base, state: 'open', closes_at: at(current[1]), today };
  const next = all.find(([s]) => s > nowMin);
  return { ...base, state: 'closed', opens_at: next ? at(next[0]) : null, today };
}

// "Open · closes 22:00", in the app's language, from the server's or the phone's `hours`.
export function hoursLabel(hours, now = new Date()) {
  if (!hours || hours.state === 'unknown') return t('hours.unknown');
  if (hours.always_open) return t('hours.always');
  if (hours.state === 'open') {
    return hours.closes_at ? `${t('hours.open')} · ${t('hours.closes', { time: formatClock(hours.closes_at, hours.timezone, now) })}` : t('hours.open');
  }
  return hours.opens_at ? `${t('hours.closed')} · ${t('hours.opens', { time: formatClock(hours.opens_at, hours.timezone, now) })}` : t('hours.closed');
}

// Today's opening "19:00–07:00" (the API's and hoursAt's form) in the app's time format;
// a whole day is "all day".
export function formatSpan(span) {
  const [from, to] = String(span).split('–');
  if (to === undefined) return span;
  if (from === '00:00' && (to === '24:00' || to === '00:00')) return t('hours.allDay');
  return `${formatHmText(from)}–${formatHmText(to)}`;
}
