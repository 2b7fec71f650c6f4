"""The directory: finding services (nearest, search, one service), what a result shows (site
cards, hours, confidentiality), and keeping the derived rows in step with imports and live
changes."""
