// "Open now" on the phone, from a site's weekly hours (week_intervals: [start, end) minutes
// since Monday 00:00 local time in the site's time zone) or its dated open ranges
// (open_ranges), as service/directory/hours.py computes it on the server. Used offline;
// online results carry the server's `hours`.
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

// Local wall clock of a UTC epoch minute: the date ("2026-12-05") and the minute of the day.
function wallOf(epochMin, timeZone) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: 'numeric', minute: 'numeric', hourCycle: 'h23' })
      .formatToParts(new Date(epochMin * 60_000))
      .map((p) => [p.type, p.value]),
  );
  return { day: `${parts.year}-${parts.month}-${parts.day}`, minute: (Number(parts.hour) % 24) * 60 + Number(parts.minute) };
}

// The epoch minute of the local midnight that starts the day holding `epochMin` (a day may
// have 23 or 25 hours: the offset is read again at the first guess).
function localMidnight(epochMin, timeZone) {
  const wall = wallOf(epochMin, timeZone);
  const guess = epochMin - wall.minute;
  const there = wallOf(guess, timeZone);
  if (there.minute === 0) return guess;
  return there.day === wall.day ? guess - there.minute : guess + (DAY_MIN - there.minute);
}

// Dated openings (open_ranges: {from_min, until_min, ranges: [[start, end)]} in UTC epoch
// minutes), for a site whose schedules are not plain weekly ones ("the first and third
// Wednesday"): as service/directory/hours.py _range_status reads them; unknown past the horizon.
function rangesAt(openRanges, timeZone, now, base) {
  const nowMin = Math.floor(now.getTime() / 60_000);
  if (nowMin < openRanges.from_min || nowMin >= openRanges.until_min) return { ...base, state: 'unknown' };
  const ranges = openRanges.ranges;
  const iso = (minute) => new Date(minute * 60_000).toISOString();
  const clock = (minute) => {
    const m = wallOf(minute, timeZone).minute;
    return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  };
  const dayStart = localMidnight(nowMin, timeZone);
  const dayEnd = localMidnight(dayStart + DAY_MIN + 120, timeZone);
  const today = [];
  for (const [s, e] of ranges) {
    if (e <= dayStart || s >= dayEnd) continue;
    // The tail of yesterday's overnight opening was shown yesterday; runs of a day or more show every day.
    if (s < dayStart && e - Math.max(s, dayStart - DAY_MIN) < DAY_MIN) continue;
    const shownStart = Math.max(s, dayStart);
    const end = e === dayEnd || (e > dayEnd && e - shownStart >= DAY_MIN) ? '24:00' : clock(e);
    today.push(`${clock(shownStart)}–${end}`);
  }
  const current = ranges.find(([s, e]) => s <= nowMin && nowMin < e);
  if (current) return { ...base, state: 'open', closes_at: iso(current[1]), today };
  const next = ranges.find(([s]) => s > nowMin);
  return { ...base, state: 'closed', opens_at: next && next[0] < openRanges.until_min ? iso(next[0]) : null, today };
}

// Same shape as the server's `hours` (state, always_open, opens_at, closes_at, today, timezone).
// A site has weekly intervals or dated open ranges (or neither: hours unknown).
export function hoursAt(weekIntervals, timeZone, now = new Date(), openRanges = null) {
  const base = { timezone: timeZone, opens_at: null, closes_at: null, always_open: false, today: [] };
  if (weekIntervals == null && openRanges != null) return rangesAt(openRanges, timeZone, now, base);
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
