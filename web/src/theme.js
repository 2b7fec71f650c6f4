// Display: a dark theme that follows the phone, and a high-contrast outdoor option.
// (Filled in by the theme work; main.js calls initTheme() once at start.)
export function initTheme() {}
