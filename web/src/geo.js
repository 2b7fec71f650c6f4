// Distances on the phone, for the offline list (the server measures exact geodesic
// distances; the haversine on a 6371 km sphere is within 0.5% of them).
const EARTH_RADIUS_M = 6_371_008.8;
const rad = (deg) => (deg * Math.PI) / 180;

export function haversineM(lat1, lon1, lat2, lon2) {
  const dLat = rad(lat2 - lat1);
  const dLon = rad(lon2 - lon1);
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

export function inBbox(lon, lat, [minLon, minLat, maxLon, maxLat]) {
  return lon >= minLon && lon <= maxLon && lat >= minLat && lat <= maxLat;
}

// Where a route can be asked for: the website anyone's phone can open...
export function webDirectionsUrl(from, to) {
  const route = from ? `${from.lat},${from.lon};${to.lat},${to.lon}` : `;${to.lat},${to.lon}`;
  return `https://www.openstreetmap.org/directions?route=${encodeURIComponent(route)}`;
}

// ...and the phone's own maps app, which knows traffic and transit: a geo: URI (RFC 5870)
// on Android, Apple Maps on iOS, else the website. {href, app: true when it opens an app}.
export function directionsUrl(from, to, userAgent = navigator.userAgent) {
  const point = `${to.lat},${to.lon}`;
  if (/Android/i.test(userAgent)) {
    return { href: `geo:${point}?q=${point}(${encodeURIComponent(to.name || '')})`, app: true };
  }
  if (/iPhone|iPad|iPod/i.test(userAgent)) {
    const start = from ? `&saddr=${from.lat},${from.lon}` : '';
    return { href: `https://maps.apple.com/?daddr=${point}${start}&dirflg=d`, app: true };
  }
  return { href: webDirectionsUrl(from, to), app: false };
}
